"""Cells whose achieved compression is off their target: named in the Answer, marked per seed.

A cell is put in its target's column, so one that missed its target would be compared at an
operating point it is not at. The prune stage refuses such masks (``prunebench.stages.prune``),
so a run of prunebench's own stages has none, except channel strategies, whose whole channel
groups reach the closest compression they can. Cells computed elsewhere, or by an older
prunebench, are checked here again: any cell whose achieved compression (total / nonzero
parameters, as measured) is more than :data:`TOLERANCE` from its target is named where the
verdicts are read, and marked † in the *Every seed* table.
"""

import pandas as pd

from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import method_label

TOLERANCE = 0.01
"""Relative distance of the achieved compression from the target beyond which a cell is off."""
MARK = " †"


def off_target(cells: pd.DataFrame) -> pd.Series:
    """Whether each cell (row of the cells table) is off its target compression."""
    return (cells["compression"] / cells["target_compression"] - 1).abs() > TOLERANCE


def off_target_lines(cells: pd.DataFrame, methods: Methods) -> list[str]:
    """The Answer's warning naming every off-target cell; nothing where there is none."""
    missed = cells[off_target(cells)]
    if missed.empty:
        return []
    named = "; ".join(
        f"{method_label(row.strategy, methods)} at {row.target_compression:g}× seed {row.seed} "
        f"(achieved {row.compression:.2f}×)"
        for row in missed.itertuples()
    )
    return [
        f"**Off target:** {len(missed)} cell(s) achieved a compression more than "
        f"{TOLERANCE:.0%} away from their target, so the comparisons at that target do not "
        f"compare like with like (marked{MARK} in *Every seed*): {named}. Channel strategies "
        "reach the closest compression whole channel groups allow; any other method that misses "
        "its target has a bug.",
        "",
    ]
