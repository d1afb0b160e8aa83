"""Tables and summary metrics built from the per-cell result files.

The cell files (one per strategy, target compression and seed; schema in ``docs/design.md``) are
the only input. Everything here is a pure function of them, so the aggregate stage can be re-run
from cached cells at no cost and two experiments' outputs differ only where their cells differ.

Accuracies stay fractions in [0, 1] in every table and in the summary (as in the cell files);
figures and the Markdown report show percentages.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.cells import compression_label
from prunebench.reporting.methods import Methods

KEYS = ["strategy", "target_compression", "seed"]
REQUIRED = [*KEYS, "top1", "top5", "loss", "compression", "effective_compression", "speedup"]
ACCURACY_METRICS = ["top1", "top5", "loss"]
COST_METRICS = ["compression", "effective_compression", "speedup"]
# A cell's training budget (its record's ``budget``): finetuning epochs and optimizer steps it
# actually used, early stopping included and every round summed, and its number of rounds.
BUDGET_FIELDS = ["epochs", "steps", "rounds"]
BUDGET_METRICS = [f"budget_{field}" for field in BUDGET_FIELDS]
DIGITS = 6


def compression_key(target: float) -> str:
    """``2 -> "c2"``, ``2.5 -> "c2.5"``: the summary's key for one target compression.

    The same compact label names the cell files, so a key in ``summary.json`` reads like the file
    it came from.
    """
    return f"c{compression_label(float(target))}"


def cells_table(cells: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One flat row per cell, sorted by strategy, target compression and seed.

    Nested dicts are dropped (provenance is per-file detail, not a result) except ``finetune``,
    whose scalar fields become ``finetune_<field>`` columns because how long a cell trained
    explains its accuracy (its per-epoch ``history`` goes to :func:`curves_data` instead), and
    ``budget``, which becomes ``budget_epochs``, ``budget_steps`` and ``budget_rounds``: those
    columns are always there, NaN for a record without a budget (written before budgets were
    recorded), so that every later table can rely on them. A duplicated (strategy, target,
    seed) would silently bias the mean, so it is refused.
    """
    if not cells:
        raise PrunebenchError("no result cells to aggregate")
    rows = []
    for cell in cells:
        missing = [key for key in REQUIRED if key not in cell]
        if missing:
            raise PrunebenchError(f"result cell {_cell_name(cell)} lacks {', '.join(missing)}")
        row = {key: value for key, value in cell.items() if not isinstance(value, Mapping)}
        for field, value in cell.get("finetune", {}).items():
            if not isinstance(value, list):
                row[f"finetune_{field}"] = value
        budget = cell.get("budget")
        for field in BUDGET_FIELDS:
            row[f"budget_{field}"] = budget.get(field) if isinstance(budget, Mapping) else None
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in BUDGET_METRICS:
        # A column of None alone would be of object dtype, whose mean pandas refuses.
        table[column] = pd.to_numeric(table[column]).astype(float)
    duplicated = table.duplicated(KEYS, keep=False)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise PrunebenchError(f"result cell {_cell_name(first)} appears more than once")
    return table.sort_values(KEYS, kind="stable", ignore_index=True)


def grouped_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds per (strategy, target compression).

    The std uses ``ddof=1`` (the sample std the paper asks for) and is NaN for a single seed:
    a spread cannot be estimated from one run, and 0 would claim a precision we do not have.
    Achieved compression and speedup are means too (identical across seeds for deterministic
    allocations, but a seeded strategy such as ``random`` may differ by a weight), and so are the
    training budget's epochs, optimizer steps and rounds (early stopping varies with the seed);
    NaN where no cell of the point records a budget.
    """
    groups = table.groupby(["strategy", "target_compression"], sort=True)
    columns: dict[str, pd.Series] = {"n_seeds": groups["seed"].count()}
    for metric in ACCURACY_METRICS:
        columns[f"{metric}_mean"] = groups[metric].mean()
        columns[f"{metric}_std"] = groups[metric].std(ddof=1)
    for metric in [*COST_METRICS, *BUDGET_METRICS]:
        # The cells table always has the budget columns; a frame built by hand may not.
        if metric in table.columns:
            columns[metric] = groups[metric].mean()
    return pd.DataFrame(columns).reset_index()


def summary_metrics(
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    methods: Methods,
    verdicts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The nested numbers ``dvc metrics show/diff`` read from ``results/summary.json``.

    The method under evaluation sits under the fixed key ``"strategy"`` rather than its name, so
    ``dvc metrics diff`` between two experiments lines it up point by point. ``"baselines"`` lists
    every baseline, the evaluated one included, so that section is identical across experiments
    and a diff shows only what changed. ``top1_minus_best_baseline`` compares with the best
    *other* baseline at the same target. ``"matched"`` holds the method's matched controls, and
    ``"verdicts"`` (given by the caller, from ``statistics.verdict_metrics``) the paired
    comparisons. Each point carries ``budget_steps``, the mean optimizer steps of its cells, so a
    diff shows a method that trained longer. NaN (a single seed's std, a point whose cells record
    no budget) is left out: JSON has no NaN.

    Methods are keys under their own names, external ones (``mylab.taylor:strategy``) included:
    ``dvc metrics diff`` joins the nesting with dots (``baselines.mylab.taylor:strategy.c2...``)
    and never splits a key again, and the registry's names have no colon, so no two methods'
    keys can run together.
    """
    strategy, baselines, matched = methods.strategy, methods.baselines, methods.matched
    others = [name for name in baselines if name != strategy]
    rows = select_methods(grouped, methods.evaluated_and_baselines)
    best_other = rows[rows["strategy"].isin(others)].groupby("target_compression")["top1_mean"]
    best_other = best_other.max()

    evaluated = {}
    for _, row in rows[rows["strategy"] == strategy].iterrows():
        point = _point(row)
        best = best_other.get(row["target_compression"])
        if best is not None:
            point["top1_minus_best_baseline"] = _number(row["top1_mean"] - best)
        evaluated[compression_key(row["target_compression"])] = point

    def points(names: Sequence[str]) -> dict[str, dict]:
        chosen = select_methods(grouped, names)
        return {
            name: {
                compression_key(row["target_compression"]): _point(row)
                for _, row in chosen[chosen["strategy"] == name].iterrows()
            }
            for name in names
        }

    summary = {
        "control": _numbers({metric: control.get(metric) for metric in ACCURACY_METRICS}),
        "strategy": evaluated,
        "baselines": points(baselines),
    }
    if matched:
        summary["matched"] = points(matched)
    if verdicts is not None:
        summary["verdicts"] = dict(verdicts)
    return summary


def select_methods(grouped: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """The rows of ``methods``, in that order, then by target compression.

    A method without any result is an error rather than a gap: a report or figure that silently
    lacks a baseline would read as a complete comparison.
    """
    available = sorted(grouped["strategy"].unique())
    for method in methods:
        if method not in available:
            have = ", ".join(available)
            raise PrunebenchError(f"no results for method {method!r} (have: {have})")
    order = {method: rank for rank, method in enumerate(methods)}
    rows = grouped[grouped["strategy"].isin(order)]
    ranked = rows.assign(_rank=rows["strategy"].map(order))
    return ranked.sort_values(["_rank", "target_compression"]).drop(columns="_rank")


def _point(row: pd.Series) -> dict[str, float | int]:
    point = {
        "n_seeds": int(row["n_seeds"]),
        "top1_mean": row["top1_mean"],
        "top1_std": row["top1_std"],
        "top5_mean": row["top5_mean"],
        "compression": row["compression"],
        "speedup": row["speedup"],
        "budget_steps": row.get("budget_steps"),
    }
    return _numbers(point)


def _numbers(values: Mapping[str, Any]) -> dict[str, float | int]:
    """Keep finite numbers only (rounded), so the summary is valid JSON that DVC can diff."""
    kept: dict[str, float | int] = {}
    for key, value in values.items():
        number = _number(value)
        if number is not None:
            kept[key] = number
    return kept


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return round(value, DIGITS) if math.isfinite(value) else None


def finite(value: Any) -> bool:
    """A real, finite number (not a bool, not None, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def percent(value: Any, suffix: str = "%") -> str:
    """A fraction as ``"88.07%"``; ``"n/a"`` where there is no finite number."""
    return f"{100 * float(value):.2f}{suffix}" if finite(value) else "n/a"


def recipe_text(recipe: Mapping[str, Any], missing: str = "n/a") -> str:
    """A recipe as ``"optimizer adam, learning_rate 0.0003, ..."``."""
    return ", ".join(f"{key} {value}" for key, value in recipe.items()) or missing


def _cell_name(cell: Mapping[str, Any]) -> str:
    return "/".join(str(cell.get(key, "?")) for key in KEYS)
