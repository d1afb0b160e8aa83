"""Training budgets: what each method's cells spent on finetuning, and where a comparison is uneven.

An iterative method (``imp``) finetunes between its rounds, so by default it trains several times
as long as a one-shot method finetuned once with the same recipe; a gradual one (``gmp``) trains
while it prunes. Part of its accuracy can then come from the longer training rather than from
its pruning. Each cell records what it actually used (``budget``: finetuning epochs and optimizer
steps, early stopping included and every round summed, and the number of rounds); here they are
averaged per method, and a comparison whose two methods differ by more than
:data:`BUDGET_TOLERANCE` in mean optimizer steps per cell is flagged. ``equal_budget`` (a param)
finetunes one-shot methods for as many rounds of the recipe as the run's iterative method.

Cells whose records carry no budget (written before budgets were recorded) count as unknown: a
flag is never raised, nor cleared, on missing numbers.
"""

import math
from collections.abc import Sequence

import pandas as pd

from prunebench.reporting.methods import Methods

# Steps are a fairer measure of training than epochs: an epoch's length differs between recipes
# (steps_per_epoch) and early stopping ends a cell mid-way through its schedule.
BUDGET_TOLERANCE = 0.10
EQUALISE = "dvc exp run -S equal_budget=true"


def budget_table(cells: pd.DataFrame, methods: Sequence[str], run: Methods) -> pd.DataFrame:
    """Per method of ``methods``: schedule, mean rounds, epochs and optimizer steps per cell.

    ``cells`` is the cells table (:func:`~prunebench.reporting.tables.cells_table`); means are
    over every cell of the method that records a budget (NaN if none does); ``cells_with_budget``
    counts those cells. The schedule is the method's declared one (None if ``run`` declares
    none).
    """
    rows = []
    for method in methods:
        mine = cells[cells["strategy"] == method]
        known = mine[mine["budget_steps"].notna()] if "budget_steps" in mine else mine.iloc[:0]
        rows.append(
            {
                "method": method,
                "schedule": run.part(method, "schedule"),
                "cells": len(mine),
                "cells_with_budget": len(known),
                "rounds": _mean(known, "budget_rounds"),
                "epochs": _mean(known, "budget_epochs"),
                "steps": _mean(known, "budget_steps"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["method", "schedule", "cells", "cells_with_budget", "rounds", "epochs", "steps"],
    )


def steps_difference(
    cells: pd.DataFrame, method: str, reference: str, target: float | None = None
) -> float | None:
    """``method``'s mean optimizer steps per cell relative to ``reference``'s, minus one.

    ``+2.0`` means three times as many steps. With ``target`` only the cells at that target
    compression count; without it, every cell of each method. None where either method has no
    cell with a budget there (or the reference used no step at all): nothing to judge.
    """
    mine, theirs = _steps(cells, method, target), _steps(cells, reference, target)
    if mine is None or theirs is None or theirs <= 0:
        return None
    return mine / theirs - 1.0


def differs(relative: float | None) -> bool:
    """True where a relative step difference is known and larger than the tolerance."""
    # Rounded first: 176 steps against 160 is exactly 10%, but 176 / 160 - 1 is 0.1000...09.
    return relative is not None and abs(round(relative, 9)) > BUDGET_TOLERANCE


def budget_note(relative: float | None) -> str:
    """The budget cell of a comparison: ``"differs (+200%)"``, ``"+3%"`` or ``"n/a"``."""
    if relative is None:
        return "n/a"
    if differs(relative):
        return f"differs ({relative:+.0%})"
    return f"{relative:+.0%}"


def _steps(cells: pd.DataFrame, method: str, target: float | None) -> float | None:
    if "budget_steps" not in cells:
        return None
    chosen = cells["strategy"] == method
    if target is not None:
        chosen &= cells["target_compression"].astype(float) == float(target)
    value = _mean(cells[chosen], "budget_steps")
    return None if math.isnan(value) else value


def _mean(rows: pd.DataFrame, column: str) -> float:
    if column not in rows or not rows[column].notna().any():
        return math.nan
    return float(rows[column].mean())
