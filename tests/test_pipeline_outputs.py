"""What one `dvc repro` of the tiny grid leaves: every output, timings, plots, file modes.

Each test gets its own copy of the session's finished run (``repo``, see ``pipeline_repo``).
"""

import json
import os
import stat
from pathlib import Path

import pytest
from pipeline_repo import file_digests, sh

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


def test_repro_runs_every_stage_and_produces_every_output(tiny_run, repo):
    assert {"fetch_data", "fetch_pretrained", "prune", "aggregate"} <= tiny_run.ran
    for method_dir in ("strategy", "baselines/random"):
        for cell in ("c2-s0", "c4-s0"):
            assert (repo / "models" / method_dir / "masks" / cell / "masks.safetensors").is_file()
            assert (repo / "models" / method_dir / "masks" / cell / "layers.csv").is_file()
            finetuned = repo / "models" / method_dir / "finetuned" / cell
            assert (finetuned / "model.safetensors").is_file()
            assert list((finetuned / "live").rglob("*.tsv")), "dvclive curves"
            metrics = json.loads(
                (repo / "results/cells" / method_dir / cell / "metrics.json").read_text()
            )
            assert abs(metrics["compression"] - int(cell[1])) < 1e-3
    control = json.loads((repo / "results/control.json").read_text())
    assert control["pretrained"]["kind"] == "published"
    published = json.loads(
        (repo / "src/prunebench/benchmarks/weights/fashion_mnist_sample_lenet5.json").read_text()
    )
    assert control["inputs"]["pretrained_sha256"] == published["sha256"]
    assert control["inputs"]["data_sha256"] == published["data_sha256"]
    assert control["provenance"]["cpu_numerics"]["mode"] == "pinned"
    details = json.loads((repo / "results/details.json").read_text())
    assert set(details["strategy"]) == {"c2", "c4"}
    assert set(details["baselines"]) == {"random"}
    headline = json.loads((repo / "results/summary.json").read_text())
    assert set(headline["top1"]) == {"c2", "c4"} and set(headline["vs"]) == {"random", "control"}
    speed = json.loads((repo / "results/speed.json").read_text())["speedup"]
    assert set(speed) == {"measured", "batch", "theoretical", "target"}
    for name in ("cells.csv", "aggregate.csv", "report.md", "figures/top1_vs_compression.png"):
        assert (repo / "results" / name).is_file()
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_no_stage_writes_outside_its_declared_outputs(tiny_run):
    declared = ("results/", "resolved/", "dvc.lock")
    unexpected = [
        path
        for path in tiny_run.written
        if not path.startswith(declared) and Path(path).name != ".gitignore"
    ]
    assert unexpected == []


def test_timings_stay_apart_and_a_rerun_on_the_same_machine_keeps_them(repo):
    timings = repo / "results/latency"
    before = file_digests(timings)
    record = json.loads((timings / "strategy/c4-s0/latency.json").read_text())
    assert record["hardware"]["cpu"] and record["hardware"]["torch"]
    assert set(record["batches"]) == {"1", "16"}
    for batch in record["batches"].values():
        assert batch["measured_speedup"] > 0 and batch["dense"]["repeats"] >= 30
        assert batch["best_execution"] in batch["executions"]
    metrics = (repo / "results/cells/strategy/c4-s0/metrics.json").read_text()
    assert "measured_speedup" not in metrics  # timings never enter the deterministic results
    report = (repo / "results/report.md").read_text()
    assert "## Measured speed" in report and record["hardware"]["cpu"] in report
    assert (repo / "results/figures/measured_vs_theoretical_speedup.png").is_file()
    sh(repo, "dvc", "repro", "--force", "latency")
    assert file_digests(timings) == before
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_plots_render_with_the_committed_templates(repo, tmp_path):
    shown = sh(repo, "dvc", "plots", "show", "--json", "-o", str(tmp_path / "plots")).stdout
    shown = json.loads(shown)
    assert "errors" not in shown
    vega = {
        name: items[0]["content"]
        for name, items in shown["data"].items()
        if items[0]["type"] == "vega"
    }
    assert len(vega) == 3
    for name, content in vega.items():
        assert content["data"]["values"], name
        assert "<DVC_METRIC" not in json.dumps(content), f"{name}: an anchor was not filled"
    accuracy = [content for name, content in vega.items() if "all methods" in name]
    for content in accuracy:
        scale = content["layer"][0]["encoding"]["x"]["scale"]
        assert (scale["type"], scale["base"]) == ("log", 2)
        methods = {row["method"] for row in content["data"]["values"]}
        assert methods == {"global_mag", "random"}
        assert {row["control_top1"] for row in content["data"]["values"]} != {""}


def test_written_files_have_the_umask_mode(tiny_run):
    expected = 0o666 & ~current_umask()
    for name in (
        "results/cells.csv",
        "results/report.md",
        "results/summary.json",
        "results/cells/strategy/c2-s0/metrics.json",
        "resolved/prune.json",
        "models/strategy/masks/c2-s0/masks.safetensors",
        "data/splits/train.safetensors",
    ):
        assert stat.S_IMODE((tiny_run.repo / name).stat().st_mode) == expected, name


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
