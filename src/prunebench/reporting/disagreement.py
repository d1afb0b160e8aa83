"""Where the choice of efficiency metric changes which method looks better.

Blalock et al. (2020) show that ranking methods at a fixed compression ratio and at a fixed
theoretical speedup can disagree: a global allocation prunes the parameter-heavy, compute-light
layers (the fully connected ones) hardest, so it keeps more accuracy per parameter removed but
saves fewer multiply-adds than a layerwise allocation. A paper that reports only one of the two
metrics can therefore claim either winner. This module finds such pairs in a run's results.

Methods are compared at matched compression on the shared target grid (their achieved
compressions equal the targets), and at matched speedup by interpolating each method's top-1
linearly in log₂(speedup), only inside the range both methods actually reach: we never
extrapolate a curve. Both gaps are computed per seed and judged like every other comparison,
with a paired-t interval over seeds: a reversal counts only when both intervals exclude zero;
one whose gaps are inside the noise is reported as such, not as a disagreement.
"""

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from prunebench.foundations.taxonomy import Allocation
from prunebench.reporting.methods import Methods
from prunebench.reporting.statistics import paired_interval


@dataclass(frozen=True)
class Gap:
    """Mean top-1 difference (percentage points) over seeds, with its 95% paired-t interval."""

    mean: float
    low: float
    high: float

    @property
    def detectable(self) -> bool:
        # NaN bounds (a single seed) compare False: nothing is detectable from one seed.
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:.2f} points (95% CI {self.low:.2f} to {self.high:.2f})"


@dataclass(frozen=True)
class Disagreement:
    """Two methods whose order by top-1 flips between the two efficiency metrics.

    Gaps are in favour of the named winner at that metric. ``detectable`` is false when either
    gap's interval includes zero: the flip may be noise. ``allocation_only`` is true when the
    two methods declare the same score, structure and schedule and the global allocation wins at
    compression, the layerwise one at speedup: the pattern the paper describes.
    """

    winner_at_compression: str
    winner_at_speedup: str
    compression_gap: Gap
    speedup_gap: Gap
    compressions: tuple[float, ...]
    speedup_range: tuple[float, float]
    allocation_only: bool = False

    @property
    def detectable(self) -> bool:
        return self.compression_gap.detectable and self.speedup_gap.detectable

    def __str__(self) -> str:
        first, second = self.winner_at_compression, self.winner_at_speedup
        targets = ", ".join(f"{value:g}×" for value in self.compressions)
        low, high = self.speedup_range
        sentence = (
            f"At fixed compression {first} beats {second} by {self.compression_gap} on average "
            f"(targets {targets}), but at matched theoretical speedup ({low:.2f}× to {high:.2f}×) "
            f"{second} beats {first} by {self.speedup_gap}."
        )
        if not self.detectable:
            return sentence + " Inside the noise: at least one interval includes zero."
        if self.allocation_only:
            sentence += (
                " This is the paper's observation: the global allocation wins per parameter, the"
                " layerwise one per multiply-add."
            )
        return sentence


def metric_disagreement(cells: pd.DataFrame, methods: Methods | None = None) -> list[Disagreement]:
    """Every pair of methods in ``cells`` (one row per cell) whose ranking flips between metrics.

    Per seed the gap at compression is the mean top-1 difference over the shared targets and the
    gap at speedup the mean difference of the interpolated curves at matched speedups; the seeds
    both methods have give the intervals. Pairs that share no target, no seed or no speedup range
    are skipped: there is nothing to compare them on. ``methods`` gives the methods' declared
    properties, from which a flip between two allocations of one method is recognised
    (:attr:`Disagreement.allocation_only`); without it no flip is.
    """
    curves = {method: rows for method, rows in cells.groupby("strategy", sort=True)}
    # A run is one seed, or one (initial model, seed) in a run of several initial models.
    replicate = ["initial_model", "seed"] if "initial_model" in cells.columns else ["seed"]
    found = []
    for first, second in combinations(curves, 2):
        per_seed = []
        ones = dict(iter(curves[first].groupby(replicate, sort=True)))
        others = dict(iter(curves[second].groupby(replicate, sort=True)))
        for key in sorted(ones.keys() & others.keys()):
            one, other = ones[key], others[key]
            at_compression = _gap_at_compression(one, other)
            at_speedup = _gap_at_speedup(one, other)
            if at_compression is not None and at_speedup is not None:
                per_seed.append((at_compression, at_speedup))
        if not per_seed:
            continue
        compression_gap = _gap([gap for (gap, _), _ in per_seed])
        speedup_gap = _gap([gap for _, (gap, _) in per_seed])
        if np.sign(compression_gap.mean) * np.sign(speedup_gap.mean) >= 0:
            continue
        if compression_gap.mean < 0:
            first, second = second, first
            compression_gap, speedup_gap = _negated(compression_gap), _negated(speedup_gap)
        ranges = [speedup_range for _, (_, speedup_range) in per_seed]
        found.append(
            Disagreement(
                winner_at_compression=first,
                winner_at_speedup=second,
                compression_gap=compression_gap,
                speedup_gap=_negated(speedup_gap),
                compressions=per_seed[0][0][1],
                speedup_range=(max(low for low, _ in ranges), min(high for _, high in ranges)),
                allocation_only=methods is not None
                and _allocations_of_one_method(methods, global_one=first, layerwise_one=second),
            )
        )
    return found


def _allocations_of_one_method(methods: Methods, global_one: str, layerwise_one: str) -> bool:
    """True where the two differ only in allocation, ``global_one`` global, the other layerwise.

    Options are not compared: they tune a method, they do not change what it is.
    """
    same = all(
        methods.part(global_one, part) is not None
        and methods.part(global_one, part) == methods.part(layerwise_one, part)
        for part in ("score", "structure", "schedule")
    )
    return (
        same
        and methods.part(global_one, "allocation") == Allocation.GLOBAL
        and methods.part(layerwise_one, "allocation") == Allocation.LAYERWISE
    )


def _gap(differences: list[float]) -> Gap:
    mean, low, high, _ = paired_interval(differences)
    return Gap(mean, low, high)


def _negated(gap: Gap) -> Gap:
    return Gap(-gap.mean, -gap.high, -gap.low)


def _gap_at_compression(
    first: pd.DataFrame, second: pd.DataFrame
) -> tuple[float, tuple[float, ...]] | None:
    """Top-1 of ``first`` minus ``second`` (points), averaged over their shared targets."""
    merged = first.merge(second, on="target_compression", suffixes=("_a", "_b"))
    if merged.empty:
        return None
    gap = 100 * (merged["top1_a"] - merged["top1_b"]).mean()
    return float(gap), tuple(float(value) for value in merged["target_compression"])


def _gap_at_speedup(
    first: pd.DataFrame, second: pd.DataFrame
) -> tuple[float, tuple[float, float]] | None:
    """Top-1 of ``first`` minus ``second`` (points) at matched speedups.

    The comparison points are both methods' observed speedups that fall in the overlap of their
    ranges, so each point is a real measurement of at least one of the two methods.
    """
    if len(first) < 2 or len(second) < 2:
        return None
    log_first, top1_first = _curve(first)
    log_second, top1_second = _curve(second)
    low = max(log_first[0], log_second[0])
    high = min(log_first[-1], log_second[-1])
    if high <= low:
        return None
    points = np.union1d(log_first, log_second)
    points = points[(points >= low) & (points <= high)]
    gap = np.interp(points, log_first, top1_first) - np.interp(points, log_second, top1_second)
    return float(100 * gap.mean()), (float(2**low), float(2**high))


def _curve(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """log₂(speedup) ascending and the top-1 at each, as :func:`numpy.interp` needs."""
    ordered = rows.sort_values("speedup")
    return np.log2(ordered["speedup"].to_numpy(float)), ordered["top1"].to_numpy(float)
