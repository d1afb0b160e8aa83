"""The DVC pipeline, driven by real `dvc` on a tiny grid in a temporary copy of the repository.

Grid: strategy global_mag plus baseline random (no matched controls: see test_verdicts_pipeline),
compressions 2 and 4, one seed, the published initial model, one epoch of finetuning. Each test
builds on the state the previous one left (module scope), so the file reads as one session of a
user: run, change finetuning, change a recipe or the reporting code, damage a cell, give bad
input, change evaluation, add a compression, run an experiment, share through a remote, get
killed and re-run.
"""

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from params_edit import edit_params

from prunebench.pipeline.cells import MANIFEST_FILE

pytestmark = pytest.mark.slow  # each test drives real dvc; together several minutes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TINY = {
    "strategy": "global_mag",
    "baselines": ["random"],
    "matched_controls": [],  # tests/test_verdicts_pipeline.py runs them
    "compressions": [2, 4],
    "seeds": [0],
}
# Timing every cell at the evaluation batch (1000 images) would dominate the tests' run time.
QUICK_LATENCY = {"latency__batch_sizes": [1, 16], "latency__warmup": 1}
# Everything a stage may write; what a refused run must leave byte-identical.
OUTPUTS = ("data", "models", "results", "resolved", "dvc.lock")
# The leaderboard's own pipeline (leaderboard/dvc.yaml) stays out of the copy: a plain `dvc
# status` would list its stages, which these tests never run.
OTHER_PIPELINES = ("leaderboard/",)
PER_METHOD = ("prune", "finetune", "evaluate")


def environment(repo: Path, **variables: str) -> dict[str, str]:
    env = dict(os.environ, **variables)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(repo / "src")  # the copy's code, not the checkout's
    env["PRUNEBENCH_DEVICE"] = "cpu"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("DVC_EXP_NAME", None)
    return env


def sh(
    repo: Path, *command: str, check: bool = True, **variables: str
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=repo, env=environment(repo, **variables), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def ran(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran."""
    return {
        line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")
    }


def make_copy(destination: Path, grid: dict | None = None) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        source = ROOT / name
        if source.is_file() and not name.startswith(OUTPUTS + OTHER_PIPELINES):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    edit_params(destination, **QUICK_LATENCY, **(TINY if grid is None else grid))
    sh(destination, "git", "init", "-q")
    sh(destination, "git", "config", "user.email", "test@example.com")
    sh(destination, "git", "config", "user.name", "test")
    sh(destination, "git", "add", "-A")
    sh(destination, "git", "commit", "-qm", "tiny grid")
    return destination


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


def cell_files(repo: Path) -> dict[str, float]:
    """Modification time of every finished cell's manifest, by path."""
    return {
        str(path.relative_to(repo)): path.stat().st_mtime_ns
        for root in ("models", "results/cells")
        for path in (repo / root).rglob(MANIFEST_FILE)
    }


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = make_copy(tmp_path_factory.mktemp("pipeline") / "repo")
    result = sh(repo, "dvc", "repro")
    assert {"fetch_data", "fetch_pretrained", "prune", "aggregate"} <= ran(result.stdout)
    status = sh(repo, "git", "status", "--porcelain", "--untracked-files=all").stdout
    repo.joinpath(".written").write_text(status)
    commit(repo, "tiny run")
    return repo


def test_repro_produces_every_output(repo):
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
    summary = json.loads((repo / "results/summary.json").read_text())
    assert set(summary["strategy"]) == {"c2", "c4"}
    assert set(summary["baselines"]) == {"random"}
    for name in ("cells.csv", "aggregate.csv", "report.md", "figures/top1_vs_compression.png"):
        assert (repo / "results" / name).is_file()
    assert "up to date" in sh(repo, "dvc", "status").stdout


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
    shown = sh(repo, "dvc", "plots", "show", "--json", "-o", str(tmp_path)).stdout
    shown = json.loads(shown)
    assert "errors" not in shown
    vega = {name: items[0]["content"] for name, items in shown["data"].items()
            if items[0]["type"] == "vega"}  # fmt: skip
    assert len(vega) == 3
    for name, content in vega.items():
        assert content["data"]["values"], name
        assert "<DVC_METRIC" not in json.dumps(content), f"{name}: an anchor was not filled"
    accuracy = [content for name, content in vega.items() if "all methods" in name]
    for content in accuracy:
        assert content["layer"][0]["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
        methods = {row["method"] for row in content["data"]["values"]}
        assert methods == {"global_mag", "random"}
        assert {row["control_top1"] for row in content["data"]["values"]} != {""}


def test_no_stage_writes_outside_its_declared_outputs(repo):
    written = [line[3:] for line in repo.joinpath(".written").read_text().splitlines()]
    declared = ("results/", "resolved/", "dvc.lock")
    unexpected = [
        path
        for path in written
        if not path.startswith(declared) and Path(path).name != ".gitignore"
    ]
    assert unexpected == []


def test_changing_finetune_reruns_finetune_but_not_prune(repo):
    before = cell_files(repo)
    edit_params(repo, finetune__learning_rate=0.0002)
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert {"finetune", "finetune_baseline@random", "evaluate", "aggregate"} <= stages
    assert not {"fetch_data", "fetch_pretrained", "prune", "prune_baseline@random"} & stages
    after = cell_files(repo)
    masks = [path for path in before if "/masks/" in path]
    assert all(before[path] == after[path] for path in masks)
    metrics = json.loads((repo / "results/cells/strategy/c2-s0/metrics.json").read_text())
    produced_from = metrics["provenance"]["params"]
    assert produced_from["finetune"]["learning_rate"] == 0.0002
    assert produced_from["prune"]["score_batches"] == 1
    assert produced_from["benchmark"] == "fashion_mnist_sample_lenet5"
    assert metrics["provenance"]["cpu_capability"]
    commit(repo, "finetune lr")


def snapshot(repo: Path) -> dict[str, str]:
    """sha256 of every file under the outputs (and which files exist), by path."""
    files = {}
    for name in OUTPUTS:
        root = repo / name
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            files[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def test_a_recipe_changed_in_code_reruns_training_of_every_method(repo):
    benchmarks = repo / "src/prunebench/benchmarks/registry.py"
    text = benchmarks.read_text()
    old = "steps_per_epoch=80,"
    assert old in text
    benchmarks.write_text(text.replace(old, old + " weight_decay=0.01,"))
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert stages == {
        "resolve", "finetune", "finetune_baseline@random", "evaluate",
        "evaluate_baseline@random", "latency", "aggregate",
    }  # fmt: skip
    for method in ("strategy", "baselines/random"):
        metrics = json.loads((repo / f"results/cells/{method}/c2-s0/metrics.json").read_text())
        assert metrics["inputs"]["recipe"]["weight_decay"] == 0.01
    commit(repo, "weight decay in the benchmark's recipe")


def test_a_reporting_change_reruns_only_aggregate(repo):
    report = repo / "src/prunebench/reporting/report/render.py"
    report.write_text(report.read_text() + "\n# a reporting-only edit\n")
    assert ran(sh(repo, "dvc", "repro").stdout) == {"aggregate"}
    commit(repo, "reporting edit")


def test_aggregate_refuses_cells_produced_on_different_footing(repo):
    lr = json.loads((repo / "resolved/finetune.json").read_text())["recipe"]["learning_rate"]
    edit_params(repo, finetune__learning_rate=lr / 2)
    sh(repo, "dvc", "repro", "resolve")
    sh(repo, "dvc", "repro", "--single-item", "finetune", "evaluate")  # the method only
    result = sh(repo, "dvc", "repro", "--single-item", "aggregate", check=False)
    assert result.returncode != 0
    assert "error: refusing to compare global_mag at compression 2, seed 0 and random" in (
        result.stderr
    )
    assert "different finetuning recipe (learning_rate" in result.stderr
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")  # the committed cells, from DVC's cache
    assert "up to date" in sh(repo, "dvc", "status").stdout


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_a_damaged_mask_file_is_recomputed(repo, damage):
    mask = repo / "models/strategy/masks/c4-s0/masks.safetensors"
    original, lock = mask.read_bytes(), (repo / "dvc.lock").read_bytes()
    if damage == "flipped":  # same size, one byte of the mask data changed
        mask.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    else:
        mask.write_bytes(original[: len(original) // 2])
    result = sh(repo, "dvc", "repro")
    assert "prune" in ran(result.stdout)
    assert "masks.safetensors does not match the sha256 recorded" in result.stderr
    assert mask.read_bytes() == original
    assert (repo / "dvc.lock").read_bytes() == lock
    assert "up to date" in sh(repo, "dvc", "status").stdout


BAD_INPUTS = [
    ({"strategy": "no_such_method"}, "unknown strategy 'no_such_method'; valid choices: "),
    ({"baselines": ["random", "nope"]}, "unknown strategy 'nope'; valid choices: "),
    ({"benchmark": "cifar11"}, "unknown benchmark 'cifar11'; valid choices: "),
    ({"compressions": [2, 1e9]}, "compression 1e+09 cannot be met"),
    ({"compressions": [2, "1e9"]}, "compression '1e9' is text, not a number: YAML reads"),
    ({"seeds": [0, -1]}, "seed -1 is not a non-negative integer"),
    ({"finetune__learning_rate": -1}, "recipe learning_rate must be a positive number"),
    ({"finetune__epochs": 1.5}, "recipe epochs must be a whole number"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_INPUTS)
def test_bad_params_change_no_output(repo, changes, message):
    before = snapshot(repo)
    edit_params(repo, **changes)
    result = sh(repo, "dvc", "repro", check=False)
    sh(repo, "git", "checkout", "--", "params.yaml")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert snapshot(repo) == before
    assert not (repo / "models/baselines/nope").exists()


def test_a_missing_dataset_or_a_damaged_published_model_changes_no_result(repo, tmp_path):
    before = snapshot(repo)
    lock_before = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    edit_params(repo, benchmark="cifar10_resnet20", data__root=str(tmp_path))
    result = sh(repo, "dvc", "repro", check=False)
    sh(repo, "git", "checkout", "--", "params.yaml")
    assert result.returncode != 0
    assert "error: dataset cifar10 not found" in result.stderr and str(tmp_path) in result.stderr
    # resolve succeeded (the params are valid) and recorded that; nothing after it was touched
    after = snapshot(repo)
    resolved = ("resolved/", "dvc.lock")
    assert {k: v for k, v in after.items() if not k.startswith(resolved)} == {
        k: v for k, v in before.items() if not k.startswith(resolved)
    }
    locked = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert locked["fetch_data"] == lock_before["fetch_data"]
    sh(repo, "dvc", "repro", "resolve")
    weights = repo / "src/prunebench/benchmarks/weights/fashion_mnist_sample_lenet5.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    result = sh(repo, "dvc", "repro", check=False)
    weights.write_bytes(original)
    assert "error: sha256 mismatch for " in result.stderr
    assert snapshot(repo) == before
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_an_unwritable_output_is_one_line_before_any_work(repo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = sh(
        repo, "python", "stages/prune.py", "--method", "random", "--out", str(blocker / "masks"),
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {blocker}/masks: {blocker} is a file, not a directory"
    ]


def test_written_files_have_the_umask_mode(repo):
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
        assert stat.S_IMODE((repo / name).stat().st_mode) == expected, name  # fmt: skip


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_changing_evaluate_reruns_neither_prune_nor_finetune(repo):
    edit_params(repo, evaluate__batch_size=500)
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert {"evaluate", "evaluate_baseline@random", "aggregate"} <= stages
    assert not {"prune", "finetune", "prune_baseline@random", "finetune_baseline@random"} & stages
    commit(repo, "evaluate batch")


def test_adding_a_compression_computes_only_the_new_cells(repo):
    before = cell_files(repo)
    edit_params(repo, compressions=[2, 4, 8])
    sh(repo, "dvc", "repro")
    after = cell_files(repo)
    new = sorted(set(after) - set(before))
    assert len(new) == 6 and all("/c8-s0/" in path for path in new)
    assert all(after[path] == before[path] for path in before), "old cells were recomputed"
    commit(repo, "compression 8")


def test_exp_run_with_another_strategy_and_metrics_diff(repo):
    result = sh(repo, "dvc", "exp", "run", "-S", "strategy=layer_mag")
    stages = ran(result.stdout)
    assert {"prune", "finetune", "evaluate", "aggregate"} <= stages
    assert not any("@" in stage for stage in stages), "a baseline was recomputed"
    diff = sh(repo, "dvc", "metrics", "diff", "--json").stdout
    changes = json.loads(diff)["results/summary.json"]
    assert "strategy.c8.top1_mean" in changes
    # The evaluated method is now a baseline name too: no list syntax, and it still runs.
    result = sh(repo, "dvc", "exp", "run", "-S", "strategy=random")
    assert not any("@" in stage for stage in ran(result.stdout))
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")


def test_remote_round_trip_recomputes_nothing_pulled(repo, tmp_path):
    remote, origin = tmp_path / "remote", tmp_path / "origin.git"
    sh(repo, "dvc", "remote", "add", "-d", "team", str(remote))
    commit(repo, "team remote")
    sh(repo, "dvc", "push", "--run-cache")
    sh(repo, "git", "clone", "-q", "--bare", str(repo), str(origin))

    first = tmp_path / "first"  # a teammate runs part of a bigger grid and shares it
    sh(repo, "git", "clone", "-q", str(origin), str(first))
    sh(first, "dvc", "pull", "--run-cache")
    edit_params(first, seeds=[0, 1])
    stages = ran(sh(first, "dvc", "repro", "prune").stdout)
    assert stages == {"resolve", "prune"}
    sh(first, "dvc", "push", "--run-cache")
    commit(first, "seed 1, pruned")
    sh(first, "git", "push", "-q", "origin", "HEAD")

    second = tmp_path / "second"  # another teammate, on a fresh clone
    sh(repo, "git", "clone", "-q", str(origin), str(second))
    sh(second, "dvc", "pull", "--run-cache")
    pulled = cell_files(second)
    stages = ran(sh(second, "dvc", "repro").stdout)
    assert not {"fetch_data", "fetch_pretrained", "prune"} & stages
    assert {"prune_baseline@random", "finetune", "evaluate", "aggregate"} <= stages
    after = cell_files(second)
    assert all(after[path] == pulled[path] for path in pulled), "a pulled cell was recomputed"
    assert "up to date" in sh(second, "dvc", "status").stdout


def test_sigkill_during_finetune_leaves_nothing_a_rerun_accepts(repo):
    edit_params(repo, finetune__epochs=30, finetune__patience=30, finetune__learning_rate=0.0001)
    process = subprocess.Popen(
        ["dvc", "repro"], cwd=repo, env=environment(repo), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    finetuned = repo / "models/strategy/finetuned"
    deadline = time.monotonic() + 300
    while not list(finetuned.glob(".*.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(finetuned.glob(".*.partial-*")), "finetune never started"
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert "finetune" in sh(repo, "dvc", "status").stdout
    edit_params(repo, finetune__epochs=1, finetune__patience=1)
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert "finetune" in stages
    assert "up to date" in sh(repo, "dvc", "status").stdout
    assert not list(finetuned.glob(".*"))


def file_digests(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_two_ray_workers_compute_the_cells_of_one_worker_byte_for_byte(repo):
    roots = ("models/strategy/masks", "models/strategy/finetuned", "results/cells/strategy")
    one_worker = {root: file_digests(repo / root) for root in roots}
    cells = len(list((repo / roots[1]).glob(f"*/{MANIFEST_FILE}")))  # earlier tests add some
    for root in roots:
        shutil.rmtree(repo / root)
    result = sh(repo, "dvc", "repro", PRUNEBENCH_WORKERS="2")
    output = result.stdout + result.stderr
    for step in ("prune global_mag", "finetune strategy", "evaluate strategy"):
        assert f"{step}: {cells} cells on 2 workers on a local Ray instance" in output
    assert {"prune", "finetune", "evaluate"} <= ran(result.stdout)
    assert {root: file_digests(repo / root) for root in roots} == one_worker
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_a_ray_worker_killed_mid_cell_leaves_nothing_accepted_and_the_cell_reruns(repo):
    edit_params(repo, finetune__epochs=4, finetune__patience=4)
    sh(repo, "dvc", "repro")  # one worker: the reference
    finetuned = repo / "models/strategy/finetuned"
    one_worker = file_digests(finetuned)
    shutil.rmtree(finetuned)
    process = subprocess.Popen(
        ["dvc", "repro"], cwd=repo, env=environment(repo, PRUNEBENCH_WORKERS="2"),
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # A Ray worker names its process after the task it runs.
    deadline, busy = time.monotonic() + 300, []
    while not busy and process.poll() is None and time.monotonic() < deadline:
        busy = subprocess.run(
            ["pgrep", "-f", "ray::_compute_files"], capture_output=True, text=True
        ).stdout.split()
        time.sleep(0.1)
    assert busy, "no Ray worker ever ran a cell"
    time.sleep(0.5)
    os.kill(int(busy[0]), signal.SIGKILL)
    output, _ = process.communicate(timeout=600)
    # Ray ran the killed cell again on another worker; the stage wrote only whole cells.
    assert process.returncode == 0, output
    assert file_digests(finetuned) == one_worker
    assert not list(finetuned.glob(".*"))
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_one_worker_never_imports_ray(repo, tmp_path):
    result = sh(
        repo, sys.executable, "-X", "importtime", "stages/evaluate.py",
        "--finetuned", "models/strategy/finetuned", "--out", str(tmp_path / "cells"),
    )  # fmt: skip
    finetuned = len(list((repo / "models/strategy/finetuned").glob(f"*/{MANIFEST_FILE}")))
    assert len(list((tmp_path / "cells").glob(f"*/{MANIFEST_FILE}"))) == finetuned > 1
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    # (-X importtime lists import statements; the runner, imported by name, is not among them)
    assert {"torch", "prunebench.pipeline.cells"} <= imported
    assert not {name for name in imported if name == "ray" or name.startswith("ray.")}


def test_bad_params_fail_before_any_work(tmp_path):
    repo = make_copy(tmp_path / "bad")
    edit_params(repo, strategy="no_such_method")
    result = sh(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert "error: unknown strategy 'no_such_method'; valid choices: " in result.stderr
    assert "global_mag" in result.stderr
    assert not (repo / "data/splits").exists()
    edit_params(repo, strategy="lamp", compressions=[2, 0.5])
    result = sh(repo, "dvc", "repro", check=False)
    assert "error: compression 0.5 is out of range" in result.stderr
    assert not (repo / "data/splits").exists()
