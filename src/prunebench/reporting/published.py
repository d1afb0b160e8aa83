"""Published results beside the measured curve: which claims fall above it, which below.

For a benchmark whose (dataset, architecture) pair is in the meta-analysis data of Blalock et
al. (2020) (:data:`prunebench.literature.pairs.BENCHMARK_PAIRS`), every result there with a
change in top-1 and a compression ratio is a *claim*. The *measured curve* is the method under
evaluation's mean top-1 over seeds minus the control's, at the mean achieved compression of each
target, joined by straight lines in log₂(compression). A claim is **above** the curve when its
change in top-1 is larger than the curve's at the claim's compression, **below** when smaller,
**on** it when equal. A claim outside the measured range of compressions is **outside**: it is
counted apart and never compared with an extrapolated curve.

A paper's change is against its own unpruned model and ours against our control: the two
tradeoffs are set side by side, not claimed to be measured alike (the paper's section 4.5).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from prunebench.literature.pairs import BENCHMARK_PAIRS, Pair, pair_rows
from prunebench.literature.results import plottable, read_results

FIGURE_NAME = "published_top1_vs_compression.png"
"""The overlay figure's file name under ``results/figures``."""


class Position(StrEnum):
    """Where a claim lies against the measured curve."""

    ABOVE = "above"
    BELOW = "below"
    ON = "on"
    OUTSIDE = "outside"
    """Outside the measured range of compressions: not compared."""


@dataclass(frozen=True)
class PublishedResults:
    """The published results on a run's pair, and where each claim lies against its curve."""

    pair: Pair
    """The run's (dataset, architecture), in the data's words."""
    results: int
    """How many results the data hold for the pair, with or without an accuracy."""
    papers: int
    """How many papers those come from."""
    claims: pd.DataFrame
    """The results with a change in top-1 and a compression ratio (the columns of
    :func:`~prunebench.literature.results.read_results`), sorted by compression, plus
    ``measured_change`` (the curve's change in top-1 at the claim's compression, NaN outside
    the measured range) and ``position`` (:class:`Position`)."""
    curve: pd.DataFrame
    """The measured curve: ``compression`` (mean achieved) and ``top1_change`` (mean top-1 minus
    the control's, a fraction), one row per target, by compression."""

    def count(self, position: Position) -> int:
        """How many claims lie at ``position``."""
        return int((self.claims["position"] == position).sum())


def published_results(
    benchmark: str, grouped: pd.DataFrame, control_top1: float, strategy: str
) -> PublishedResults | None:
    """The published results on ``benchmark``'s pair against ``strategy``'s measured curve.

    ``grouped`` is the run's :func:`~prunebench.reporting.tables.grouped_table` and
    ``control_top1`` the control's top-1 (a fraction). None where the benchmark has no pair in
    the data (:data:`~prunebench.literature.pairs.BENCHMARK_PAIRS`).
    """
    pair = BENCHMARK_PAIRS.get(benchmark)
    if pair is None:
        return None
    rows = pair_rows(read_results(), pair)
    evaluated = grouped[grouped["strategy"] == strategy].sort_values("compression")
    curve = pd.DataFrame(
        {
            "compression": evaluated["compression"].to_numpy(),
            "top1_change": (evaluated["top1_mean"] - control_top1).to_numpy(),
        }
    )
    claims = plottable(rows, "compression", "top1_change").sort_values(
        ["compression", "label", "result"], ignore_index=True
    )
    claims["measured_change"] = measured_change(curve, claims["compression"])
    claims["position"] = positions(claims["top1_change"], claims["measured_change"])
    return PublishedResults(
        pair=pair, results=len(rows), papers=rows["paper"].nunique(), claims=claims, curve=curve
    )


def claim_key(claim: Any) -> str:
    """A claim's paper as the figures and the report name it: ``"Suau 2018, PFA-En"``."""
    method = claim["method"]
    return claim["label"] + (f", {method}" if isinstance(method, str) else "")


def trials_text(trials: Any) -> str:
    """``"3 trials"``, ``"1 trial"``, or ``"trials not reported"``."""
    if pd.isna(trials):
        return "trials not reported"
    return f"{int(trials)} trial" + ("s" if int(trials) != 1 else "")


def measured_change(curve: pd.DataFrame, compressions: pd.Series) -> np.ndarray:
    """The curve's change in top-1 at each of ``compressions``, linear in log₂(compression)
    between its points; NaN outside its range.

    Example: a curve at 2× (-0.01) and 8× (-0.03) is -0.02 at 4×, halfway in log₂::

        >>> curve = pd.DataFrame({"compression": [2.0, 8.0], "top1_change": [-0.01, -0.03]})
        >>> measured_change(curve, pd.Series([4.0, 16.0])).round(4).tolist()
        [-0.02, nan]
    """
    x = np.log2(curve["compression"].to_numpy(dtype=float))
    at = np.log2(compressions.to_numpy(dtype=float))
    values = np.interp(at, x, curve["top1_change"].to_numpy(dtype=float))
    return np.where((at >= x.min()) & (at <= x.max()), values, np.nan)


def positions(claimed: pd.Series, measured: np.ndarray) -> np.ndarray:
    """Each claim's :class:`Position` from its change and the curve's there (NaN: outside)."""
    claimed = claimed.to_numpy(dtype=float)
    return np.select(
        [np.isnan(measured), claimed > measured, claimed < measured],
        [Position.OUTSIDE, Position.ABOVE, Position.BELOW],
        Position.ON,
    )
