"""What a change re-runs, on the tiny grid: each test changes one thing in its own copy of the
session's finished run (``repo``, see ``pipeline_repo``) and checks which stages and cells
`dvc repro` recomputes.
"""

import json

import pytest
from params_edit import edit_params
from pipeline_repo import cell_files, ran, sh

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


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


def test_a_recipe_changed_in_code_reruns_training_of_every_method(repo):
    benchmarks = repo / "src/prunebench/benchmarks/registry.py"
    text = benchmarks.read_text()
    old = "steps_per_epoch=80,"
    assert old in text
    benchmarks.write_text(text.replace(old, old + " weight_decay=0.01,"))
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert stages == {
        "resolve",
        "finetune",
        "finetune_baseline@random",
        "evaluate",
        "evaluate_baseline@random",
        "latency",
        "aggregate",
    }
    for method in ("strategy", "baselines/random"):
        metrics = json.loads((repo / f"results/cells/{method}/c2-s0/metrics.json").read_text())
        assert metrics["inputs"]["recipe"]["weight_decay"] == 0.01


def test_a_reporting_change_reruns_only_aggregate(repo):
    report = repo / "src/prunebench/reporting/__init__.py"  # only aggregate imports reporting
    report.write_text(report.read_text() + "\n# a reporting-only edit\n")
    assert ran(sh(repo, "dvc", "repro").stdout) == {"aggregate"}


def test_changing_evaluate_reruns_neither_prune_nor_finetune(repo):
    edit_params(repo, evaluate__batch_size=500)
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert {"evaluate", "evaluate_baseline@random", "aggregate"} <= stages
    assert not {"prune", "finetune", "prune_baseline@random", "finetune_baseline@random"} & stages


def test_adding_a_compression_computes_only_the_new_cells(repo):
    before = cell_files(repo)
    edit_params(repo, compressions=[2, 4, 8])
    sh(repo, "dvc", "repro")
    after = cell_files(repo)
    new = sorted(set(after) - set(before))
    assert len(new) == 6 and all("/c8-s0/" in path for path in new)
    assert all(after[path] == before[path] for path in before), "old cells were recomputed"


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
