"""Figure 3 of Blalock et al. (2020), redrawn from its data: the fragmentation of results.

Every published result on the most common (dataset, architecture) pairs (one column each), its
change in top-1 and in top-5 (one row each) against compression ratio or theoretical speedup
(one figure each, log₂ axis). A line joins the results of one paper (and method), drawn in the
hue of the paper's year as the paper's figure does; a result without both numbers of a panel is
not drawn there (:func:`~prunebench.literature.results.plottable`).
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from prunebench.literature.counts import FIGURE_3_METRICS
from prunebench.literature.pairs import Pair, pair_rows
from prunebench.literature.results import plottable
from prunebench.reporting.figures.accuracy import X_LABELS
from prunebench.reporting.figures.axes import GUIDE_ZORDER, log2_axis, save
from prunebench.reporting.figures.published import MARKERS
from prunebench.reporting.published import claim_key

Y_LABELS = {
    "top1_change": "Change in top-1 accuracy (points)",
    "top5_change": "Change in top-5 accuracy (points)",
}


def plot_fragmentation(
    results: pd.DataFrame, pairs: Sequence[Pair], x: str, path: str | os.PathLike[str]
) -> Figure:
    """Draw Figure 3 against ``x`` (``"compression"`` or ``"speedup"``) and save it as a PNG.

    ``results`` is :func:`~prunebench.literature.results.read_results`, with AlexNet and CaffeNet
    merged as the paper does (:func:`~prunebench.literature.pairs.merge_models`). A paper keeps
    its colour and marker in both figures: they come from every result on ``pairs``.
    """
    on_pairs = pd.concat([pair_rows(results, pair) for pair in pairs])
    styles = _styles(on_pairs)
    figure = Figure(figsize=(4.0 * len(pairs), 10.5), layout="constrained")
    drawn: dict[str, Any] = {}
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        grid = figure.subplots(len(FIGURE_3_METRICS), len(pairs), squeeze=False)
        for row, metric in enumerate(FIGURE_3_METRICS):
            for column, pair in enumerate(pairs):
                axes = grid[row][column]
                points = plottable(pair_rows(results, pair), x, metric)
                drawn |= _draw_panel(axes, points, x, metric, styles)
                axes.set_title(str(pair) if row == 0 else "", loc="left")
                axes.set_xlabel(X_LABELS[x] if row == len(FIGURE_3_METRICS) - 1 else "")
                axes.set_ylabel(Y_LABELS[metric] if column == 0 else "")
        ordered = [key for key in styles if key in drawn]
        figure.legend(
            handles=[drawn[key] for key in ordered],
            labels=ordered,
            loc="outside lower center",
            ncol=5,
            fontsize="small",
            title="paper (and method), coloured by year; dashed: no change",
            title_fontsize="small",
        )
    save(figure, Path(path))
    return figure


def _draw_panel(
    axes: Any, points: pd.DataFrame, x: str, metric: str, styles: dict[str, tuple[Any, str]]
) -> dict[str, Any]:
    """One panel: a line per paper (and method); returns the legend handle of each drawn."""
    if points.empty:
        axes.text(0.5, 0.5, "no result reports both", ha="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return {}
    handles = {}
    keys = points.apply(claim_key, axis=1)
    for key in dict.fromkeys(keys):
        curve = points[keys == key].sort_values(x)
        color, marker = styles[key]
        axes.plot(curve[x], 100 * curve[metric], color=color, marker=marker, markersize=5)
        handles[key] = Line2D([], [], color=color, marker=marker, markersize=5)
    axes.axhline(0.0, color="0.2", linestyle="--", linewidth=1.0, zorder=GUIDE_ZORDER)
    log2_axis(axes, points[x])
    return handles


def _styles(results: pd.DataFrame) -> dict[str, tuple[Any, str]]:
    """Each paper's (and method's) colour and marker, in order of year.

    The hue is the year's; within a year the shade runs from dark to light and the marker
    takes its turn, so that the many papers of one year stay apart.
    """
    ordered = results.sort_values(["year", "label", "result"])
    years = dict(zip(ordered.apply(claim_key, axis=1), ordered["year"], strict=True))
    hues = sns.color_palette("colorblind", len(set(years.values())))
    styles = {}
    for hue, year in zip(hues, sorted(set(years.values())), strict=True):
        keys = [key for key, of in years.items() if of == year]
        dark, light = [tuple(shade + (end - shade) * 0.45 for shade in hue) for end in (0, 1)]
        shades = sns.blend_palette([dark, hue, light], max(len(keys), 2))
        for index, key in enumerate(keys):
            styles[key] = (shades[index], MARKERS[index % len(MARKERS)])
    return styles
