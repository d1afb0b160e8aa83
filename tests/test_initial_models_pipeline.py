"""Initial models as a factor of the grid, with real dvc on the tiny grid: adding an initial
model computes its cells and nothing else, each from its own weights and control."""

import json

import pandas as pd
import pytest
from params_edit import edit_params
from pipeline_repo import cell_files, file_digests, sh

from prunebench.benchmarks.pretrained import bundled_record

pytestmark = pytest.mark.slow  # real dvc on the tiny grid

METHODS = ("strategy", "baselines/random")


def test_adding_an_initial_model_computes_only_its_cells(repo):
    before = cell_files(repo)
    results = file_digests(repo / "results")
    untouched = {
        root: file_digests(repo / root)
        for root in ("models/strategy", "models/baselines", "results/cells", "results/latency")
    }
    control = (repo / "results/control.json").read_bytes()
    edit_params(repo, initial_models=[0, 1])
    sh(repo, "dvc", "repro")

    after = cell_files(repo)
    new = sorted(set(after) - set(before))
    # 2 methods x 2 compressions x 1 seed, pruned, finetuned and evaluated; latency times
    # initial model 0's cells only.
    assert len(new) == 12 and all("/i1-c" in path for path in new), new
    assert all(after[path] == before[path] for path in before), "initial model 0's cells ran"
    for root, digests in untouched.items():
        now = file_digests(repo / root)
        assert {path: now.get(path) for path in digests} == digests, root
    assert (repo / "results/control.json").read_bytes() == control

    # Every cell of initial model 1 started from its published weights, beside its control.
    published = bundled_record("fashion_mnist_sample_lenet5", 1)["sha256"]
    for method in METHODS:
        for target in (2, 4):
            cell = repo / f"results/cells/{method}/i1-c{target}-s0/metrics.json"
            record = json.loads(cell.read_text())
            assert record["inputs"]["pretrained_sha256"] == published
            assert record["initial_model"] == 1
    other = json.loads((repo / "models/pretrained/i1/control.json").read_text())
    assert other["inputs"]["pretrained_sha256"] == published
    assert other["top1"] != json.loads(control)["top1"]

    # The table names each cell's initial model; the verdicts pair on (initial model, seed).
    cells = pd.read_csv(repo / "results/cells.csv")
    assert sorted(cells["initial_model"].unique()) == [0, 1]
    assert len(cells) == 2 * 2 * 2
    report = (repo / "results/report.md").read_text()
    assert "## Initial models" in report
    assert "holds on every initial model" in report
    assert "| **global_mag** (evaluated) | 1 |" in report
    figures = repo / "results/figures"
    assert (figures / "top1_vs_compression_i0.png").is_file()
    assert (figures / "top1_vs_compression_i1.png").is_file()

    # Back to one initial model: its cells go, and the results are the run's as they were.
    edit_params(repo, initial_models=[0])
    sh(repo, "dvc", "repro")
    assert set(cell_files(repo)) == set(before)
    assert not (repo / "models/pretrained/i1").exists()
    assert file_digests(repo / "results") == results
