"""Reporting on a small, realistic grid: four methods, five compressions, two seeds.

The curves mimic LeNet-5 on Fashion-MNIST: the global allocation (``global_mag``) keeps more
accuracy per parameter but saves fewer multiply-adds than the layerwise one (``layer_mag``), the
paper's metric disagreement.
"""

import json

import numpy as np
import pandas as pd
import pytest

from prunebench.errors import PrunebenchError
from prunebench.reporting import (
    cells_table,
    checklist,
    compression_key,
    curves_data,
    grouped_table,
    metric_disagreement,
    plot_accuracy,
    plot_data,
    render_report,
    summary_metrics,
)

COMPRESSIONS = [2, 4, 8, 16, 32]
PARAMS_TOTAL = 431_080
MACS_DENSE = 2_293_000
# Mean top-1 (%) and theoretical speedup per target compression.
CURVES = {
    "lamp": ([89.7, 89.5, 89.0, 88.0, 86.0], [1.3, 1.6, 2.2, 3.2, 5.0]),
    "global_mag": ([89.6, 89.4, 88.9, 87.8, 85.2], [1.15, 1.35, 1.7, 2.3, 3.1]),
    "layer_mag": ([89.5, 89.1, 88.2, 86.3, 81.0], [1.95, 3.8, 7.2, 13.5, 24.0]),
    "random": ([88.0, 85.0, 78.0, 65.0, 40.0], [1.95, 3.85, 7.4, 14.0, 26.0]),
}
BASELINES = ["global_mag", "layer_mag", "random"]
CONTROL = {"strategy": "control", "target_compression": 1, "top1": 0.9012, "top5": 0.9981}
SETUP = {
    "benchmark": "fashion_mnist_sample_lenet5",
    "dataset": "fashion_mnist_sample",
    "model": "lenet5",
    "pretrained": {"source": "trained in the pipeline", "top1": 0.9012},
    "finetune": {"optimizer": "adam", "learning_rate": 3e-4, "batch_size": 64, "epochs": 4},
    "seeds": [0, 1],
    "compressions": COMPRESSIONS,
    "environment": {"prunebench": "0.1.0", "torch": "2.5.1", "device": "cpu"},
}
FIGURES = {
    "Top-1 accuracy vs. compression": "plots/accuracy_vs_compression.png",
    "Top-1 accuracy vs. theoretical speedup": "plots/accuracy_vs_speedup.png",
}


def make_cell(strategy: str, target: float, seed: int, top1: float, speedup: float) -> dict:
    """One evaluate-stage result file, as in docs/design.md."""
    nonzero = round(PARAMS_TOTAL / target)
    return {
        "strategy": strategy,
        "target_compression": target,
        "seed": seed,
        "top1": top1,
        "top5": min(0.999, top1 + 0.09),
        "loss": 0.3 + (0.9 - top1),
        "params_total": PARAMS_TOTAL,
        "params_nonzero": nonzero,
        "compression": PARAMS_TOTAL / nonzero,
        "effective_compression": PARAMS_TOTAL / nonzero * 1.02,
        "macs_dense": MACS_DENSE,
        "macs_nonzero": round(MACS_DENSE / speedup),
        "speedup": speedup,
        "activations_total": 12_345,
        "activations_nonzero": 9_876,
        "finetune": {
            "epochs_run": 2,
            "best_epoch": 2,
            "best_validation_top1": top1 + 0.01,
            "history": [
                {
                    "epoch": epoch,
                    "train_loss": 0.5 / epoch,
                    "train_top1": top1,
                    "validation_loss": 0.6 / epoch,
                    "validation_top1": top1 + 0.01 * (epoch - 1),
                    "validation_top5": 0.99,
                }
                for epoch in (1, 2)
            ],
        },  # fmt: skip
        "provenance": {"prunebench": "0.1.0", "torch": "2.5.1", "device": "cpu", "params": {}},
    }


def make_cells(seeds=(0, 1), compressions=COMPRESSIONS) -> list[dict]:
    """Seeds scatter deterministically around each curve (a few tenths of a point)."""
    cells = []
    for strategy, (top1s, speedups) in CURVES.items():
        for target, top1, speedup in zip(COMPRESSIONS, top1s, speedups, strict=True):
            if target not in compressions:
                continue
            for seed in seeds:
                noise = 0.15 * (seed - 0.5) * (1 + COMPRESSIONS.index(target) / 4)
                cells.append(make_cell(strategy, target, seed, (top1 + noise) / 100, speedup))
    return cells[::-1]  # unsorted on purpose


@pytest.fixture(scope="module")
def grouped() -> pd.DataFrame:
    return grouped_table(cells_table(make_cells()))


def test_cells_table_is_flat_and_sorted():
    table = cells_table(make_cells())
    assert len(table) == len(CURVES) * len(COMPRESSIONS) * 2
    assert {"finetune_epochs_run", "finetune_best_epoch", "finetune_best_validation_top1"} <= set(
        table.columns
    )
    assert "provenance" not in table.columns and "finetune" not in table.columns
    keys = list(zip(table["strategy"], table["target_compression"], table["seed"], strict=True))
    assert keys == sorted(keys)


def test_cells_table_refuses_duplicates_and_missing_metrics():
    cells = make_cells()
    with pytest.raises(PrunebenchError, match="more than once"):
        cells_table([*cells, cells[0]])
    broken = dict(cells[0])
    del broken["speedup"]
    with pytest.raises(PrunebenchError, match="lacks speedup"):
        cells_table([broken])
    with pytest.raises(PrunebenchError, match="no result cells"):
        cells_table([])


def test_grouped_mean_and_sample_std_match_numpy(grouped):
    cells = make_cells()
    for strategy in CURVES:
        for target in COMPRESSIONS:
            top1s = [
                cell["top1"]
                for cell in cells
                if cell["strategy"] == strategy and cell["target_compression"] == target
            ]
            row = grouped[
                (grouped["strategy"] == strategy) & (grouped["target_compression"] == target)
            ]
            assert row["n_seeds"].item() == 2
            assert row["top1_mean"].item() == pytest.approx(np.mean(top1s))
            assert row["top1_std"].item() == pytest.approx(np.std(top1s, ddof=1))
    assert list(grouped.columns) == [
        "strategy", "target_compression", "n_seeds", "top1_mean", "top1_std", "top5_mean",
        "top5_std", "loss_mean", "loss_std", "compression", "effective_compression", "speedup",
    ]  # fmt: skip


def test_single_seed_std_is_nan_not_zero():
    single = grouped_table(cells_table(make_cells(seeds=(0,))))
    assert single["n_seeds"].eq(1).all()
    assert single["top1_std"].isna().all()


def test_compression_keys_are_compact():
    assert [compression_key(value) for value in (2, 2.0, 2.5, 32)] == ["c2", "c2", "c2.5", "c32"]


def test_summary_layout_and_gap_to_best_baseline(grouped):
    summary = summary_metrics(grouped, CONTROL, "lamp", BASELINES)
    json.dumps(summary, allow_nan=False)  # valid JSON for `dvc metrics diff`
    assert set(summary) == {"control", "strategy", "baselines"}
    assert summary["control"] == {"top1": 0.9012, "top5": 0.9981}
    assert list(summary["strategy"]) == ["c2", "c4", "c8", "c16", "c32"]
    assert set(summary["baselines"]) == set(BASELINES)
    assert set(summary["baselines"]["random"]["c8"]) == {
        "n_seeds", "top1_mean", "top1_std", "top5_mean", "compression", "speedup",
    }  # fmt: skip
    for target in COMPRESSIONS:
        at = grouped[grouped["target_compression"] == target].set_index("strategy")["top1_mean"]
        point = summary["strategy"][compression_key(target)]
        expected = at["lamp"] - max(at[name] for name in BASELINES)
        assert point["top1_minus_best_baseline"] == pytest.approx(expected, abs=1e-6)
        assert point["speedup"] == CURVES["lamp"][1][COMPRESSIONS.index(target)]


def test_summary_when_the_strategy_is_also_a_baseline(grouped):
    summary = summary_metrics(grouped, CONTROL, "layer_mag", BASELINES)
    assert set(summary["baselines"]) == set(BASELINES)  # identical across experiments
    at32 = grouped[grouped["target_compression"] == 32].set_index("strategy")["top1_mean"]
    gap = summary["strategy"]["c32"]["top1_minus_best_baseline"]
    assert gap == pytest.approx(
        at32["layer_mag"] - max(at32["global_mag"], at32["random"]), abs=1e-6
    )
    data = plot_data(grouped, CONTROL, "layer_mag", BASELINES)
    assert list(dict.fromkeys(data["method"])) == ["layer_mag", "global_mag", "random"]
    assert len(data) == 3 * len(COMPRESSIONS)


def test_single_seed_summary_leaves_out_the_std():
    single = grouped_table(cells_table(make_cells(seeds=(0,))))
    summary = summary_metrics(single, CONTROL, "lamp", BASELINES)
    assert "top1_std" not in summary["strategy"]["c2"]
    json.dumps(summary, allow_nan=False)


def test_a_method_without_results_is_an_error(grouped):
    with pytest.raises(PrunebenchError, match="no results for method 'synflow'"):
        summary_metrics(grouped, CONTROL, "synflow", BASELINES)


def test_plot_data_is_in_percent_and_carries_the_control(grouped):
    data = plot_data(grouped, CONTROL, "lamp", BASELINES)
    columns = ["method", "compression", "speedup", "top1", "top1_std", "control_top1"]
    assert list(data.columns) == columns
    assert data["method"].iloc[0] == "lamp"
    row = grouped[(grouped["strategy"] == "lamp") & (grouped["target_compression"] == 8)]
    assert data["top1"].iloc[2] == pytest.approx(100 * row["top1_mean"].item())
    assert list(data["control_top1"]) == pytest.approx([100 * CONTROL["top1"]] * len(data))


def test_curves_have_one_row_per_cell_and_epoch_of_the_strategy_only():
    cells = make_cells()
    curves = curves_data(cells, "lamp")
    assert len(curves) == len(COMPRESSIONS) * 2 * 2  # compressions x seeds x epochs
    assert list(curves["compression"]) == sorted(curves["compression"])
    first = next(c for c in cells if c["strategy"] == "lamp" and c["seed"] == 0)
    at = curves[(curves["compression"] == first["target_compression"]) & (curves["seed"] == 0)]
    history = first["finetune"]["history"]
    assert list(at["epoch"]) == [1, 2]
    assert list(at["validation_top1"]) == pytest.approx(
        [100 * row["validation_top1"] for row in history]
    )
    with pytest.raises(PrunebenchError, match="no finetuning history for method 'synflow'"):
        curves_data(cells, "synflow")


def test_the_history_list_does_not_become_a_table_column():
    assert "finetune_history" not in cells_table(make_cells()).columns


@pytest.mark.parametrize("x", ["compression", "speedup"])
def test_plots_are_pngs_on_a_log2_axis(grouped, tmp_path, x):
    path = tmp_path / "plots" / f"accuracy_vs_{x}.png"
    figure = plot_accuracy(
        grouped, CONTROL, path, strategy="lamp", baselines=BASELINES, setup=SETUP, x=x
    )
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000
    assert not list(path.parent.glob(".*.tmp"))
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.xaxis.get_transform().base == 2
    ticks = [label.get_text() for label in axes.get_xticklabels()]
    assert {"2", "4"} <= set(ticks)
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend[0] == "lamp (evaluated)"
    assert "control (unpruned): 90.1%" in legend
    assert "lenet5" in axes.get_title() and "fashion_mnist_sample" in axes.get_title()


def test_plot_marks_a_single_seed_without_error_bars(tmp_path):
    single = grouped_table(cells_table(make_cells(seeds=(0,))))
    path = tmp_path / "single.png"
    plot_accuracy(single, CONTROL, path, strategy="lamp", baselines=BASELINES, setup=SETUP)
    assert path.stat().st_size > 10_000


def constructed(top1_g, speedup_g, top1_l, speedup_l) -> pd.DataFrame:
    """Two methods' grouped rows over the five targets (top-1 in %)."""
    rows = []
    for name, top1s, speedups in (("G", top1_g, speedup_g), ("L", top1_l, speedup_l)):
        for target, top1, speedup in zip(COMPRESSIONS, top1s, speedups, strict=True):
            rows.append(
                {
                    "strategy": name,
                    "target_compression": target,
                    "top1_mean": top1 / 100,
                    "compression": target,
                    "speedup": speedup,
                }
            )
    return pd.DataFrame(rows)


def test_disagreement_is_found_when_rankings_flip():
    # G is better at every compression, but at any given speedup L is better.
    grouped = constructed(
        [90, 89, 88, 86, 83], [1.2, 1.5, 2.0, 2.8, 4.0], [89.5, 88.5, 87, 84, 78], [2, 4, 8, 16, 32]
    )
    (found,) = metric_disagreement(grouped)
    assert (found.winner_at_compression, found.winner_at_speedup) == ("G", "L")
    assert found.compression_gap == pytest.approx(np.mean([0.5, 0.5, 1, 2, 5]))
    assert found.speedup_gap > 0 and found.speedup_range == pytest.approx((2.0, 4.0))
    assert "G beats L" in str(found) and "L beats G" in str(found)


def test_no_disagreement_when_one_method_dominates():
    grouped = constructed(
        [90, 89, 88, 86, 83], [2.2, 4.4, 8.8, 17, 34], [89.5, 88.5, 87, 84, 78], [2, 4, 8, 16, 32]
    )
    assert metric_disagreement(grouped) == []


def test_the_paper_observation_appears_on_the_realistic_grid(grouped):
    pairs = {(d.winner_at_compression, d.winner_at_speedup) for d in metric_disagreement(grouped)}
    assert ("global_mag", "layer_mag") in pairs
    sentence = next(
        str(d) for d in metric_disagreement(grouped) if d.winner_at_speedup == "layer_mag"
    )
    assert "paper's observation" in sentence


def test_report_has_setup_results_figures_and_ticked_checklist(grouped):
    report = render_report(grouped, CONTROL, SETUP, "lamp", BASELINES, FIGURES)
    for heading in (
        "## Setup",
        "## Results",
        "## Figures",
        "## Metric disagreement",
        "## Checklist",
    ):
        assert heading in report
    assert "![Top-1 accuracy vs. compression](plots/accuracy_vs_compression.png)" in report
    assert "| **lamp** (evaluated) |" in report and "control (unpruned)" in report
    assert "global_mag beats layer_mag" in report
    assert "- [x] Several runs per point" in report
    assert "- [x] Several operating points" in report
    assert "- [x] Compared with magnitude pruning and with random pruning" in report
    assert "- [ ] A dataset in wide use" in report  # the default benchmark is a development one


def test_checklist_follows_the_data():
    few = grouped_table(cells_table(make_cells(seeds=(0,), compressions=[2, 4, 8])))
    items = checklist(few, CONTROL, SETUP, "lamp", ["layer_mag"], {})
    items = {item.text.split(" (")[0]: item for item in items}
    assert not items["Several runs per point"].ticked
    assert not items["Several operating points"].ticked
    assert not items["Compared with magnitude pruning and with random pruning"].ticked
    assert not items["Tradeoff curves plotted"].ticked
    assert items["Both compression ratio and theoretical speedup reported"].ticked
    report = render_report(few, CONTROL, SETUP, "lamp", ["layer_mag"], {})
    assert "- [ ] Several runs per point" in report
    assert "± n/a" in report and "- [x] Both compression ratio and theoretical speedup" in report
