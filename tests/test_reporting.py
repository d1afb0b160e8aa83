"""Reporting on a small, realistic grid: four methods, five compressions, two seeds.

The curves mimic LeNet-5 on Fashion-MNIST: the global allocation (``global_mag``) keeps more
accuracy per parameter but saves fewer multiply-adds than the layerwise one (``layer_mag``), the
paper's metric disagreement. What each method is comes from the properties its strategy
declares (``PROPERTIES``, as the resolve stage writes them into the aggregate config), never
from its name.
"""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from method_properties import PROPERTIES, parts
from reporting_run import (
    BASELINES,
    COMPRESSIONS,
    CONTROL,
    CURVES,
    EXTERNAL,
    MATCHED_CURVES,
    SETUP,
    make_cell,
    make_cells,
    write_run,
)

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting import (
    Methods,
    ReportSetup,
    allocation_pairs,
    budget_table,
    cells_table,
    compare,
    compression_key,
    curves_data,
    details_metrics,
    grouped_table,
    metric_disagreement,
    plot_data,
    render_report,
    steps_difference,
)
from prunebench.reporting.budget import budget_note, differs

METHODS = Methods("lamp", BASELINES, (), PROPERTIES)
FIGURES = {
    "Top-1 accuracy vs. compression": "plots/accuracy_vs_compression.png",
    "Top-1 accuracy vs. theoretical speedup": "plots/accuracy_vs_speedup.png",
}


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
            assert row["n_runs"].item() == 2
            assert row["top1_mean"].item() == pytest.approx(np.mean(top1s))
            assert row["top1_std"].item() == pytest.approx(np.std(top1s, ddof=1))
    assert list(grouped.columns) == [
        "strategy", "target_compression", "n_runs", "top1_mean", "top1_std", "top5_mean",
        "top5_std", "loss_mean", "loss_std", "compression", "effective_compression", "speedup",
        "budget_epochs", "budget_steps", "budget_rounds",
    ]  # fmt: skip


def test_single_seed_std_is_nan_not_zero():
    single = grouped_table(cells_table(make_cells(seeds=(0,))))
    assert single["n_runs"].eq(1).all()
    assert single["top1_std"].isna().all()


def test_compression_keys_are_compact():
    assert [compression_key(value) for value in (2, 2.0, 2.5, 32)] == ["c2", "c2", "c2.5", "c32"]


def test_details_layout_and_gap_to_best_baseline(grouped):
    details = details_metrics(grouped, CONTROL, METHODS)
    json.dumps(details, allow_nan=False)  # valid JSON
    assert set(details) == {"control", "strategy", "baselines"}
    assert details["control"] == {"top1": 0.9012, "top5": 0.9981}
    assert list(details["strategy"]) == ["c2", "c4", "c8", "c16", "c32"]
    assert set(details["baselines"]) == set(BASELINES)
    assert set(details["baselines"]["random"]["c8"]) == {
        "n_runs", "top1_mean", "top1_std", "top5_mean", "compression", "speedup", "budget_steps",
    }  # fmt: skip
    assert details["strategy"]["c8"]["budget_steps"] == 160
    for target in COMPRESSIONS:
        at = grouped[grouped["target_compression"] == target].set_index("strategy")["top1_mean"]
        point = details["strategy"][compression_key(target)]
        expected = at["lamp"] - max(at[name] for name in BASELINES)
        assert point["top1_minus_best_baseline"] == pytest.approx(expected, abs=1e-6)
        assert point["speedup"] == CURVES["lamp"][1][COMPRESSIONS.index(target)]


def test_details_when_the_strategy_is_also_a_baseline(grouped):
    methods = dataclasses.replace(METHODS, strategy="layer_mag")
    details = details_metrics(grouped, CONTROL, methods)
    assert set(details["baselines"]) == set(BASELINES)  # identical across experiments
    at32 = grouped[grouped["target_compression"] == 32].set_index("strategy")["top1_mean"]
    gap = details["strategy"]["c32"]["top1_minus_best_baseline"]
    assert gap == pytest.approx(
        at32["layer_mag"] - max(at32["global_mag"], at32["random"]), abs=1e-6
    )
    data = plot_data(cells_table(make_cells()), CONTROL, methods)
    assert list(dict.fromkeys(data["method"])) == ["layer_mag", "global_mag", "random"]
    assert len(data) == 3 * len(COMPRESSIONS)


def test_single_seed_details_leave_out_the_std():
    single = grouped_table(cells_table(make_cells(seeds=(0,))))
    details = details_metrics(single, CONTROL, METHODS)
    assert "top1_std" not in details["strategy"]["c2"]
    json.dumps(details, allow_nan=False)


def test_a_method_without_results_is_an_error(grouped):
    with pytest.raises(PrunebenchError, match="no results for method 'synflow'"):
        details_metrics(grouped, CONTROL, dataclasses.replace(METHODS, strategy="synflow"))


def test_plot_data_is_in_percent_and_carries_the_control(grouped):
    data = plot_data(cells_table(make_cells()), CONTROL, METHODS)
    columns = ["method", "role", "compression", "speedup", "n_runs", "top1", "top1_std"]
    columns += ["top1_ci_low", "top1_ci_high", "control_top1"]
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


def constructed(top1_g, speedup_g, top1_l, speedup_l, spread=0.05) -> pd.DataFrame:
    """Two methods' cells over the five targets and three seeds (top-1 in %).

    The seeds scatter the two methods in opposite directions by ``spread`` points, so their
    per-seed gaps vary by ``4 * spread`` around the mean gap, which the scatter leaves unchanged.
    """
    rows = []
    for name, top1s, speedups, sign in (
        ("G", top1_g, speedup_g, 1),
        ("L", top1_l, speedup_l, -1),
    ):
        for target, top1, speedup in zip(COMPRESSIONS, top1s, speedups, strict=True):
            for seed in (0, 1, 2):
                rows.append(
                    {
                        "strategy": name,
                        "target_compression": target,
                        "seed": seed,
                        "top1": (top1 + sign * spread * (seed - 1)) / 100,
                        "compression": target,
                        "speedup": speedup,
                    }
                )
    return pd.DataFrame(rows)


G_WINS_PER_PARAMETER = (
    [90, 89, 88, 86, 83], [1.2, 1.5, 2.0, 2.8, 4.0], [89.5, 88.5, 87, 84, 78], [2, 4, 8, 16, 32]
)  # fmt: skip


def test_disagreement_is_found_when_rankings_flip():
    # G is better at every compression, but at any given speedup L is better.
    (found,) = metric_disagreement(constructed(*G_WINS_PER_PARAMETER))
    assert (found.winner_at_compression, found.winner_at_speedup) == ("G", "L")
    assert found.compression_gap.mean == pytest.approx(np.mean([0.5, 0.5, 1, 2, 5]))
    assert found.compression_gap.low > 0 and found.speedup_gap.low > 0
    assert found.speedup_range == pytest.approx((2.0, 4.0))
    assert found.detectable
    assert "G beats L" in str(found) and "L beats G" in str(found)
    assert "95% CI" in str(found) and "noise" not in str(found)


def test_a_flip_inside_the_noise_is_not_a_disagreement():
    (found,) = metric_disagreement(constructed(*G_WINS_PER_PARAMETER, spread=3.0))
    assert not found.detectable
    assert found.compression_gap.low < 0 < found.compression_gap.high
    assert "Inside the noise" in str(found)


def test_no_disagreement_when_one_method_dominates():
    cells = constructed(
        [90, 89, 88, 86, 83], [2.2, 4.4, 8.8, 17, 34], [89.5, 88.5, 87, 84, 78], [2, 4, 8, 16, 32]
    )
    assert metric_disagreement(cells) == []


def test_the_paper_observation_appears_on_the_realistic_grid():
    found = metric_disagreement(cells_table(make_cells(seeds=(0, 1, 2))), METHODS)
    pairs = {(d.winner_at_compression, d.winner_at_speedup) for d in found if d.detectable}
    assert ("global_mag", "layer_mag") in pairs
    sentence = next(str(d) for d in found if d.winner_at_speedup == "layer_mag")
    assert "paper's observation" in sentence


def test_the_paper_observation_is_read_from_properties_not_names():
    # G and L: one score, structure and schedule; G global, L layerwise. No name says so.
    cells = constructed(*G_WINS_PER_PARAMETER)
    allocations = Methods("G", ["L"], (), {"G": parts("taylor"), "L": parts("taylor", "layerwise")})
    (found,) = metric_disagreement(cells, allocations)
    assert found.allocation_only and "paper's observation" in str(found)
    # A different schedule, or no properties at all: a flip, but not the paper's pattern.
    scheduled = {"G": parts("taylor", schedule="iterative"), "L": parts("taylor", "layerwise")}
    for methods in (Methods("G", ["L"], (), scheduled), None):
        (found,) = metric_disagreement(cells, methods)
        assert not found.allocation_only and "paper's observation" not in str(found)
    # Named like the registry's pair but declared with different scores: not the pattern either.
    renamed = cells.replace({"strategy": {"G": "global_mag", "L": "layer_mag"}})
    different = {"global_mag": parts("magnitude"), "layer_mag": parts("gradient", "layerwise")}
    (found,) = metric_disagreement(renamed, Methods("global_mag", ["layer_mag"], (), different))
    assert not found.allocation_only


def full_run(seeds=(0, 1, 2), compressions=COMPRESSIONS) -> tuple[pd.DataFrame, dict]:
    """The cells table of lamp, the baselines and the matched controls, and the report's args."""
    cells = make_cells(seeds, compressions)
    for name, (top1s, speedups) in MATCHED_CURVES.items():
        for target, top1, speedup in zip(COMPRESSIONS, top1s, speedups, strict=True):
            if target in compressions:
                for seed in seeds:
                    noise = 0.2 * (seed - 0.5) * (1 + (-1) ** seed * COMPRESSIONS.index(target))
                    cells.append(make_cell(name, target, seed, (top1 + noise) / 100, speedup))
    table = cells_table(cells)
    matched = list(MATCHED_CURVES)
    references = {name: table[table["strategy"] == name] for name in [*BASELINES, *matched]}
    comparisons = compare(
        table[table["strategy"] == "lamp"],
        references,
        CONTROL["top1"],
        family_names={name: "matched" for name in matched},
    )
    allocation = {
        "matched_mag": next(
            c
            for c in compare(
                references["matched_mag"], {"global_mag": references["global_mag"]}, None
            )
            if c.point == "auc"
        )
    }
    setup = dataclasses.replace(SETUP, seeds=list(seeds))
    arguments = dict(
        methods=Methods("lamp", BASELINES, matched, PROPERTIES),
        comparisons=comparisons,
        allocation=allocation,
        figures=FIGURES,
    )
    return table, {"setup": setup, **arguments}


def render(table: pd.DataFrame, arguments: dict) -> str:
    return render_report(table, grouped_table(table), CONTROL, **arguments)


def test_the_report_leads_with_the_answer():
    table, arguments = full_run()
    report = render(table, arguments)
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Answer", "## Setup", "## Results", "## Measured speed", "## Figures",
        "## Metric disagreement", "## Checklist (Blalock et al. 2020, Appendix B)",
    ]  # fmt: skip
    answer = report.split("## Answer")[1].split("## Setup")[0]
    # One line per baseline, in the params' order, each with a verdict and an interval.
    lines = [line for line in answer.splitlines() if line.startswith("- `lamp` is **")]
    assert [line.split("`")[3] for line in lines] == BASELINES
    assert all("95% CI" in line and "across the curve" in line for line in lines)
    random_line = lines[BASELINES.index("random")]
    assert "**better** than `random` across the curve" in random_line
    assert "At single compressions: better at 2×, 4×, 8×, 16×, 32× (largest +" in random_line
    assert (
        "(baselines at single compressions: 15; baselines across the curve: 3; matched controls "
        "at single compressions: 10; matched controls across the curve: 2; the control: 6; "
        "the allocation alone: 1)"
    ) in answer
    assert "- **better** than `matched_random` across the curve: +" in answer
    assert "which weights it keeps within a layer matters" in answer
    assert "- Its allocation, with the choice within a layer held fixed: `matched_mag` is" in answer
    assert "**Against the unpruned control** (top-1 90.12%)" in answer


def test_an_undecided_verdict_says_what_would_decide_it():
    from prunebench.reporting.power import what_would_decide

    table, arguments = full_run()
    report = render(table, arguments)
    curve = next(
        c for c in arguments["comparisons"] if c.reference == "global_mag" and c.point == "auc"
    )
    estimate = what_would_decide(curve)  # its numbers are checked by hand in test_power
    line = next(line for line in report.splitlines() if "from `global_mag` across" in line)
    assert line.endswith(
        f"What would decide it across the curve: 3 seeds detect {100 * estimate.detectable:.2f} "
        f"points or more (80% power at 0.05/3 = 0.017); about {estimate.seeds} seeds would "
        f"decide {100 * curve.delta:+.2f} points."
    )
    assert "**better** than `random` across the curve" in report  # decided: nothing to add
    assert "at the family's corrected level α/m (Holm's first step" in report
    row = next(line for line in report.splitlines() if line.startswith("| global_mag | across"))
    assert row.endswith(f"| {100 * estimate.detectable:.2f} | {estimate.seeds} |")
    decided = next(line for line in report.splitlines() if line.startswith("| random | across"))
    assert decided.endswith("| — | — |")

    one_seed = render(*full_run(seeds=(0,), compressions=[2, 4, 8]))
    assert "across the curve: more seeds; how many cannot be estimated, since one seed" in one_seed


def test_the_report_shows_every_seed_and_every_comparison():
    table, arguments = full_run()
    report = render(table, arguments)
    assert "| method | target | seed 0 | seed 1 | seed 2 |" in report
    lamp_32 = table[(table["strategy"] == "lamp") & (table["target_compression"] == 32)]
    row = "| **lamp** (evaluated) | 32 | " + " | ".join(
        f"{100 * value:.2f}" for value in lamp_32.sort_values("seed")["top1"]
    )
    assert row in report
    assert "| matched_mag (lamp's layer sizes) |" in report
    section = report.split("### Every comparison")[1].split("## Figures")[0]
    comparison_rows = [line for line in section.splitlines() if line.startswith("| random | ")]
    assert len(comparison_rows) == len(COMPRESSIONS) + 1  # every target and the curve
    assert "band: 95% confidence interval of the mean (Student t)" in report
    assert "![Top-1 accuracy vs. compression](plots/accuracy_vs_compression.png)" in report
    assert "global_mag beats layer_mag" in report


def test_the_report_says_how_much_of_the_spread_each_source_explains():
    table, arguments = full_run()
    section = render(table, arguments).split("### What explains the spread")[1]
    section = section.split("\n## ")[0]
    assert "`top1 ~ method + initial model + seed + method × initial model`" in section
    rows = [line for line in section.splitlines() if line.startswith(("| 2× |", "| 32× |"))]
    assert len(rows) == 2
    # One initial model: its share and the interaction's are not in the model.
    assert all(row.split(" | ")[2] == "—" and row.split(" | ")[4] == "—" for row in rows)


def test_the_report_ends_with_the_whole_checklist():
    table, arguments = full_run()
    checklist_part = render(table, arguments).split("## Checklist")[1]
    assert checklist_part.count("\n- [") + checklist_part.count("\n  - [") == 21
    assert "- [ ] Several runs per point, each from its own initialisation" in checklist_part
    assert "  - [x] Random pruning with the evaluated method's own per-layer" in checklist_part
    assert "LeNet-5-Caffe" in checklist_part


def test_the_report_follows_the_data_with_few_seeds_and_points():
    table, arguments = full_run(seeds=(0,), compressions=[2, 4, 8])
    report = render(table, arguments)
    assert "- [ ] Several runs per point" in report
    assert "± n/a" in report and "n/a to n/a" in report
    assert "no detectable difference at any of them (largest" in report


# --- What each method is: read from its declared properties -------------------------------------


def test_the_report_setup_is_the_dict_the_report_and_figures_read():
    data = SETUP.to_json()
    keys = "benchmark dataset model pretrained finetune augmentation seeds compressions"
    assert list(data) == [*keys.split(), "equal_budget", "environment"]
    assert data["pretrained"] == {"source": "trained in the pipeline", "top1": 0.9012}
    assert ReportSetup.from_json(data) == SETUP
    del data["seeds"]
    with pytest.raises(PrunebenchError, match="report setup lacks the field 'seeds'"):
        ReportSetup.from_json(data)


def test_the_setup_section_states_the_grid_and_the_budget_rule():
    table, arguments = full_run()
    setup = render(table, arguments).split("## Setup")[1].split("## Results")[0]
    assert "- Pretrained model: trained in the pipeline (top-1 90.12%)" in setup
    assert "- Seeds: 0, 1, 2 (n = 3); target compressions: 2, 4, 8, 16, 32" in setup
    assert "- Training budget: not equalised (`equal_budget` false)" in setup
    assert "- Environment: prunebench 0.1.0, torch 2.5.1, device cpu" in setup


def test_allocation_pairs_come_from_the_declared_properties():
    methods = Methods("lamp", BASELINES, ["matched_random", "matched_mag"], PROPERTIES)
    assert allocation_pairs(methods) == [
        ("matched_random", "random"),
        ("matched_mag", "global_mag"),
    ]
    # Only a global, unstructured, one-shot baseline of the control's score qualifies: the
    # iterative, gradual, layerwise and channel ones differ in more than the allocation.
    others = Methods("lamp", ["imp", "gmp", "layer_mag", "global_channel_l1", "random"],
                     ["matched_random", "matched_mag"], PROPERTIES)  # fmt: skip
    assert allocation_pairs(others) == [("matched_random", "random")]
    assert allocation_pairs(dataclasses.replace(methods, matched=())) == []


def test_allocation_pairs_with_external_method_names():
    external = {
        "mylab.taylor:strategy": parts("taylor", "layerwise"),
        "mylab.mag:global_v2": parts("magnitude"),
        "mylab.taylor:global": parts("taylor"),
        "mylab.matched:taylor": parts("taylor", "matched"),
    }
    methods = Methods(
        "mylab.taylor:strategy",
        ["random", "mylab.mag:global_v2", "mylab.taylor:global", "global_mag"],
        ["matched_random", "matched_mag", "mylab.matched:taylor"],
        PROPERTIES | external,
    )
    # The first qualifying baseline in the params' order, whatever its name.
    assert allocation_pairs(methods) == [
        ("matched_random", "random"),
        ("matched_mag", "mylab.mag:global_v2"),
        ("mylab.matched:taylor", "mylab.taylor:global"),
    ]


def test_methods_from_the_aggregate_config_need_every_method_declared():
    config = {
        "strategy": "mylab.taylor:strategy",
        "baselines": ["random", "lamp"],
        "matched_controls": ["matched_random"],
        "methods": PROPERTIES | {"mylab.taylor:strategy": parts("taylor")},
    }
    methods = Methods.from_config(config)
    assert methods.all == ["mylab.taylor:strategy", "random", "lamp", "matched_random"]
    assert methods.part("lamp", "score") == "lamp"
    undeclared = {**config, "methods": {**PROPERTIES}}
    with pytest.raises(PrunebenchError, match="method 'mylab.taylor:strategy'"):
        Methods.from_config(undeclared)
    incomplete = {**config, "methods": {**config["methods"], "random": {"score": "random"}}}
    with pytest.raises(PrunebenchError, match="no allocation, structure, schedule for .*'random'"):
        Methods.from_config(incomplete)


def test_an_external_method_name_is_a_plain_key_and_label():
    name = "mylab.taylor:strategy"
    cells = [
        {**cell, "strategy": name} if cell["strategy"] == "lamp" else cell for cell in make_cells()
    ]
    grouped = grouped_table(cells_table(cells))
    methods = Methods(name, [*BASELINES, name], (), PROPERTIES | {name: parts("taylor")})
    details = details_metrics(grouped, CONTROL, methods)
    json.dumps(details, allow_nan=False)
    assert list(details["strategy"]) == ["c2", "c4", "c8", "c16", "c32"]
    assert set(details["baselines"]) == {*BASELINES, name}
    # `dvc metrics diff` joins the nesting with dots: every joined key is still unique.
    flat = [
        f"{section}.{method}.{point}.{field}"
        for section in ("baselines",)
        for method, points in details[section].items()
        for point, values in points.items()
        for field in values
    ]
    assert len(flat) == len(set(flat))
    assert f"baselines.{name}.c2.top1_mean" in flat


# --- Training budget ------------------------------------------------------------------------------


def budget_run(lamp_steps: int, schedule="iterative", **setup) -> tuple[pd.DataFrame, str]:
    """The full run with lamp's cells at ``lamp_steps`` optimizer steps (the others at 160).

    lamp is declared with ``schedule`` (iterative: as if run in rounds, as ``imp`` is).
    """
    table, arguments = full_run()
    table = table.copy()
    table.loc[table["strategy"] == "lamp", "budget_steps"] = lamp_steps
    arguments["setup"] = dataclasses.replace(arguments["setup"], **setup)
    lamp = parts("lamp", schedule=schedule)
    arguments["methods"] = dataclasses.replace(
        arguments["methods"], properties=PROPERTIES | {"lamp": lamp}
    )
    return table, render(table, arguments)


def test_steps_difference_flags_more_than_ten_percent_only():
    table, _ = full_run()
    table = table.copy()
    # Against 160 steps: 176 and 144 are exactly 10% away, 177 and 143 just more.
    cases = [(480, 2.0, True), (176, 0.10, False), (177, 0.10625, True), (144, -0.10, False),
             (143, -0.10625, True), (160, 0, False)]  # fmt: skip
    for steps, expected, flagged in cases:
        table.loc[table["strategy"] == "lamp", "budget_steps"] = steps
        relative = steps_difference(table, "lamp", "global_mag")
        assert relative == pytest.approx(expected)
        assert differs(relative) is flagged
        assert steps_difference(table, "lamp", "global_mag", target=8) == pytest.approx(expected)
    assert budget_note(2.0) == "differs (+200%)"
    assert budget_note(0.1) == "+10%"
    assert budget_note(None) == "n/a" and not differs(None)


def test_a_budget_difference_is_flagged_on_every_comparison_with_the_remedy():
    table, report = budget_run(480)
    section = report.split("### Every comparison")[1].split("## Figures")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    for row in rows:
        budget = row.split(" | ")[8]  # the budget column, before what would decide it
        assert budget == ("—" if row.startswith("| control |") else "differs (+200%)"), row
    answer = report.split("## Answer")[1].split("## Setup")[0]
    assert answer.count("†") == len(BASELINES) + 2 + 1  # each baseline, each control, the note
    assert "**Unequal training budgets.**" in answer
    assert "`global_mag` (+200%), `layer_mag` (+200%)" in answer
    assert "run `dvc exp run -S equal_budget=true`." in answer
    budget = report.split("### Training budget")[1].split("### Every seed")[0]
    assert "| **lamp** (evaluated) | iterative | 1 | 2 | 480 | 15 of 15 |" in budget
    assert "| global_mag | one-shot | 1 | 2 | 160 | 15 of 15 |" in budget


def test_a_budget_within_ten_percent_is_not_flagged():
    _, report = budget_run(176)
    section = report.split("### Every comparison")[1].split("## Figures")[0]
    assert "differs" not in section and "| +10% |" in section
    answer = report.split("## Answer")[1].split("## Setup")[0]
    assert "†" not in report and "equal_budget=true" not in answer


def test_with_equal_budget_already_on_the_report_says_so():
    _, report = budget_run(480, equal_budget=True)
    assert "equal_budget=true" not in report
    assert "already finetunes one-shot methods for as many rounds" in report
    assert "- Training budget: equalised (`equal_budget` true)" in report
    _, report = budget_run(160, equal_budget=False)
    assert "- Training budget: not equalised (`equal_budget` false)" in report


def test_between_one_shot_methods_the_budget_gap_is_early_stoppings():
    _, report = budget_run(80, schedule="one_shot")
    assert "| differs (-50%) |" in report
    answer = report.split("## Answer")[1].split("## Setup")[0]
    assert "the gap comes from early stopping" in answer and "equal_budget=true" not in answer


def test_budget_table_per_method():
    table, _ = full_run()
    table = table.copy()
    imp = table["strategy"] == "lamp"
    table.loc[imp, ["budget_epochs", "budget_steps", "budget_rounds"]] = [6, 480, 3]
    table.loc[imp & (table["seed"] == 0), "budget_steps"] = 450  # early stopping, one seed
    methods = Methods(
        "lamp", BASELINES, (), PROPERTIES | {"lamp": parts("lamp", schedule="iterative")}
    )
    budgets = budget_table(table, ["lamp", "random"], methods).set_index("method")
    assert budgets.loc["lamp", "schedule"] == "iterative"
    assert budgets.loc["lamp", "steps"] == pytest.approx((450 + 2 * 480) / 3)
    assert (budgets.loc["lamp", "rounds"], budgets.loc["random", "rounds"]) == (3, 1)
    assert budgets.loc["random", "cells_with_budget"] == len(COMPRESSIONS) * 3


def test_records_without_a_budget_are_unknown_not_an_error():
    old = [{key: value for key, value in cell.items() if key != "budget"} for cell in make_cells()]
    table = cells_table(old)
    assert table[["budget_epochs", "budget_steps", "budget_rounds"]].isna().all().all()
    grouped = grouped_table(table)
    assert grouped["budget_steps"].isna().all()
    details = details_metrics(grouped, CONTROL, METHODS)
    json.dumps(details, allow_nan=False)
    assert "budget_steps" not in details["strategy"]["c2"]
    assert steps_difference(table, "lamp", "random") is None
    # A mixture: the cells with a budget count, the others are left out of the means.
    mixed = cells_table(old[:10] + make_cells()[10:])
    assert mixed["budget_steps"].notna().sum() == len(mixed) - 10
    # The report renders, says the budget is unknown and flags nothing.
    full, arguments = full_run()
    full = full.copy()
    full[["budget_epochs", "budget_steps", "budget_rounds"]] = np.nan
    report = render(full, arguments)
    assert "No cell records its training budget" in report
    assert "| **lamp** (evaluated) | one-shot | n/a | n/a | n/a | 0 of 15 |" in report
    section = report.split("### Every comparison")[1].split("## Figures")[0]
    assert "| n/a |" in section and "differs" not in section and "†" not in report


# --- The aggregate step, on cells written to disk ------------------------------------------------


def test_the_aggregate_step_reads_properties_and_budgets(tmp_path):
    from prunebench.stages.aggregate import aggregate

    config, paths = write_run(tmp_path)
    name, results = EXTERNAL, paths["results"]

    aggregate(config, **paths)

    headline = json.loads((results / "summary.json").read_text())
    assert set(headline) == {"curve", "top1", "vs"}
    assert set(headline["vs"]) == {*BASELINES, "matched_random", "matched_mag", "control"}
    assert json.loads((results / "speed.json").read_text()) == {}  # no timings in this run
    details = json.loads((results / "details.json").read_text())
    assert details["strategy"]["c8"]["budget_steps"] == 480
    assert details["baselines"]["global_mag"]["c8"]["budget_steps"] == 160
    assert {"matched_random", "matched_mag", "random", "control"} <= set(details["verdicts"])
    cells_csv = pd.read_csv(results / "cells.csv")
    assert {"budget_epochs", "budget_steps", "budget_rounds"} <= set(cells_csv.columns)
    assert not cells_csv["budget_steps"].isna().any()  # every cell recorded its budget
    assert {"budget_epochs", "budget_steps"} <= set(pd.read_csv(results / "aggregate.csv"))
    report = (results / "report.md").read_text()
    assert f"# Pruning benchmark: `{name}`" in report
    # Both allocation pairs, found from the properties alone.
    assert "`matched_random` is **" in report and "`matched_mag` is **" in report
    assert report.count("- Its allocation, with the choice within a layer held fixed") == 2
    assert "| differs (+200%) |" in report and "`dvc exp run -S equal_budget=true`" in report
    assert f"| **{name}** (evaluated) | iterative | 3 | 6 | 480 | 9 of 9 |" in report
    assert "| random | one-shot | 1 | 2 | 160 | 9 of 9 |" in report
    assert "- Training budget: not equalised (`equal_budget` false)" in report
    assert (results / "figures/top1_vs_compression.png").stat().st_size > 10_000
    # No results/latency: the speed outputs are absent and the report says why.
    assert "No timings exist for this run (no `latency` folder beside its cells)" in report
    assert not (results / "latency.csv").exists()
    assert not (results / "figures/measured_vs_theoretical_speedup.png").exists()


def test_the_aggregate_step_refuses_undeclared_methods(tmp_path):
    from prunebench.stages.aggregate import aggregate

    config, _ = write_run(tmp_path)
    config = dataclasses.replace(
        config,
        strategy="lamp",
        baselines=["random"],
        matched_controls=[],
        methods={"lamp": config.methods["lamp"]},
    )
    with pytest.raises(PrunebenchError, match="for method 'random'"):
        aggregate(config, results=tmp_path, source=tmp_path / "s", data=tmp_path / "d")
