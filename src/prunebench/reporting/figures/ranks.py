"""The critical-difference diagram of the leaderboard (Demšar 2006, as ``autorank`` draws it): each
method at its mean rank, and a bar under every group of methods that are not detectably
different."""

import math
import os
from pathlib import Path

from matplotlib.figure import Figure

from prunebench.reporting.figures.axes import save
from prunebench.reporting.leaderboard.ranking import RankTest

# Vertical layout, in rows below the rank axis (y grows downwards).
GROUP_START, GROUP_STEP = 0.5, 0.35
LABEL_STEP = 0.55


def plot_critical_difference(test: RankTest, path: str | os.PathLike[str], *, what: str) -> Figure:
    """Draw the mean ranks of ``test`` (rank 1 at the left: the best) and its groups; save it.

    The better half of the methods is labelled on the left, the rest on the right, each joined
    to its mean rank; the bar of length CD above the axis is the Nemenyi critical difference,
    and each thick bar below joins a group (:func:`~prunebench.reporting.leaderboard.ranking.
    rank_groups`). ``what`` names the blocks and what is ranked, for the title. The file is
    written atomically; the figure is returned for inspection.
    """
    names = list(test.mean_ranks)
    count = len(names)
    half = math.ceil(count / 2)
    groups_depth = GROUP_START + GROUP_STEP * len(test.groups)
    labels_depth = groups_depth + LABEL_STEP * half
    figure = Figure(figsize=(10.0, 1.9 + 0.3 * labels_depth), layout="constrained")
    axes = figure.subplots()
    axes.set_axis_off()
    low, high = 1, count
    # The rank axis takes the middle half of the width, the names the rest, however few methods.
    span = max(count - 1, 1)
    axes.set_xlim(low - 0.5 * span - 0.5, high + 0.6 * span + 0.5)
    axes.set_ylim(labels_depth + 0.3, -1.6)

    axes.plot([low, high], [0, 0], color="black", linewidth=1.0)
    for rank in range(low, high + 1):
        axes.plot([rank, rank], [0, -0.15], color="black", linewidth=1.0)
        axes.text(rank, -0.25, str(rank), ha="center", va="bottom", fontsize="small")
    if test.rejects:
        end = low + test.critical_difference
        axes.plot([low, end], [-1.1, -1.1], color="black", linewidth=1.0)
        for x in (low, end):
            axes.plot([x, x], [-1.2, -1.0], color="black", linewidth=1.0)
        axes.text(
            (low + end) / 2,
            -1.25,
            f"CD = {test.critical_difference:.2f}",
            ha="center",
            va="bottom",
            fontsize="small",
        )

    for depth, (letter, group) in enumerate(zip(test.group_letters(), test.groups, strict=True)):
        ranks = [test.mean_ranks[name] for name in group]
        y = GROUP_START + GROUP_STEP * depth
        axes.plot([min(ranks) - 0.08, max(ranks) + 0.08], [y, y], color="0.15", linewidth=3.0)
        axes.text(min(ranks) - 0.2, y, letter, ha="right", va="center", fontsize="small")

    for index, name in enumerate(names):
        rank = test.mean_ranks[name]
        left = index < half
        row = index if left else count - 1 - index
        y = groups_depth + LABEL_STEP * row
        edge = low - 0.12 * span - 0.2 if left else high + 0.12 * span + 0.2
        axes.plot([rank, rank, edge], [0, y, y], color="0.35", linewidth=0.8)
        axes.text(
            edge - 0.03 * span if left else edge + 0.03 * span,
            y,
            f"{name} ({rank:.2f})" if left else f"({rank:.2f}) {name}",
            ha="right" if left else "left",
            va="center",
            fontsize="medium",
        )

    verdict = (
        f"Friedman {test.p_phrase}, below α = {test.alpha:g}: "
        "bars join the Nemenyi groups (a, b, ...)"
        if test.rejects
        else f"Friedman {test.p_phrase}, not below α = {test.alpha:g}: no detectable difference"
    )
    axes.set_title(
        f"Mean rank of {what} (1 = best), {test.blocks} blocks\n{verdict}",
        loc="left",
        fontsize="medium",
    )
    save(figure, Path(path))
    return figure
