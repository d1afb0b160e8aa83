"""The paper's two tradeoff curves: accuracy against compression ratio and against speedup.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` (rendered by Agg), never through
``pyplot``: no global figure state, no display backend, nothing left open between calls.
"""

import math
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter
from scipy import stats

from prunebench.errors import PrunebenchError
from prunebench.files import atomic_file
from prunebench.reporting.methods import (
    CHANNEL,
    GRADUAL,
    ITERATIVE,
    LAYERWISE,
    ONE_SHOT,
    UNSTRUCTURED,
    Methods,
)

XAxis = Literal["compression", "speedup"]
Metric = Literal["top1", "top5"]

X_LABELS = {
    "compression": "Compression ratio (×, log₂ scale)",
    "speedup": "Theoretical speedup (×, log₂ scale)",
}
X_TITLES = {"compression": "compression ratio", "speedup": "theoretical speedup"}
METRIC_LABELS = {"top1": "Top-1 accuracy", "top5": "Top-5 accuracy"}
DPI = 120

# Colour says what scores the weights, shade how the budget is allocated, marker the structure and
# the schedule: all read from the methods' declared properties, so a method keeps its look in
# every figure of every experiment whatever set of methods is drawn, and two methods that differ
# in one part only look alike but for that part.
Color = tuple[float, float, float]
_TAB10 = sns.color_palette("tab10", 10)
_TAB20B = sns.color_palette("tab20b", 20)
# The hue of each known score (the global allocation's shade); random is grey, the floor every
# method should clear.
SCORE_COLORS: dict[str, Color] = {
    "magnitude": _TAB10[0],
    "lamp": _TAB10[3],
    "gradient": _TAB10[2],
    "activation": _TAB10[4],
    "synflow": _TAB10[5],
    "channel_l1": _TAB10[6],
    "channel_bn": _TAB10[8],
    "random": _TAB10[7],
}
# Scores declared later (a researcher's own) get a hue from their name's hash: stable, if not
# unique. A method declaring no score at all is hashed by its own name.
_SPARE_COLORS: list[Color] = [_TAB10[1], _TAB10[9], *_TAB20B[0:20:4]]
# The layerwise allocation's shade: the hue mixed with this much white. Mixing with white keeps
# the hue exactly, so the two allocations of one score read as one family.
LAYERWISE_LIGHTEN = 0.45
# (structure, schedule) -> marker: circles for unstructured one-shot pruning, squares for
# channels, diamonds for iterative and triangles for gradual schedules; others a star.
MARKERS = {
    (UNSTRUCTURED, ONE_SHOT): "o",
    (CHANNEL, ONE_SHOT): "s",
    (UNSTRUCTURED, ITERATIVE): "D",
    (CHANNEL, ITERATIVE): "P",
    (UNSTRUCTURED, GRADUAL): "v",
    (CHANNEL, GRADUAL): "^",
}
_OTHER_MARKER = "*"
# What each marker stands for, in the legend's key.
_MARKER_WORDS = {
    "o": "● one-shot",
    "s": "■ channels",
    "D": "◆ iterative",
    "P": "✚ channels, iterative",
    "v": "▼ gradual",
    "^": "▲ channels, gradual",
    _OTHER_MARKER: "★ other",
}


def method_color(method: str, methods: Methods | None = None) -> Color:
    """The colour of ``method``: its score's hue, full if global, lightened if layerwise.

    Known scores have a fixed hue; any other score, or a method that declares none, gets one
    from its name's hash.
    """
    score = methods.part(method, "score") if methods is not None else None
    if score in SCORE_COLORS:
        color = SCORE_COLORS[score]
    else:
        key = score if score is not None else method
        color = _SPARE_COLORS[zlib.crc32(key.encode()) % len(_SPARE_COLORS)]
    allocation = methods.part(method, "allocation") if methods is not None else None
    if allocation == LAYERWISE:
        return tuple(channel + LAYERWISE_LIGHTEN * (1.0 - channel) for channel in color)
    return tuple(color)


def method_marker(method: str, methods: Methods | None = None) -> str:
    """The marker of ``method``, from its declared structure and schedule."""
    if methods is None:
        return _OTHER_MARKER
    structure = methods.part(method, "structure")
    schedule = methods.part(method, "schedule")
    return MARKERS.get((structure, schedule), _OTHER_MARKER)


def plot_accuracy(
    cells: pd.DataFrame,
    control: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    methods: Methods,
    setup: Mapping[str, Any],
    x: XAxis = "compression",
    metric: Metric = "top1",
) -> Figure:
    """Draw every seed, the mean and its 95% confidence band against ``x``; save it as a PNG.

    ``cells`` has one row per (strategy, target compression, seed), as
    :func:`~prunebench.reporting.tables.cells_table` returns. Per method, each seed is a faint
    point at its own achieved compression (or speedup); the line joins the means over seeds at
    the mean achieved x of each target, so a method that misses its target is shown where it
    really is; the band is the 95% confidence interval of that mean (Student t over the seeds),
    absent where a target has a single seed. A note in the legend says so, with the number of
    seeds. The x axis is log₂ because the operating points double (2, 4, ..., 32).

    A method's colour and marker come from its declared properties (:func:`method_color`,
    :func:`method_marker`), explained in the legend. The evaluated method is drawn thicker and
    listed first, then the baselines, then the matched controls (the evaluated method's
    per-layer sizes, weights chosen by magnitude or at random), drawn in the evaluated method's
    colour with hollow markers and a dashed or dotted line. The unpruned control is a dashed dark
    line, since every pruned result must be read against it. The file is written atomically; the
    figure is returned for inspection.
    """
    drawn = methods.all
    _check_methods(cells, drawn)
    curves = {method: _curve(cells[cells["strategy"] == method], x, metric) for method in drawn}
    control_value = 100 * float(control[metric])
    figure = Figure(figsize=(9.5, 5.2), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.95):
        axes = figure.subplots()
        handles, labels = [], []
        for method in drawn:
            style = _style(method, methods)
            handle = _draw_method(axes, method, cells, curves[method], x, metric, style)
            handles.append(handle)
            labels.append(style.label)
        control_line = axes.axhline(
            control_value,
            color="0.2",
            linestyle="--",
            linewidth=1.2,
            zorder=_CONTROL_ZORDER,
        )
        handles.append(control_line)
        labels.append(f"control (unpruned): {control_value:.1f}%")
        _log2_axis(axes, cells.loc[cells["strategy"].isin(drawn), x])
        axes.set_xlabel(X_LABELS[x])
        axes.set_ylabel(f"{METRIC_LABELS[metric]} (%)")
        # Left-aligned: centred over the axes, a long title runs off the figure's left edge
        # once a wide legend (long method names) narrows the axes.
        axes.set_title(
            f"{METRIC_LABELS[metric]} vs. {X_TITLES[x]}: {setup['model']} on {setup['dataset']}",
            loc="left",
        )
        sizes = pd.concat([curve["n"] for curve in curves.values()])
        # Outside the axes: with eight or nine methods a legend inside would hide some curve.
        axes.legend(
            handles=handles,
            labels=labels,
            title=_band_note(int(sizes.min()), int(sizes.max())) + _style_key(methods),
            title_fontsize="small",
            alignment="left",
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize="small",
        )
    _save(figure, Path(path))
    return figure


def _band_note(fewest: int, most: int) -> str:
    """What the points, the line and the band are, with the number of seeds behind each mean."""
    if most < 2:
        return "points: each seed; line: mean\nno band: a single seed (n = 1)"
    seeds = f"n = {most} seeds" if fewest == most else f"n = {fewest}–{most} seeds"
    gaps = ";\nnone where n = 1" if fewest < 2 else ""
    return f"points: each seed; line: mean\nband: 95% CI of the mean\n(Student t, {seeds}{gaps})"


def _style_key(methods: Methods) -> str:
    """The legend's key to colours and markers; the markers' only where they differ."""
    unmatched = [method for method in methods.all if method not in methods.matched]
    key = "\ncolour: score; dark global, light layerwise"
    markers = {method_marker(method, methods) for method in unmatched}
    if len(markers) > 1:
        described = [words for marker, words in _MARKER_WORDS.items() if marker in markers]
        key += "\nmarker: " + ", ".join(described)
    return key


# Every band lies under every point and line, so no method's interval hides another's curve;
# the control line lies over the bands; the evaluated method's line is drawn last.
_BAND_ZORDER, _CONTROL_ZORDER, _SEEDS_ZORDER = 1.0, 1.5, 2.0


class _Style(NamedTuple):
    label: str
    color: tuple[float, float, float]
    marker: str
    hollow: bool
    linestyle: Any
    linewidth: float
    markersize: float
    band_alpha: float
    zorder: float


# Matched controls by score (what chooses the weights within a layer): line style and marker.
_MATCHED_STYLES = {"magnitude": ("--", "s"), "random": (":", "o")}
_OTHER_MATCHED_STYLE = ("-.", "^")


def _style(method: str, methods: Methods) -> _Style:
    """How ``method`` is drawn: the evaluated one stands out, matched controls wear its colour."""
    strategy = methods.strategy
    if method == strategy:
        return _Style(
            label=f"{method} (evaluated)",
            color=method_color(method, methods),
            marker=method_marker(method, methods),
            hollow=False,
            linestyle="-",
            linewidth=2.8,
            markersize=7,
            band_alpha=0.2,
            zorder=4,
        )
    if method in methods.matched:
        within = methods.part(method, "score")
        linestyle, marker = _MATCHED_STYLES.get(within, _OTHER_MATCHED_STYLE)
        sizes = f"{strategy}'s layer sizes" + (f", {within}" if within else "")
        return _Style(
            label=f"{method} ({sizes})",
            color=method_color(strategy, methods),
            marker=marker,
            hollow=True,
            linestyle=linestyle,
            linewidth=1.8,
            markersize=6,
            band_alpha=0.1,
            zorder=3,
        )
    return _Style(
        label=method,
        color=method_color(method, methods),
        marker=method_marker(method, methods),
        hollow=False,
        linestyle="-",
        linewidth=1.5,
        markersize=5,
        band_alpha=0.14,
        zorder=2.5,
    )


def _curve(rows: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """Per target compression: seeds, mean x, mean and 95% CI half-width of ``metric`` in %."""
    groups = rows.groupby("target_compression", sort=True)
    curve = pd.DataFrame(
        {
            "n": groups[metric].count(),
            "x": groups[x].mean(),
            "mean": 100 * groups[metric].mean(),
            "std": 100 * groups[metric].std(ddof=1),
        }
    )
    n = curve["n"].to_numpy(dtype=float)
    # NaN for a single seed (no spread to estimate): the band has a gap there, not a zero width.
    quantile = stats.t.ppf(0.975, np.where(n > 1, n - 1, np.nan))
    curve["half_width"] = quantile * curve["std"].to_numpy() / np.sqrt(n)
    return curve.reset_index()


def _draw_method(
    axes: Any,
    method: str,
    cells: pd.DataFrame,
    curve: pd.DataFrame,
    x: str,
    metric: str,
    style: _Style,
) -> Any:
    """Seeds, band and mean line of one method; returns its legend handle."""
    seeds = cells[cells["strategy"] == method]
    axes.scatter(
        seeds[x],
        100 * seeds[metric],
        s=18,
        marker=style.marker,
        facecolors="none" if style.hollow else [style.color],
        edgecolors=[style.color],
        linewidths=0.9 if style.hollow else 0,
        alpha=0.35,
        zorder=_SEEDS_ZORDER,
        gid=f"seeds:{method}",
    )
    band = None
    if curve["half_width"].notna().any():
        # Accuracy lies in [0, 100] %: a wide t interval (three seeds, two degrees of freedom)
        # must not stretch the axis past what any run can reach.
        band = axes.fill_between(
            curve["x"],
            (curve["mean"] - curve["half_width"]).clip(lower=0.0),
            (curve["mean"] + curve["half_width"]).clip(upper=100.0),
            color=style.color,
            alpha=style.band_alpha,
            linewidth=0,
            zorder=_BAND_ZORDER,
            gid=f"band:{method}",
        )
    (line,) = axes.plot(
        curve["x"],
        curve["mean"],
        color=style.color,
        linestyle=style.linestyle,
        linewidth=style.linewidth,
        marker=style.marker,
        markersize=style.markersize,
        markerfacecolor="white" if style.hollow else style.color,
        markeredgecolor=style.color,
        markeredgewidth=1.4 if style.hollow else 0.8,
        zorder=style.zorder,
        gid=f"mean:{method}",
    )
    return (band, line) if band is not None else line


def _check_methods(cells: pd.DataFrame, methods: Sequence[str]) -> None:
    """A listed method without any cell is an error, as in :func:`select_methods`."""
    available = sorted(cells["strategy"].unique())
    for method in methods:
        if method not in available:
            have = ", ".join(available)
            raise PrunebenchError(f"no results for method {method!r} (have: {have})")


def _log2_axis(axes: Any, values: pd.Series) -> None:
    """A log₂ x axis with a plain-number tick ("2", "4", ...) at each power of two in view.

    The view is the data range plus a small margin, widened to the neighbouring powers of two
    only when it would otherwise hold fewer than two ticks (a narrow range of speedups).
    """
    margin = 2.0**0.2
    low, high = float(values.min()) / margin, float(values.max()) * margin
    exponents = range(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)
    if len(exponents) < 2:
        low, high = 2.0 ** math.floor(math.log2(low)), 2.0 ** math.ceil(math.log2(high))
        exponents = range(round(math.log2(low)), round(math.log2(high)) + 1)
    axes.set_xscale("log", base=2)
    axes.set_xlim(low, high)
    axes.xaxis.set_major_locator(FixedLocator([2.0**exponent for exponent in exponents]))
    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axes.xaxis.set_minor_locator(NullLocator())


def _save(figure: Figure, path: Path) -> None:
    """Write the PNG under a temporary name and rename it, so no half-written file is left."""
    with atomic_file(path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)
