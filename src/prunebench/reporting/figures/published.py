"""The published results on a run's (dataset, architecture) set beside its measured curve.

Change in top-1 (percentage points) against compression ratio (log₂): the method under
evaluation's seeds and its mean curve, and every claim of the meta-analysis data on the same pair
(:class:`~prunebench.reporting.published.PublishedResults`), one colour and marker per paper
(and method), labelled with its number of trials. A claim outside the measured range of
compressions, which is not compared with the curve, is drawn hollow.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from prunebench.reporting.figures.accuracy import X_LABELS
from prunebench.reporting.figures.axes import (
    GUIDE_ZORDER,
    SEEDS_ZORDER,
    log2_axis,
    save,
    side_legend,
)
from prunebench.reporting.figures.style import method_style
from prunebench.reporting.methods import Methods
from prunebench.reporting.published import Position, PublishedResults, claim_key, trials_text
from prunebench.reporting.report.setup import ReportSetup

MARKERS = ["o", "s", "D", "^", "v", "<", ">", "p", "h", "d", "8", "H"]
"""Markers of the published results' papers, in turn (also Figure 3's): closed shapes, which
read as well hollow as filled."""


def plot_published(
    published: PublishedResults,
    cells: pd.DataFrame,
    control: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    methods: Methods,
    setup: ReportSetup,
) -> Figure:
    """Draw the published claims over the measured curve and save it as a PNG.

    ``cells`` is the run's :func:`~prunebench.reporting.tables.cells_table`; ``control`` the
    control's metrics record. The file is written atomically; the figure is returned.
    """
    strategy = methods.strategy
    seeds = cells[cells["strategy"] == strategy]
    style = method_style(strategy, methods)
    figure = Figure(figsize=(9.5, 5.2), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.95):
        axes = figure.subplots()
        axes.scatter(
            seeds["compression"],
            100 * (seeds["top1"] - control["top1"]),
            s=18,
            color=style.color,
            alpha=0.35,
            linewidths=0,
            zorder=SEEDS_ZORDER,
        )
        (curve,) = axes.plot(
            published.curve["compression"],
            100 * published.curve["top1_change"],
            color=style.color,
            linewidth=style.linewidth,
            marker=style.marker,
            zorder=style.zorder,
        )
        handles, labels = _draw_claims(axes, published.claims)
        handles.insert(0, curve)
        labels.insert(0, f"{strategy} (measured: seeds, mean)")
        axes.axhline(0.0, color="0.2", linestyle="--", linewidth=1.2, zorder=GUIDE_ZORDER)
        log2_axis(axes, pd.concat([seeds["compression"], published.claims["compression"]]))
        axes.set_xlabel(X_LABELS["compression"])
        axes.set_ylabel("Change in top-1 accuracy (points)")
        axes.set_title(
            f"Change in top-1 vs. compression ratio: {setup.model} on {setup.dataset}, "
            f"beside {published.pair}'s published results",
            loc="left",
        )
        side_legend(
            axes,
            handles,
            labels,
            "published: paper (trials)\nhollow: outside the measured range\n"
            "dashed: no change from the unpruned model\n(each paper's own; ours: the control)",
        )
    save(figure, Path(path))
    return figure


def _groups(claims: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The claims by paper (and method) and number of trials, in order of first appearance."""
    keys = claims.apply(claim_key, axis=1) + " (" + claims["trials"].map(trials_text) + ")"
    return [(key, claims[keys == key]) for key in dict.fromkeys(keys)]


def _draw_claims(axes: Any, claims: pd.DataFrame) -> tuple[list[Any], list[str]]:
    """One colour and marker per group of :func:`_groups`; returns legend handles and labels."""
    groups = _groups(claims)
    colors = sns.color_palette("husl", len(groups))
    handles = []
    for index, (key, rows) in enumerate(groups):
        marker, color = MARKERS[index % len(MARKERS)], colors[index]
        axes.scatter(
            rows["compression"],
            100 * rows["top1_change"],
            s=42,
            marker=marker,
            facecolors=[
                "none" if position == Position.OUTSIDE else color for position in rows["position"]
            ],
            edgecolors=[color],
            linewidths=1.3,
            zorder=5,
            gid=f"published:{key}",
        )
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=color))
    return handles, [key for key, _ in groups]
