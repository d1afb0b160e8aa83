"""How the report writes its numbers, comparisons and method names, in every section alike.

Accuracies arrive as fractions in [0, 1] (as in the cell files); the report shows them in
percent, and differences in percentage points.
"""

import math
from collections.abc import Sequence

from prunebench.reporting.methods import Methods
from prunebench.reporting.power import MAX_SEEDS, POWER, Gap, PowerEstimate
from prunebench.reporting.statistics import (
    ALPHA,
    BETTER,
    CONFIDENCE,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
)

INTERVAL = f"{CONFIDENCE:.0%} paired-t CI over seeds"
"""What every interval of a comparison is, as the report says it."""

VERDICT_WORDS = {
    BETTER: "**better** than",
    WORSE: "**worse** than",
    NO_DIFFERENCE: "**not detectably different** from",
}
"""A verdict as the words between two method names: "`a` is **better** than `b`"."""

DECIDING = (
    f"the smallest difference these seeds would decide with {POWER:.0%} power at the family's "
    "corrected level α/m (Holm's first step: the level a comparison must clear to be decided on "
    "its own, m the comparisons in its family), from the observed spread of the paired "
    "differences, and how many seeds would decide the observed difference with that power "
    "(statsmodels' power of the paired t)"
)
"""What the report gives for an undecided comparison, as one clause."""
# Why an estimate lacks a figure, in the report's words.
GAP_WORDS = {
    Gap.ONE_SEED: "more seeds; how many cannot be estimated, since one seed gives no spread to "
    "measure the noise by",
    Gap.NO_SPREAD: "more seeds; how many cannot be estimated, since the difference is the same at "
    "every seed and gives no spread to measure the noise by",
    Gap.IDENTICAL: "nothing: the two are identical at every seed, and no number of seeds would "
    "tell them apart",
    Gap.ZERO_DIFFERENCE: "no finite number of seeds would decide an observed difference of zero",
    Gap.TOO_MANY: f"more than {MAX_SEEDS} seeds would be needed",
}


def interval(comparison: Comparison, short: bool = False) -> str:
    """``"+1.23 points (95% CI +0.40 to +2.06)"``; ``short``: ``"+1.23 [+0.40, +2.06]"``."""
    delta = points_text(comparison.delta)
    low, high = points_text(comparison.ci_low), points_text(comparison.ci_high)
    if short:
        return f"{delta} [{low}, {high}]"
    return f"{delta} points ({CONFIDENCE:.0%} CI {low} to {high})"


def points_text(fraction: float) -> str:
    """A difference of fractions in signed percentage points: ``"+1.23"``, or ``"n/a"``."""
    return f"{100 * fraction:+.2f}" if math.isfinite(fraction) else "n/a"


def p_text(value: float) -> str:
    """``"0.012"``, ``"<0.001"``, or ``"n/a"`` where there is none (a single pair)."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2g}" if value >= 0.001 else "<0.001"


def target(comparison: Comparison) -> str:
    """``"8×"``: the target compression a comparison is made at."""
    return f"{comparison.target_compression:g}×"


def targets(comparisons: Sequence[Comparison]) -> str:
    """``"2×, 8×"``."""
    return ", ".join(target(c) for c in comparisons)


def uncorrected(comparison: Comparison) -> str:
    """A note where the interval excludes zero but the Holm-adjusted p does not reach 0.05."""
    if comparison.verdict == NO_DIFFERENCE and (comparison.ci_low > 0 or comparison.ci_high < 0):
        return (
            f" (the interval excludes zero, but not after Holm's correction: adjusted p "
            f"{p_text(comparison.p_holm)})"
        )
    return ""


def uncorrected_points(comparisons: Sequence[Comparison]) -> str:
    """The same note for the single compressions where it applies, listed once."""
    flagged = [c for c in comparisons if uncorrected(c)]
    if not flagged:
        return ""
    return f" (at {targets(flagged)} the interval excludes zero, but not after Holm's correction)"


def method_label(method: str, methods: Methods) -> str:
    """A method's name in a table: the evaluated one in bold, a matched control with its sizes."""
    if method == methods.strategy:
        return f"**{method}** (evaluated)"
    if method in methods.matched:
        return f"{method} ({methods.strategy}'s layer sizes)"
    return method


def mean_std(mean: float, std: float) -> str:
    """``"85.12 ± 0.31"`` in percent; ``"± n/a"`` where one seed gives no spread."""
    spread = f"{100 * std:.2f}" if math.isfinite(std) else "n/a"
    return f"{100 * mean:.2f} ± {spread}"


def detectable_text(estimate: PowerEstimate | None) -> str:
    """The table's *detectable* cell: ``"41.06"`` points, ``"> 100"`` where no possible difference
    of top-1 would be, ``"n/a"`` without a spread, ``"—"`` for a decided comparison (``estimate``
    None)."""
    if estimate is None:
        return "—"
    if not math.isfinite(estimate.detectable):
        return "n/a"
    return "> 100" if estimate.detectable > 1.0 else f"{100 * estimate.detectable:.2f}"


def seeds_text(estimate: PowerEstimate | None) -> str:
    """The table's *seeds to decide* cell: ``"5"``, ``"> 1000"``, ``"∞"`` (no finite number),
    ``"n/a"`` (no spread), ``"—"`` for a decided comparison."""
    if estimate is None:
        return "—"
    if estimate.seeds is not None:
        return str(estimate.seeds)
    if estimate.gap is Gap.TOO_MANY:
        return f"> {MAX_SEEDS}"
    return "∞" if estimate.gap in (Gap.IDENTICAL, Gap.ZERO_DIFFERENCE) else "n/a"


def deciding_text(comparison: Comparison, estimate: PowerEstimate) -> str:
    """What would decide an undecided comparison, as a clause: ``"3 seeds detect 41.06 points
    or more (80% power at 0.05/5 = 0.01); about 5 seeds would decide +32.05 points"``."""
    if estimate.gap in (Gap.ONE_SEED, Gap.NO_SPREAD, Gap.IDENTICAL):
        return GAP_WORDS[estimate.gap]
    smallest = (
        "not even a difference of 100 points"
        if estimate.detectable > 1.0
        else f"{100 * estimate.detectable:.2f} points or more"
    )
    detect = (
        f"{comparison.n_pairs} seeds detect {smallest} ({POWER:.0%} power at "
        f"{ALPHA:g}/{comparison.family_size} = {estimate.level:.2g})"
    )
    if estimate.seeds is None:
        return f"{detect}; {GAP_WORDS[estimate.gap]}"
    decide = f"about {estimate.seeds} seeds would decide {points_text(comparison.delta)} points"
    return f"{detect}; {decide}"
