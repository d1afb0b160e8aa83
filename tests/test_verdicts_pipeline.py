"""Verdicts on real cells: the paired statistics, the matched controls and `dvc metrics diff`.

Real `dvc` on a tiny grid with three seeds: `global_mag` is evaluated beside its matched magnitude
control, which is global magnitude again (the same number of weights in every layer, the largest
ones), so the pipeline compares a method with itself, computed by another stage; `random` is the
baseline it must beat. Then `dvc exp run -S strategy=random` recomputes the method and its matched
controls only, and `dvc metrics diff` shows the verdicts change.

The grid runs once per session (``pipeline_repo.finished_run``); the tests read its files, and
the one that runs dvc does so in a copy of its own.
"""

import hashlib
import json
import math

import pandas as pd
import pytest
import torch
from pipeline_repo import copy_of, finished_run, ran, sh
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # drives real dvc; about four minutes

GRID = {
    "strategy": "global_mag",
    "baselines": ["random"],
    "matched_controls": ["matched_mag", "matched_random"],
    "compressions": [2, 8],
    "seeds": [0, 1, 2],
}
# Student t quantile t(0.975, df=2) = sqrt(2 q^2 / (1 - q^2)) with q = 0.95, exactly.
T_975_DF2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))


@pytest.fixture(scope="session")
def verdicts_run(session_dir):
    return finished_run(session_dir, GRID)


@pytest.fixture
def finished(verdicts_run):
    """The finished run's repository, only to read: a test that runs dvc takes a copy."""
    return verdicts_run.repo


def summary(finished) -> dict:
    """Every statistic of the run: ``results/details.json``."""
    return json.loads((finished / "results/details.json").read_text())


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_seed_fixes_the_same_run_for_every_method(finished):
    # The evaluated global_mag and its matched_mag are two stages of their own that keep the same
    # weights; the same seed must give them the same data order, hence the same tensors (the
    # files differ only in the method their metadata names).
    for cell in ("c2-s0", "c8-s1", "c8-s2"):
        for kind, name in (("masks", "masks.safetensors"), ("finetuned", "model.safetensors")):
            ours = load_file(finished / "models/strategy" / kind / cell / name)
            theirs = load_file(finished / "models/matched/matched_mag" / kind / cell / name)
            assert list(ours) == list(theirs), (kind, cell)
            assert all(torch.equal(ours[key], theirs[key]) for key in ours), (kind, cell)


def test_a_method_compared_with_itself_shows_no_difference(finished):
    verdicts = summary(finished)["verdicts"]
    # Global magnitude keeps the largest weights of every layer: its matched_mag is itself.
    for point in ("c2", "c8", "auc"):
        entry = verdicts["matched_mag"][point]
        assert entry["delta_top1"] == entry["ci_low"] == entry["ci_high"] == 0, entry
        assert entry["verdict"] == 0 and entry["n_pairs"] == 3
    report = (finished / "results/report.md").read_text()
    assert (
        "- **not detectably different** from `matched_mag` across the curve: "
        "+0.00 points (95% CI +0.00 to +0.00); identical results"
    ) in report


def test_the_interval_equals_a_hand_computation_on_the_cells(finished):
    cells = pd.read_csv(finished / "results/cells.csv")
    for reference, point, target in (("random", "c8", 8), ("matched_random", "c2", 2)):
        ours = cells[(cells.strategy == "global_mag") & (cells.target_compression == target)]
        theirs = cells[(cells.strategy == reference) & (cells.target_compression == target)]
        differences = (ours.set_index("seed")["top1"] - theirs.set_index("seed")["top1"]).to_list()
        mean = sum(differences) / 3
        sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 2)
        half_width = T_975_DF2 * sd / math.sqrt(3)
        entry = summary(finished)["verdicts"][reference][point]
        # cells.csv rounds to 6 significant digits, the summary to 6 decimals.
        assert entry["delta_top1"] == pytest.approx(mean, abs=2e-6)
        assert entry["ci_low"] == pytest.approx(mean - half_width, abs=2e-6)
        assert entry["ci_high"] == pytest.approx(mean + half_width, abs=2e-6)


def test_matched_controls_keep_the_methods_layer_counts(finished):
    for cell in ("c2-s0", "c8-s2"):
        method = pd.read_csv(finished / "models/strategy/masks" / cell / "layers.csv")
        for control in GRID["matched_controls"]:
            matched = finished / "models/matched" / control
            layers = pd.read_csv(matched / "masks" / cell / "layers.csv")
            assert layers["kept"].to_list() == method["kept"].to_list(), (control, cell)
    random = finished / "models/matched/matched_random/masks/c2-s0/masks.safetensors"
    assert digest(random) != digest(finished / "models/strategy/masks/c2-s0/masks.safetensors")


def test_the_summary_and_report_carry_every_verdict_and_seed(finished):
    result = summary(finished)
    assert set(result["verdicts"]) == {
        "random",
        "matched_mag",
        "matched_random",
        "control",
    }
    for points in result["verdicts"].values():
        assert set(points) == {"c2", "c8", "auc"}
    assert set(result["matched"]) == {"matched_mag", "matched_random"}
    cells = pd.read_csv(finished / "results/cells.csv")
    assert len(cells) == 4 * 2 * 3  # global_mag, random, two controls; 2 targets; 3 seeds
    report = (finished / "results/report.md").read_text()
    assert report.index("## Answer") < report.index("## Setup") < report.index("## Checklist")
    assert "| method | target | seed 0 | seed 1 | seed 2 |" in report
    assert "  - [x] Random pruning with the evaluated method's own per-layer" in report


def test_exp_run_recomputes_the_method_and_its_controls_and_diff_shows_verdicts(
    verdicts_run, tmp_path
):
    repo = copy_of(verdicts_run, tmp_path / "repo")
    stages = ran(sh(repo, "dvc", "exp", "run", "-S", "strategy=random").stdout)
    assert {"prune", "finetune", "evaluate", "aggregate"} <= stages
    assert {
        f"{step}_matched@{name}"
        for step in ("prune", "finetune", "evaluate")
        for name in GRID["matched_controls"]
    } <= stages
    # The evaluated method is now a baseline's name too: no list syntax, and it still runs.
    assert not any("_baseline@" in stage for stage in stages), "a baseline was recomputed"
    changes = json.loads(sh(repo, "dvc", "metrics", "diff", "--json").stdout)
    changes = changes["results/summary.json"]
    assert {"curve.top1", "top1.c8", "vs.random.delta", "vs.matched_mag.delta"} <= set(changes)
    assert changes["vs.random.delta"]["new"] == 0  # random against itself now
