"""Training budgets in the report: the Answer's note on unequal budgets and the *Training budget*
table of the Results.

A comparison's budget is the evaluated method's mean optimizer steps per cell relative to its
reference's (:func:`~prunebench.reporting.budget.steps_difference`); one that differs by more than
:data:`~prunebench.reporting.budget.BUDGET_TOLERANCE` is marked with :data:`BUDGET_MARK` wherever
the Answer names it, and explained once below the verdicts.
"""

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from prunebench.foundations.taxonomy import PruningSchedule
from prunebench.reporting.budget import (
    BUDGET_TOLERANCE,
    EQUALISE,
    budget_table,
    differs,
    steps_difference,
)
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import method_label
from prunebench.reporting.statistics import AUC, CONTROL, Comparison

BUDGET_MARK = "†"
"""Marks a comparison whose two methods' training budgets differ (see the Answer's note)."""

Budgets = Mapping[tuple[str, str], float | None]
"""``{(reference, point): relative difference in optimizer steps}``: :func:`budget_differences`."""


def budget_differences(
    cells: pd.DataFrame, strategy: str, comparisons: Sequence[Comparison]
) -> dict[tuple[str, str], float | None]:
    """``{(reference, point): relative difference in optimizer steps}`` of every comparison.

    A point compares the cells at its target, the curve every cell; the unpruned control
    trained no further and has no budget, so it is left out.
    """
    return {
        (c.reference, c.point): steps_difference(cells, strategy, c.reference, c.target_compression)
        for c in comparisons
        if c.reference != CONTROL
    }


def budget_mark(reference: str, budgets: Budgets) -> str:
    """:data:`BUDGET_MARK` where a comparison with ``reference`` has uneven budgets, else ``""``."""
    return BUDGET_MARK if _differs(reference, budgets) else ""


def unequal_budget_lines(methods: Methods, budgets: Budgets, equal_budget: bool) -> list[str]:
    """The note behind :data:`BUDGET_MARK`: who trained longer, by how much, and what to do.

    ``equal_budget``: whether the run already gave one-shot methods the iterative method's
    number of finetuning rounds.
    """
    strategy = methods.strategy
    across = {name: value for (name, point), value in budgets.items() if point == AUC}
    flagged = [
        name for name in dict.fromkeys(name for name, _ in budgets) if _differs(name, budgets)
    ]
    if not flagged:
        return []
    differences = ", ".join(
        f"`{name}` ({across[name]:+.0%})" if across.get(name) is not None else f"`{name}`"
        for name in flagged
    )
    return [
        f"{BUDGET_MARK} **Unequal training budgets.** `{strategy}`'s mean number of optimizer "
        f"steps per cell is more than {BUDGET_TOLERANCE:.0%} away from that of {differences} "
        "(relative to each, over all their cells); part of such a difference in accuracy may "
        "come from training longer rather than from pruning better (see *Training budget* "
        f"below). {_remedy(methods, [strategy, *flagged], equal_budget)}",
        "",
    ]


def _remedy(methods: Methods, names: Sequence[str], equal_budget: bool) -> str:
    """What would even out the budgets of ``names``, given the run's ``equal_budget``."""
    if all(methods.part(name, "schedule") in (None, PruningSchedule.ONE_SHOT) for name in names):
        # equal_budget gives one-shot methods more rounds; it cannot help where no method
        # has rounds, and the gap is early stopping's.
        return (
            "Every one of these methods is one-shot: the gap comes from early stopping (the "
            "recipe's `patience`), not from a schedule."
        )
    if equal_budget:
        return (
            "This run already finetunes one-shot methods for as many rounds of the recipe as the "
            "iterative method (`equal_budget` true): what remains comes from the schedules "
            "themselves and from early stopping."
        )
    return (
        "To give one-shot methods as many finetuning rounds of the recipe as the run's "
        f"iterative method, run `{EQUALISE}`."
    )


def budget_table_lines(cells: pd.DataFrame, methods: Methods, budgets: Budgets) -> list[str]:
    """The budget table: per method, what its cells spent on finetuning, on average."""
    table = budget_table(cells, methods.all, methods)
    lines = [
        "What each method's cells used for finetuning, on average per cell (early stopping "
        "included; every round summed for iterative methods):",
        "",
        "| method | schedule | rounds | epochs | optimizer steps | cells with a budget |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for _, row in table.iterrows():
        lines.append(
            f"| {method_label(row['method'], methods)} | "
            f"{(row['schedule'] or 'n/a').replace('_', '-')} | {_count(row['rounds'])} | "
            f"{_count(row['epochs'])} | {_count(row['steps'])} | "
            f"{row['cells_with_budget']} of {row['cells']} |"
        )
    if not table["cells_with_budget"].any():
        lines += [
            "",
            "No cell records its training budget (its metrics file was written before budgets "
            "were recorded); run `dvc repro` to record them.",
        ]
    elif any(differs(value) for value in budgets.values()):
        lines += [
            "",
            f"Comparisons whose mean optimizer steps differ by more than {BUDGET_TOLERANCE:.0%} "
            f"are flagged in *Every comparison*, and in the Answer with {BUDGET_MARK}.",
        ]
    return lines


def _differs(reference: str, budgets: Budgets) -> bool:
    """True where any comparison with ``reference`` pairs unequal training budgets."""
    return any(differs(value) for (name, _), value in budgets.items() if name == reference)


def _count(value: float) -> str:
    """A mean count: ``"240"`` when whole, ``"237.3"`` otherwise, ``"n/a"`` when unknown."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
