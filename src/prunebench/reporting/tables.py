"""Tables built from the per-cell result files.

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

KEYS = ["strategy", "target_compression", "seed"]
REQUIRED = [*KEYS, "top1", "top5", "loss", "compression", "effective_compression", "speedup"]
ACCURACY_METRICS = ["top1", "top5", "loss"]
COST_METRICS = ["compression", "effective_compression", "speedup"]
# A cell's training budget (its record's ``budget``): finetuning epochs and optimizer steps it
# actually used, early stopping included and every round summed, and its number of rounds.
BUDGET_FIELDS = ["epochs", "steps", "rounds"]
BUDGET_METRICS = [f"budget_{field}" for field in BUDGET_FIELDS]


def compression_key(target: float) -> str:
    """``2 -> "c2"``, ``2.5 -> "c2.5"``: the summary's key for one target compression.

    The same compact label names the cell files, so a key in the metrics files reads like the
    file it came from.
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
    # With several initial models a cell is also named by its initial model (cells of initial
    # model 0 carry none in their records: their files predate the factor).
    keys = KEYS
    if "initial_model" in table.columns:
        table["initial_model"] = table["initial_model"].fillna(0).astype(int)
        columns = [column for column in table.columns if column != "initial_model"]
        at = columns.index("seed")
        table = table[[*columns[:at], "initial_model", *columns[at:]]]
        keys = [*KEYS[:2], "initial_model", KEYS[2]]
    duplicated = table.duplicated(keys, keep=False)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise PrunebenchError(f"result cell {_cell_name(first)} appears more than once")
    return table.sort_values(keys, kind="stable", ignore_index=True)


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
    columns: dict[str, pd.Series] = {"n_runs": groups["seed"].count()}
    for metric in ACCURACY_METRICS:
        columns[f"{metric}_mean"] = groups[metric].mean()
        columns[f"{metric}_std"] = groups[metric].std(ddof=1)
    for metric in [*COST_METRICS, *BUDGET_METRICS]:
        # The cells table always has the budget columns; a frame built by hand may not.
        if metric in table.columns:
            columns[metric] = groups[metric].mean()
    return pd.DataFrame(columns).reset_index()


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
