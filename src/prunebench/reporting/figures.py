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

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_file
from prunebench.reporting.methods import (
    CHANNEL,
    GRADUAL,
    ITERATIVE,
    LAYERWISE,
    ONE_SHOT,
    UNSTRUCTURED,
    Methods,
)
from prunebench.reporting.report.setup import ReportSetup
from prunebench.reporting.speed import MeasuredSpeed, hardware_summary

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
    setup: ReportSetup,
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
            f"{METRIC_LABELS[metric]} vs. {X_TITLES[x]}: {setup.model} on {setup.dataset}",
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


SPEEDUP_LABELS = {
    "theoretical": "Theoretical speedup (dense / nonzero multiply-adds)",
    "measured": "Measured speedup (dense / pruned median latency)",
}


def plot_measured_speedup(
    speed: MeasuredSpeed,
    path: str | os.PathLike[str],
    *,
    methods: Methods,
    setup: ReportSetup,
) -> Figure:
    """Measured against theoretical speedup, one panel per batch size; save it as a PNG.

    Per method and target compression, a point at the mean theoretical speedup (x) and the mean
    measured speedup of its best execution (y), over seeds, with a bar of ± one sample std of
    the measured one (none for a single seed); a method's points are joined in the order of its
    targets and drawn as in the accuracy figures (:func:`_style`). Both axes are log₂ with the
    same limits in every panel, so the dashed diagonal (measured = theoretical) is where a
    pruned model would run as much faster as it saves multiply-adds, and the faint line at 1 is
    no speedup at all. The title names the model and the machine the timings were taken on.
    The file is written atomically; the figure is returned for inspection.
    """
    table = speed.table
    drawn = methods.all
    _check_methods(table, drawn)
    batches = speed.batch_sizes
    mean, std = table["measured_speedup_mean"], table["measured_speedup_std"].fillna(0.0)
    # One view for every panel, the diagonal's 1 included, so that panels compare at a glance.
    extent = pd.concat(
        [table["theoretical_speedup"], mean - std, mean + std, pd.Series([1.0])]
    ).dropna()
    extent = extent[extent > 0]
    figure = Figure(figsize=(4.3 * len(batches) + 3.4, 5.0), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        panels = figure.subplots(1, len(batches), sharex=True, sharey=True, squeeze=False)[0]
        for axes, batch in zip(panels, batches, strict=True):
            rows = table[table["batch_size"] == batch]
            styles = [_style(method, methods) for method in drawn]
            handles = [
                _draw_speedups(axes, method, rows, style)
                for method, style in zip(drawn, styles, strict=True)
            ]
            _log2_axis(axes, extent, "x")
            _log2_axis(axes, extent, "y")
            axes.set_box_aspect(1)
            references = _draw_speedup_references(axes)
            axes.set_title(speed.batch_title(batch), loc="left", fontsize="medium")
            axes.set_xlabel(SPEEDUP_LABELS["theoretical"], fontsize="small")
        panels[0].set_ylabel(SPEEDUP_LABELS["measured"], fontsize="small")
        sizes = table["n_seeds"]
        labels = [style.label for style in styles]
        panels[-1].legend(
            handles=[*handles, *references],
            labels=[*labels, "measured = theoretical", "no speedup (1×)"],
            title=_speedup_note(int(sizes.min()), int(sizes.max())) + _style_key(methods),
            title_fontsize="small",
            alignment="left",
            loc="upper left",
            bbox_to_anchor=(1.04, 1.0),
            fontsize="small",
        )
        repeats, warmup = speed.settings.get("repeats", "?"), speed.settings.get("warmup", "?")
        figure.suptitle(
            f"Measured vs. theoretical speedup: {setup.model} on {setup.dataset}\n"
            f"timed on {hardware_summary(speed.hardware)}; median of {repeats} runs after "
            f"{warmup} warm-up",
            x=0.01,
            ha="left",
            fontsize="medium",
        )
    _save(figure, Path(path))
    return figure


def _draw_speedups(axes: Any, method: str, rows: pd.DataFrame, style: _Style) -> Any:
    """One method's mean measured speedup per target, with ± one std; returns its handle."""
    mine = rows[rows["strategy"] == method].sort_values("target_compression")
    mean = mine["measured_speedup_mean"].to_numpy(dtype=float)
    std = mine["measured_speedup_std"].fillna(0.0).to_numpy(dtype=float)
    # A log axis has no zero: a bar longer than its mean would reach below the view.
    below = np.minimum(std, 0.95 * mean)
    drawn = axes.errorbar(
        mine["theoretical_speedup"].to_numpy(dtype=float),
        mean,
        yerr=[below, std],
        color=style.color,
        linestyle=style.linestyle,
        linewidth=0.8 * style.linewidth,
        marker=style.marker,
        markersize=style.markersize + 1,
        markerfacecolor="white" if style.hollow else style.color,
        markeredgecolor=style.color,
        markeredgewidth=1.4 if style.hollow else 0.8,
        elinewidth=1.0,
        capsize=2.5,
        zorder=style.zorder,
    )
    # The mean's line only: errorbar would give the caps and bars the same gid.
    drawn.lines[0].set_gid(f"measured:{method}")
    return drawn


def _draw_speedup_references(axes: Any) -> list[Any]:
    """The diagonal (measured = theoretical) and the line of no speedup, each labelled in place."""
    low, high = axes.get_xlim()
    (diagonal,) = axes.plot(
        [low, high], [low, high], color="0.25", linestyle="--", linewidth=1.1,
        zorder=_CONTROL_ZORDER, gid="diagonal",
    )  # fmt: skip
    none = axes.axhline(1.0, color="0.45", linewidth=1.0, alpha=0.5, zorder=_BAND_ZORDER,
                        gid="no-speedup")  # fmt: skip
    # Square panels with equal limits: the diagonal rises at 45° on screen.
    where = low * (high / low) ** 0.8
    axes.text(where, where * 1.12, "measured = theoretical", rotation=45, rotation_mode="anchor",
              ha="center", va="bottom", fontsize="x-small", color="0.25")  # fmt: skip
    axes.text(high / 1.08, 1.04, "no speedup", ha="right", va="bottom", fontsize="x-small",
              color="0.4")  # fmt: skip
    return [diagonal, none]


def _speedup_note(fewest: int, most: int) -> str:
    """What a point and its bar are, with the number of seeds behind each mean."""
    seeds = f"n = {most} seeds" if fewest == most else f"n = {fewest}–{most} seeds"
    if most < 2:
        return "point: a single seed (n = 1), no bar\nbest execution of each pruned model"
    gaps = "; no bar where n = 1" if fewest < 2 else ""
    return (
        f"point: mean over seeds ({seeds})\nbar: ± 1 sample std{gaps}\n"
        "best execution of each pruned model"
    )


def _check_methods(cells: pd.DataFrame, methods: Sequence[str]) -> None:
    """A listed method without any cell is an error, as in :func:`select_methods`."""
    available = sorted(cells["strategy"].unique())
    for method in methods:
        if method not in available:
            have = ", ".join(available)
            raise PrunebenchError(f"no results for method {method!r} (have: {have})")


def _log2_axis(axes: Any, values: pd.Series, axis: Literal["x", "y"] = "x") -> None:
    """A log₂ ``axis`` with a plain-number tick ("2", "4", ...) at each power of two in view.

    The view is the data range plus a small margin, widened to the neighbouring powers of two
    only when it would otherwise hold fewer than two ticks (a narrow range of speedups).
    """
    margin = 2.0**0.2
    low, high = float(values.min()) / margin, float(values.max()) * margin
    exponents = range(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)
    if len(exponents) < 2:
        low, high = 2.0 ** math.floor(math.log2(low)), 2.0 ** math.ceil(math.log2(high))
        exponents = range(round(math.log2(low)), round(math.log2(high)) + 1)
    getattr(axes, f"set_{axis}scale")("log", base=2)
    getattr(axes, f"set_{axis}lim")(low, high)
    ticks = getattr(axes, f"{axis}axis")
    ticks.set_major_locator(FixedLocator([2.0**exponent for exponent in exponents]))
    ticks.set_major_formatter(StrMethodFormatter("{x:g}"))
    ticks.set_minor_locator(NullLocator())


def _save(figure: Figure, path: Path) -> None:
    """Write the PNG under a temporary name and rename it, so no half-written file is left."""
    with atomic_file(path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)
