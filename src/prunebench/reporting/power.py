"""What would decide a comparison left undecided: the power of the paired t over seeds.

A verdict of :data:`~prunebench.reporting.statistics.NO_DIFFERENCE` is not an answer a reader can
act on unless it says what would give one. For each undecided comparison this module gives two
figures, both from the observed spread of its paired differences (``Comparison.sd``):

- ``detectable``: the smallest difference that its number of seeds would decide with 80% power;
- ``seeds``: how many seeds would decide the observed difference with that power, were it the
  true one (an estimate: the observed difference and spread are themselves noisy).

*Deciding* is what the verdict needs: a two-sided paired t whose p-value clears the family's
corrected level in the direction of the difference. With Holm's correction over a family of
``m`` comparisons, the first step tests the smallest p-value at ``alpha / m``: that is the level a
comparison must clear to be decided on its own, whatever the others show, and the level used here
(later steps are more lenient, but only once a smaller p-value has been decided first).

The power is statsmodels' ``TTestPower`` (the one-sample t, which the paired t is on the
differences), one tail at ``level / 2``: the two-sided test deciding in the difference's own
direction. The other tail, a verdict of the wrong sign, would not decide the observed difference;
it is also where scipy's noncentral t (``nctdtr``), which statsmodels calls, returns NaN for
large effects.
"""

import math
from dataclasses import dataclass
from enum import StrEnum

import scipy.optimize
from statsmodels.stats.power import TTestPower

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.statistics import ALPHA, NO_DIFFERENCE, Comparison

POWER = 0.8
"""The probability of deciding a true difference that the figures are computed for."""
MAX_SEEDS = 1000
"""Beyond this many seeds the estimate says only "more than"."""
GROWTH = 1.25
"""Step of the searches' brackets: small enough that no step lands where the power is within
rounding of 1, where scipy's noncentral t is unreliable."""


class Gap(StrEnum):
    """Why a figure of a :class:`PowerEstimate` is missing."""

    ONE_SEED = "one seed"
    """A single pair: no spread, so neither figure."""
    NO_SPREAD = "no spread"
    """The same nonzero difference at every seed: no scale for either figure."""
    IDENTICAL = "identical"
    """A zero difference at every seed: no number of seeds would separate the two."""
    ZERO_DIFFERENCE = "zero difference"
    """A zero mean difference with a spread: ``detectable`` exists, no finite ``seeds`` does."""
    TOO_MANY = "too many seeds"
    """More than :data:`MAX_SEEDS` seeds would be needed."""


@dataclass(frozen=True)
class PowerEstimate:
    """What would decide one undecided comparison.

    ``level`` is ``alpha / m`` of its family (see the module docstring); ``detectable`` the
    smallest difference (a top-1 fraction, as ``Comparison.delta``) that its seeds decide with
    :data:`POWER`, NaN where there is no spread; ``seeds`` the number of seeds that would decide
    the observed difference with that power, None where ``gap`` says why not.
    """

    level: float
    detectable: float
    seeds: int | None
    gap: Gap | None = None


def what_would_decide(comparison: Comparison, alpha: float = ALPHA) -> PowerEstimate | None:
    """The :class:`PowerEstimate` of an undecided ``comparison``; None for a decided one.

    Example: three seeds whose paired differences have a spread (sample std) of 2 points, in a
    family of five comparisons (level 0.05 / 5 = 0.01), decide 7.32 standard deviations with 80%
    power: 14.64 points is the smallest difference they detect.
    """
    if comparison.verdict != NO_DIFFERENCE:
        return None
    size = comparison.family_size
    level = alpha / size if size else math.nan
    n, sd, delta = comparison.n_pairs, comparison.sd, comparison.delta
    if n < 2:
        return PowerEstimate(level, math.nan, None, Gap.ONE_SEED)
    if sd == 0.0:
        return PowerEstimate(level, math.nan, None, Gap.NO_SPREAD if delta else Gap.IDENTICAL)
    detectable = detectable_effect(n, level) * sd
    if delta == 0.0:
        return PowerEstimate(level, detectable, None, Gap.ZERO_DIFFERENCE)
    seeds = seeds_to_decide(abs(delta) / sd, level)
    return PowerEstimate(level, detectable, seeds, None if seeds else Gap.TOO_MANY)


def power(effect: float, seeds: int, level: float) -> float:
    """The probability that a paired t over ``seeds`` pairs at two-sided ``level`` decides a true
    difference of ``effect`` standard deviations of the differences, in its direction."""
    value = float(
        TTestPower().power(effect_size=effect, nobs=seeds, alpha=level / 2, alternative="larger")
    )
    if not math.isfinite(value):
        raise PrunebenchError(
            f"no power of the paired t for effect {effect:g} with {seeds} seeds at level "
            f"{level:g}: statsmodels returned {value}"
        )
    return value


def detectable_effect(seeds: int, level: float, target: float = POWER) -> float:
    """The smallest standardized difference that ``seeds`` pairs decide with ``target`` power."""
    low, high = 0.0, 0.5
    while power(high, seeds, level) < target:
        low, high = high, high * GROWTH
    return float(
        scipy.optimize.brentq(lambda d: power(d, seeds, level) - target, low, high, xtol=1e-12)
    )


def seeds_to_decide(effect: float, level: float, target: float = POWER) -> int | None:
    """The fewest seeds (at least 2) that decide a standardized difference ``effect`` with
    ``target`` power; None where more than :data:`MAX_SEEDS` would be needed."""
    low, high = 1, 2  # low never decides (one seed is no test); high is the candidate
    while power(effect, high, level) < target:
        if high >= MAX_SEEDS:
            return None
        low, high = high, min(MAX_SEEDS, math.ceil(high * GROWTH))
    while high - low > 1:
        middle = (low + high) // 2
        if power(effect, middle, level) >= target:
            high = middle
        else:
            low = middle
    return high
