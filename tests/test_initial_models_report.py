"""The aggregate step on a run of two initial models, written to disk as the stages leave it:
the table names each cell's initial model, verdicts pair on (initial model, seed), each run is
measured against its own initial model's control, and the report says whether each verdict holds
on every initial model. No dvc."""

import dataclasses
import json

import pandas as pd
import pytest
from reporting_run import write_run

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.cells import Cell, CellStore
from prunebench.stages.aggregate import aggregate

SHIFT = -0.02
"""Initial model 1's cells: two points below initial model 0's, for every method alike."""


def add_initial_model(paths: dict, *, pretrained: str = "q" * 64) -> None:
    """Initial model 1's copy of every cell under results/cells, and its control."""
    cells = paths["results"] / "cells"
    for manifest in sorted(cells.rglob("cell.json")):
        folder = manifest.parent
        record = json.loads((folder / "metrics.json").read_text())
        store = CellStore(folder.parent)
        cell = Cell.from_name(folder.name)
        other = Cell(cell.compression, cell.seed, 1)
        record |= {
            "top1": record["top1"] + SHIFT,
            "inputs": record["inputs"] | {"pretrained_sha256": pretrained},
            "initial_model": 1,
        }
        with store.writing(other, "test") as out:
            (out / "metrics.json").write_text(json.dumps(record))
    control = json.loads((paths["results"] / "control.json").read_text())
    control |= {
        "top1": control["top1"] + SHIFT,
        "inputs": control["inputs"] | {"pretrained_sha256": "q" * 64},
        "initial_model": 1,
    }
    (paths["source"].parent / "i1").mkdir()
    (paths["source"].parent / "i1/control.json").write_text(json.dumps(control))


def test_a_run_of_two_initial_models_pairs_on_initial_model_and_seed(tmp_path):
    config, paths = write_run(tmp_path, seeds=(0, 1, 2))
    add_initial_model(paths)
    aggregate(dataclasses.replace(config, initial_models=[0, 1]), **paths)
    results = paths["results"]

    cells = pd.read_csv(results / "cells.csv")
    assert list(cells.columns).index("initial_model") == list(cells.columns).index("seed") - 1
    assert sorted(cells["initial_model"].unique()) == [0, 1]
    details = json.loads((results / "details.json").read_text())
    text = json.dumps(details)
    # 2 initial models x 3 seeds: every point has 6 runs, every comparison 6 pairs.
    assert '"n_runs": 6' in text and '"n_pairs": 6' in text
    assert '"n_runs": 3' not in text and '"n_pairs": 3' not in text

    report = (results / "report.md").read_text()
    section = report.split("## Initial models", 1)[1].split("\n## ", 1)[0]
    assert "from each of 2 initial models (0, 1)" in section
    assert (
        "paired over (initial model, seed) for initial models 0, 1 and seeds 0, 1, 2 (n = 6)"
        in report
    )
    # The control, the setup and the figures name every initial model's control.
    assert (
        "**Against the unpruned control** (each run against its own initial model's: top-1 "
        "90.12% (initial model 0), 88.12% (initial model 1))"
    ) in report
    assert (
        "- Seeds: 0, 1, 2 (n = 3); from each of 2 initial models, 0 (control top-1 90.12%), "
        "1 (control top-1 88.12%): initial model k is the benchmark's model pretrained from "
        "seed k (n = 6 runs per point)"
    ) in report
    assert "the control line is the mean of the initial models' controls" in report
    # Every method moved alike, so every verdict is the same on each initial model.
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    verdicts = [row for row in rows[1:] if row.count("|") == 6]
    assert verdicts and all(row.endswith("| yes |") for row in verdicts)
    # Each initial model's curve beside its own control (90.12% and 88.12%).
    assert "| 0 | 90.12 |" in section and "| 1 | 88.12 |" in section
    assert (results / "figures/top1_vs_compression_i1.png").is_file()
    # Against the control, each run counts against its own: the same change on both.
    summary = json.loads((results / "summary.json").read_text())
    one = tmp_path / "one"
    config_one, paths_one = write_run(one, seeds=(0, 1, 2))
    aggregate(config_one, **paths_one)
    alone = json.loads((paths_one["results"] / "summary.json").read_text())
    assert summary["vs"]["control"]["delta"] == pytest.approx(alone["vs"]["control"]["delta"])
    assert "## Initial models" not in (paths_one["results"] / "report.md").read_text()
    assert "initial_model" not in pd.read_csv(paths_one["results"] / "cells.csv").columns


def test_cells_of_an_initial_model_from_other_weights_than_its_control_are_refused(tmp_path):
    config, paths = write_run(tmp_path, seeds=(0, 1))
    add_initial_model(paths, pretrained="p" * 64)  # initial model 0's weights
    with pytest.raises(PrunebenchError, match="the cells of initial model 1 with the control"):
        aggregate(dataclasses.replace(config, initial_models=[0, 1]), **paths)


def test_a_missing_control_of_an_initial_model_is_refused(tmp_path):
    config, paths = write_run(tmp_path, seeds=(0, 1))
    with pytest.raises(PrunebenchError, match="no control of initial model 2"):
        aggregate(dataclasses.replace(config, initial_models=[0, 2]), **paths)
