"""The Answer's opening: is the method under evaluation better than each baseline, where on the
curve, by how much, and how sure.

One line per baseline: the verdict across the curve (the area under top-1 against log₂
compression), then where the single compressions differ, with the largest difference and its
interval. The verdicts are Holm-adjusted within their families; an interval that excludes zero
without surviving the correction is said so in place, and a verdict across the curve left
undecided says what would decide it (:mod:`prunebench.reporting.power`).
"""

import math
from collections.abc import Sequence

import pandas as pd

from prunebench.reporting.methods import Methods
from prunebench.reporting.power import what_would_decide
from prunebench.reporting.report.formatting import (
    DECIDING,
    INTERVAL,
    VERDICT_WORDS,
    deciding_text,
    interval,
    points_text,
    target,
    targets,
    uncorrected,
    uncorrected_points,
)
from prunebench.reporting.report.training_budget import Budgets, budget_mark
from prunebench.reporting.statistics import (
    AUC,
    BETTER,
    CONFIDENCE,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
)

# The families of comparisons (``Comparison.family``), as the Answer names them.
FAMILY_NAMES = {
    "points": "baselines at single compressions",
    "curves": "baselines across the curve",
    "matched points": "matched controls at single compressions",
    "matched curves": "matched controls across the curve",
    "self points": "the method against itself as a baseline, a sanity check",
    "self curves": "the same across the curve",
    "control": "the control",
}


def verdict_lines(
    methods: Methods,
    comparisons: Sequence[Comparison],
    seeds: list,
    allocation_count: int,
    budgets: Budgets,
    initial_models: Sequence[int] = (0,),
) -> list[str]:
    """The question, how it is judged, and one verdict line per baseline compared
    (``initial_models``: those the runs started from; with several, a pair is one
    (initial model, seed))."""
    strategy = methods.strategy
    listed = ", ".join(str(seed) for seed in seeds)
    paired = (
        f"paired over seeds {listed} (n = {len(seeds)})"
        if len(initial_models) < 2
        else f"paired over (initial model, seed) for initial models "
        f"{', '.join(str(k) for k in initial_models)} and seeds {listed} "
        f"(n = {len(initial_models) * len(seeds)})"
    )
    compared = [name for name in methods.baselines if any(c.reference == name for c in comparisons)]
    families = _family_sizes(comparisons, allocation_count)
    lines = [
        f"Is `{strategy}` more accurate after pruning and finetuning than each baseline? Top-1 "
        f"difference in percentage points, `{strategy}` minus the baseline, {paired}, with its "
        f"{INTERVAL}. "
        "*Across the curve* compares the area under top-1 against log₂(compression) over the "
        "targets, divided by its width (the curve's average top-1). A verdict of better or "
        f"worse needs a Holm-adjusted p below 0.05 within its family ({families}). The "
        "intervals are per comparison and the verdict carries the correction, so an interval "
        "that excludes zero can still read as no detectable difference; the report says so "
        f"where it happens. Where the verdict across the curve is undecided, the line says what "
        f"would decide it: {DECIDING}.",
        "",
    ]
    for baseline in compared:
        lines.append(
            f"- `{strategy}` is {_baseline_line(baseline, comparisons)}"
            + budget_mark(baseline, budgets)
        )
    if not compared:
        lines.append("- No baseline to compare with.")
    return lines


def _family_sizes(comparisons: Sequence[Comparison], allocation: int) -> str:
    """``"baselines at single compressions: 25; ..."``: how many comparisons each family holds."""
    sizes = pd.Series([c.family for c in comparisons]).value_counts(sort=False)
    described = [f"{FAMILY_NAMES.get(family, family)}: {count}" for family, count in sizes.items()]
    if allocation:
        described.append(f"the allocation alone: {allocation}")
    return "; ".join(described)


def _baseline_line(baseline: str, comparisons: Sequence[Comparison]) -> str:
    """One sentence: the curve's verdict, then where on the curve the single points differ."""
    mine = [c for c in comparisons if c.reference == baseline]
    curve = next((c for c in mine if c.point == AUC), None)
    points = [c for c in mine if c.point != AUC]
    if curve is None:
        head = f"vs `{baseline}`"
    else:
        head = (
            f"{VERDICT_WORDS[curve.verdict]} `{baseline}` across the curve: {interval(curve)}"
            + uncorrected(curve)
        )
    parts = []
    for verdict in (BETTER, WORSE):
        found = [c for c in points if c.verdict == verdict]
        if found:
            parts.append(f"{verdict} at {targets(found)} ({_largest(found)})")
    undecided = [c for c in points if c.verdict == NO_DIFFERENCE]
    if undecided and len(undecided) == len(points):
        parts.append(f"no detectable difference at any of them ({_largest(undecided)})")
    elif undecided:
        parts.append(f"no detectable difference at {targets(undecided)}")
    parts[-1:] = [part + uncorrected_points(points) for part in parts[-1:]]
    line = f"{head}. At single compressions: " + "; ".join(parts) + "." if parts else f"{head}."
    estimate = None if curve is None else what_would_decide(curve)
    if estimate is not None:
        line += f" What would decide it across the curve: {deciding_text(curve, estimate)}."
    return line


def _largest(comparisons: Sequence[Comparison]) -> str:
    """``"largest +3.10 points at 32×, 95% CI +1.20 to +5.00"``."""
    largest = max(comparisons, key=lambda c: abs(c.delta) if math.isfinite(c.delta) else -1.0)
    return (
        f"largest {points_text(largest.delta)} points at {target(largest)}, {CONFIDENCE:.0%} CI "
        f"{points_text(largest.ci_low)} to {points_text(largest.ci_high)}"
    )
