"""The leaderboard's ranking: each method's curve average, and which methods are not detectably
different.

**Curve average.** Per seed, the area under top-1 against log2(target compression) divided by
its width (:func:`~prunebench.reporting.statistics.curve_area`, the report's measure across the
curve: a flat curve's average is its top-1); then its mean over seeds with the 95% t interval
(:func:`~prunebench.reporting.statistics.paired_interval`). Methods are ranked by the mean.

**Groups.** Sixteen intervals overlap in ways that answer nothing, so which methods differ is a
test of its own (Demšar, "Statistical comparisons of classifiers over multiple data sets", JMLR
2006), as ``autorank`` runs it: a Friedman test over *blocks*, the (target compression, seed)
cells of the grid, in each of which the methods are ranked by top-1 (one seed gives every method
the same scoring data and data order, so the methods' ranks within a block are paired); if it
rejects at :data:`SIGNIFICANCE`, the Nemenyi post-hoc test, which calls two methods different
when their mean ranks differ by more than the critical difference. The groups are the bars of
the critical-difference diagram (:func:`rank_groups`): maximal runs of methods, in mean-rank
order, within one critical difference of each other. If the Friedman test does not reject, all
methods are one group.
"""

import contextlib
import io
import math
import string
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.statistics import curve_area, paired_interval

SIGNIFICANCE = 0.05
BLOCK_KEYS = ["target_compression", "seed"]
MINIMUM_BLOCKS = 5
"""autorank's minimum number of blocks (it calls them performance estimations)."""
MINIMUM_METHODS = 3
"""Below three methods a Friedman test is not defined (autorank runs a two-sample test)."""


@dataclass(frozen=True)
class RankTest:
    """A Friedman test over blocks and the Nemenyi post-hoc test's groups.

    ``mean_ranks`` runs from the best (rank 1 is the highest top-1 of a block) to the worst;
    ``groups`` are tuples of methods in that order, each of them not detectably different.
    """

    blocks: int
    alpha: float
    p_value: float
    critical_difference: float
    mean_ranks: dict[str, float]
    groups: list[tuple[str, ...]]

    @property
    def rejects(self) -> bool:
        """Whether the Friedman test finds any difference (a NaN p-value, all ties, does not)."""
        return self.p_value < self.alpha

    @property
    def p_phrase(self) -> str:
        """``"p = 0.012"`` or ``"p < 0.001"``: the Friedman test's p-value in a sentence."""
        if not math.isfinite(self.p_value):
            return "p n/a"
        return f"p = {self.p_value:.2g}" if self.p_value >= 0.001 else "p < 0.001"

    def group_letters(self) -> list[str]:
        """The letter of each group, in order: ``["a", "b", ...]``."""
        return list(string.ascii_lowercase[: len(self.groups)])

    def letters(self) -> dict[str, str]:
        """Each method's groups as letters, ``{"lamp": "a", "global_mag": "ab", ...}``: methods
        that share a letter are not detectably different."""
        letters = {method: "" for method in self.mean_ranks}
        for letter, group in zip(self.group_letters(), self.groups, strict=True):
            for method in group:
                letters[method] += letter
        return letters


def blocks_table(table: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Top-1 with one row per block (target compression, seed) and one column per method.

    A method without a cell in some block is refused in one line: ranks within a block that
    lacks a method would not be comparable with the other blocks'.
    """
    blocks = table.pivot(index=BLOCK_KEYS, columns="strategy", values="top1")
    for method in methods:
        if method not in blocks.columns:
            raise PrunebenchError(f"no results for method {method!r}; run the leaderboard")
        missing = blocks[method].isna()
        if missing.any():
            target, seed = blocks.index[missing.argmax()]
            raise PrunebenchError(
                f"method {method!r} has no cell at compression {target:g}, seed {seed}; "
                "run the leaderboard"
            )
    return blocks[list(methods)].astype(float)


def rank_test(
    table: pd.DataFrame, methods: Sequence[str], alpha: float = SIGNIFICANCE
) -> RankTest | None:
    """The Friedman test and the Nemenyi groups of ``methods`` over the cells of ``table``.

    ``table`` has a row per cell (``strategy``, ``target_compression``, ``seed``, ``top1``).
    None where no Friedman test can be made: fewer than :data:`MINIMUM_METHODS` methods or
    :data:`MINIMUM_BLOCKS` blocks.
    """
    from autorank import autorank

    blocks = blocks_table(table, methods)
    if len(methods) < MINIMUM_METHODS or len(blocks) < MINIMUM_BLOCKS:
        return None
    # autorank prints what it chose and warns on tied or constant columns (in its normality
    # tests and effect sizes, which the leaderboard does not read).
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        result = autorank(
            blocks.reset_index(drop=True),
            alpha=alpha,
            order="descending",
            force_mode="nonparametric",
        )
    ranks = {str(name): float(rank) for name, rank in result.rankdf["meanrank"].items()}
    ordered = dict(sorted(ranks.items(), key=lambda item: (item[1], item[0])))
    p_value = float(result.pvalue)
    test = RankTest(
        blocks=len(blocks),
        alpha=alpha,
        p_value=p_value,
        critical_difference=float(result.cd),
        mean_ranks=ordered,
        groups=[tuple(ordered)],
    )
    if test.rejects:
        return replace(test, groups=rank_groups(ordered, test.critical_difference))
    return test


def rank_groups(
    mean_ranks: Mapping[str, float], critical_difference: float
) -> list[tuple[str, ...]]:
    """The maximal runs of methods, in mean-rank order, whose mean ranks lie within
    ``critical_difference`` of each other: the bars of a critical-difference diagram.

    A method different from every other is a group of its own. Example: mean ranks 1, 2, 3
    and 4 with a critical difference of 1.9 give the groups (1, 2), (2, 3) and (3, 4).
    """
    ordered = sorted(mean_ranks.items(), key=lambda item: (item[1], item[0]))
    groups: list[tuple[str, ...]] = []
    reached = -1
    for first, (_, rank) in enumerate(ordered):
        last = max(
            index
            for index in range(first, len(ordered))
            if ordered[index][1] - rank <= critical_difference
        )
        if last > reached:
            groups.append(tuple(name for name, _ in ordered[first : last + 1]))
            reached = last
    return groups


def curve_averages(table: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Per method: ``curve_average`` (mean over seeds), ``ci_low``, ``ci_high`` (95% t interval;
    NaN for one seed) and ``n_seeds``, best first (a tie by name)."""
    rows = []
    for method in methods:
        mine = table[table["strategy"] == method]
        per_seed = [
            curve_area(dict(zip(cells["target_compression"], cells["top1"], strict=True)))
            for _, cells in mine.groupby("seed", sort=True)
        ]
        mean, low, high, _ = paired_interval(per_seed)
        rows.append(
            {
                "method": method,
                "curve_average": mean,
                "ci_low": low,
                "ci_high": high,
                "n_seeds": len(per_seed),
            }
        )
    frame = pd.DataFrame(rows)
    frame["_order"] = -frame["curve_average"].fillna(-math.inf)
    return frame.sort_values(["_order", "method"], ignore_index=True).drop(columns="_order")
