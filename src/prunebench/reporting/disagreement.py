"""Where the choice of efficiency metric changes which method looks better.

Blalock et al. (2020) show that ranking methods at a fixed compression ratio and at a fixed
theoretical speedup can disagree: a global allocation prunes the parameter-heavy, compute-light
layers (the fully connected ones) hardest, so it keeps more accuracy per parameter removed but
saves fewer multiply-adds than a layerwise allocation. A paper that reports only one of the two
metrics can therefore claim either winner. This module finds such pairs in a run's results.

Methods are compared at matched compression on the shared target grid (their achieved
compressions equal the targets), and at matched speedup by interpolating each method's mean
top-1 linearly in log₂(speedup), only inside the range both methods actually reach: we never
extrapolate a curve.
"""

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Disagreement:
    """Two methods whose order by mean top-1 flips between the two efficiency metrics.

    Gaps are mean top-1 differences in percentage points, each in favour of the named winner.
    """

    winner_at_compression: str
    winner_at_speedup: str
    compression_gap: float
    speedup_gap: float
    compressions: tuple[float, ...]
    speedup_range: tuple[float, float]

    def __str__(self) -> str:
        first, second = self.winner_at_compression, self.winner_at_speedup
        targets = ", ".join(f"{value:g}×" for value in self.compressions)
        low, high = self.speedup_range
        sentence = (
            f"At fixed compression {first} beats {second} by {self.compression_gap:.2f} "
            f"percentage points of top-1 on average (targets {targets}), but at matched "
            f"theoretical speedup ({low:.2f}× to {high:.2f}×) {second} beats {first} by "
            f"{self.speedup_gap:.2f} points."
        )
        if first.startswith("global_") and second.startswith("layer_"):
            sentence += (
                " This is the paper's observation: the global allocation wins per parameter, the"
                " layerwise one per multiply-add."
            )
        return sentence


def metric_disagreement(grouped: pd.DataFrame, tolerance: float = 0.1) -> list[Disagreement]:
    """Every pair of methods in ``grouped`` whose ranking flips between the two metrics.

    A pair counts only when both average gaps exceed ``tolerance`` percentage points, so noise
    around a tie is not reported as a reversal. Pairs that share no target compression or no
    speedup range are skipped: there is nothing to compare them on.
    """
    curves = {method: rows for method, rows in grouped.groupby("strategy", sort=True)}
    found = []
    for first, second in combinations(curves, 2):
        at_compression = _gap_at_compression(curves[first], curves[second])
        at_speedup = _gap_at_speedup(curves[first], curves[second])
        if at_compression is None or at_speedup is None:
            continue
        (compression_gap, compressions), (speedup_gap, speedup_range) = at_compression, at_speedup
        if min(abs(compression_gap), abs(speedup_gap)) <= tolerance:
            continue
        if np.sign(compression_gap) == np.sign(speedup_gap):
            continue
        winner, loser = (first, second) if compression_gap > 0 else (second, first)
        found.append(
            Disagreement(
                winner_at_compression=winner,
                winner_at_speedup=loser,
                compression_gap=abs(compression_gap),
                speedup_gap=abs(speedup_gap),
                compressions=compressions,
                speedup_range=speedup_range,
            )
        )
    return found


def _gap_at_compression(
    first: pd.DataFrame, second: pd.DataFrame
) -> tuple[float, tuple[float, ...]] | None:
    """Mean top-1 of ``first`` minus ``second`` (points) over their shared target compressions."""
    merged = first.merge(second, on="target_compression", suffixes=("_a", "_b"))
    if merged.empty:
        return None
    gap = 100 * (merged["top1_mean_a"] - merged["top1_mean_b"]).mean()
    return float(gap), tuple(float(value) for value in merged["target_compression"])


def _gap_at_speedup(
    first: pd.DataFrame, second: pd.DataFrame
) -> tuple[float, tuple[float, float]] | None:
    """Mean top-1 of ``first`` minus ``second`` (points) at matched speedups.

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
    """log₂(speedup) ascending and the mean top-1 at each, as :func:`numpy.interp` needs."""
    ordered = rows.sort_values("speedup")
    return np.log2(ordered["speedup"].to_numpy(float)), ordered["top1_mean"].to_numpy(float)
