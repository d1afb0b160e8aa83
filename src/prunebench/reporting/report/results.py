"""The report's Results tables: mean ± std per point, every seed, every comparison.

Rows come in the run's order of methods (:attr:`Methods.all`: evaluated, baselines, matched
controls); accuracies are in percent, differences in percentage points.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.reporting.budget import BUDGET_TOLERANCE, budget_note
from prunebench.reporting.methods import Methods
from prunebench.reporting.power import what_would_decide
from prunebench.reporting.report.formatting import (
    DECIDING,
    INTERVAL,
    detectable_text,
    mean_std,
    method_label,
    p_text,
    points_text,
    seeds_text,
)
from prunebench.reporting.report.off_target import MARK, off_target
from prunebench.reporting.report.training_budget import Budgets
from prunebench.reporting.statistics import AUC, CONTROL, Comparison
from prunebench.reporting.tables import percent


def point_lines(rows: pd.DataFrame, methods: Methods, control: Mapping[str, Any]) -> list[str]:
    """Mean ± std over seeds: top-1 by target compression, then every operating point."""
    return [
        "Top-1 accuracy (%), mean ± sample std over seeds, by target compression:",
        "",
        *_wide_table(rows, methods),
        "",
        "Every operating point (accuracy in %; compression and speedup achieved, as means):",
        "",
        *_long_table(rows, methods, control),
    ]


def seed_lines(cells: pd.DataFrame, methods: Methods) -> list[str]:
    """The *Every seed* subsection: top-1 of every cell, a column per seed."""
    return [
        "Top-1 (%) of each cell (also in `results/cells.csv`); a seed fixes the scoring "
        "minibatches and the finetuning data order of every method alike, so a column is a set "
        "of paired runs:",
        "",
        *_seed_table(cells, methods),
    ]


def comparison_lines(
    strategy: str, comparisons: Sequence[Comparison], budgets: Budgets
) -> list[str]:
    """The *Every comparison* subsection: what its columns are, then one row per comparison."""
    return [
        f"`{strategy}` minus the reference, top-1 in percentage points; {INTERVAL}; p: two-sided "
        "paired t; Holm: adjusted within its family (also in `results/details.json`, "
        f"`verdicts`); budget: `{strategy}`'s mean optimizer steps per cell relative to the "
        f"reference's, flagged where they differ by more than {BUDGET_TOLERANCE:.0%}. For an "
        f"undecided comparison, *detectable* (points) and *seeds to decide* give {DECIDING}; "
        "n/a where the differences have no spread, ∞ where no number of seeds would decide a "
        "difference of zero:",
        "",
        *_comparison_table(comparisons, budgets),
    ]


def _wide_table(rows: pd.DataFrame, methods: Methods) -> list[str]:
    """Top-1 mean ± std, one row per method, one column per target compression."""
    targets = sorted(rows["target_compression"].unique())
    lines = [
        "| method | " + " | ".join(f"{value:g}×" for value in targets) + " |",
        "| --- |" + " ---: |" * len(targets),
    ]
    for method in methods.all:
        points = rows[rows["strategy"] == method].set_index("target_compression")
        cells = [
            mean_std(points.at[value, "top1_mean"], points.at[value, "top1_std"])
            if value in points.index
            else "—"
            for value in targets
        ]
        lines.append(f"| {method_label(method, methods)} | " + " | ".join(cells) + " |")
    return lines


def _long_table(rows: pd.DataFrame, methods: Methods, control: Mapping[str, Any]) -> list[str]:
    """Every operating point, the control first: achieved compression and speedup, top-1, top-5."""
    lines = [
        "| method | target | compression | speedup | top-1 | top-5 | runs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| control (unpruned) | 1 | 1.00 | 1.00 | {percent(control.get('top1'), '')} | "
        f"{percent(control.get('top5'), '')} | — |",
    ]
    for method in methods.all:
        for _, point in rows[rows["strategy"] == method].iterrows():
            lines.append(
                f"| {method_label(method, methods)} | {point['target_compression']:g} | "
                f"{point['compression']:.2f} | {point['speedup']:.2f} | "
                f"{mean_std(point['top1_mean'], point['top1_std'])} | "
                f"{mean_std(point['top5_mean'], point['top5_std'])} | {point['n_runs']} |"
            )
    return lines


def _seed_table(cells: pd.DataFrame, methods: Methods) -> list[str]:
    """Top-1 of every cell: one row per method and target (and initial model, in a run of
    several), one column per seed."""
    seeds = sorted(cells["seed"].unique())
    several = "initial_model" in cells.columns
    lines = [
        "| method | target | "
        + ("initial model | " if several else "")
        + " | ".join(f"seed {seed}" for seed in seeds)
        + " |",
        "| --- | ---: |" + (" ---: |" if several else "") + " ---: |" * len(seeds),
    ]
    keys = ["target_compression", "initial_model"] if several else "target_compression"
    for method in methods.all:
        mine = cells[cells["strategy"] == method]
        for key, rows in mine.groupby(keys, sort=True):
            target = key[0] if several else key
            by_seed = dict(zip(rows["seed"], rows["top1"], strict=True))
            missed = set(rows["seed"][off_target(rows)])
            values = [
                percent(by_seed[seed], "") + (MARK if seed in missed else "")
                if seed in by_seed
                else "—"
                for seed in seeds
            ]
            lines.append(
                f"| {method_label(method, methods)} | {target:g} | "
                + (f"{key[1]} | " if several else "")
                + " | ".join(values)
                + " |"
            )
    return lines


def _comparison_table(comparisons: Sequence[Comparison], budgets: Budgets) -> list[str]:
    """Every comparison: its reference, point, pairs, difference, interval, p-values, budget,
    and for an undecided one what would decide it."""
    lines = [
        "| reference | point | n | Δ top-1 | 95% CI | p | Holm p | verdict | budget | detectable "
        "| seeds to decide |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for c in comparisons:
        point = "across the curve" if c.point == AUC else f"{c.target_compression:g}×"
        # The control is the unpruned model itself: it was not finetuned, there is no budget.
        budget = "—" if c.reference == CONTROL else budget_note(budgets.get((c.reference, c.point)))
        estimate = what_would_decide(c)
        lines.append(
            f"| {c.reference} | {point} | {c.n_pairs} | {points_text(c.delta)} | "
            f"{points_text(c.ci_low)} to {points_text(c.ci_high)} | {p_text(c.p_value)} | "
            f"{p_text(c.p_holm)} | {c.verdict} | {budget} | {detectable_text(estimate)} | "
            f"{seeds_text(estimate)} |"
        )
    return lines
