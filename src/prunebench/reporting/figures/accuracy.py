"""The paper's two tradeoff curves: accuracy against compression ratio and against theoretical
speedup, every seed, the mean and its 95% confidence band, per method."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from scipy import stats

from prunebench.reporting.figures.axes import (
    BAND_ZORDER,
    GUIDE_ZORDER,
    SEEDS_ZORDER,
    check_methods,
    log2_axis,
    save,
    side_legend,
)
from prunebench.reporting.figures.style import MethodStyle, method_style, style_key
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.setup import ReportSetup

XAxis = Literal["compression", "speedup"]
Metric = Literal["top1", "top5"]

X_LABELS = {
    "compression": "Compression ratio (×, log₂ scale)",
    "speedup": "Theoretical speedup (×, log₂ scale)",
}
X_TITLES = {"compression": "compression ratio", "speedup": "theoretical speedup"}
METRIC_LABELS = {"top1": "Top-1 accuracy", "top5": "Top-5 accuracy"}


def plot_accuracy(
    cells: pd.DataFrame,
    control: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    methods: Methods,
    setup: ReportSetup,
    x: XAxis = "compression",
    metric: Metric = "top1",
    control_label: str = "control (unpruned)",
) -> Figure:
    """Draw every seed, the mean and its 95% confidence band against ``x``; save it as a PNG.

    ``cells`` has one row per (strategy, target compression, seed), as
    :func:`~prunebench.reporting.tables.cells_table` returns. Per method, each seed is a faint
    point at its own achieved compression (or speedup); the line joins the means over seeds at
    the mean achieved x of each target, so a method that misses its target is shown where it
    really is; the band is the 95% confidence interval of that mean (Student t over the seeds),
    absent where a target has a single seed. A note in the legend says so, with the number of
    seeds. The x axis is log₂ because the operating points double (2, 4, ..., 32).

    A method's colour and marker come from its declared properties
    (:func:`~.style.method_color`, :func:`~.style.method_marker`), explained in the legend. The
    evaluated method is drawn thicker and listed first, then the baselines, then the matched
    controls (the evaluated method's per-layer sizes, weights chosen by magnitude or at random),
    drawn in the evaluated method's colour with hollow markers and a dashed or dotted line. The
    unpruned control is a dashed dark line, since every pruned result must be read against it
    (``control_label`` names it: in a run of several initial models, the caller passes the mean
    of their controls). With several initial models in ``cells``, a point is a run (one seed from
    one initial model) and the note counts runs. The file is written atomically; the figure is
    returned for inspection.
    """
    drawn = methods.all
    check_methods(cells, drawn)
    curves = {method: _curve(cells[cells["strategy"] == method], x, metric) for method in drawn}
    control_value = 100 * float(control[metric])
    figure = Figure(figsize=(9.5, 5.2), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.95):
        axes = figure.subplots()
        handles, labels = [], []
        for method in drawn:
            style = method_style(method, methods)
            handle = _draw_method(axes, method, cells, curves[method], x, metric, style)
            handles.append(handle)
            labels.append(style.label)
        control_line = axes.axhline(
            control_value,
            color="0.2",
            linestyle="--",
            linewidth=1.2,
            zorder=GUIDE_ZORDER,
        )
        handles.append(control_line)
        labels.append(f"{control_label}: {control_value:.1f}%")
        log2_axis(axes, cells.loc[cells["strategy"].isin(drawn), x])
        axes.set_xlabel(X_LABELS[x])
        axes.set_ylabel(f"{METRIC_LABELS[metric]} (%)")
        # Left-aligned: centred over the axes, a long title runs off the figure's left edge
        # once a wide legend (long method names) narrows the axes.
        axes.set_title(
            f"{METRIC_LABELS[metric]} vs. {X_TITLES[x]}: {setup.model} on {setup.dataset}",
            loc="left",
        )
        sizes = pd.concat([curve["n"] for curve in curves.values()])
        several = (
            (cells["seed"].nunique(), cells["initial_model"].nunique())
            if "initial_model" in cells and cells["initial_model"].nunique() > 1
            else None
        )
        side_legend(
            axes,
            handles,
            labels,
            _band_note(int(sizes.min()), int(sizes.max()), several) + style_key(methods),
        )
    save(figure, Path(path))
    return figure


def _band_note(fewest: int, most: int, several: tuple[int, int] | None = None) -> str:
    """What the points, the line and the band are, with the number of seeds behind each mean
    (of runs in a run of several initial models: ``several`` is ``(seeds, initial models)``)."""
    if several is not None:
        runs = f"n = {most} runs" if fewest == most else f"n = {fewest}–{most} runs"
        return (
            "points: each run (a seed from\none initial model); line: mean\n"
            f"band: 95% CI of the mean\n(Student t, {runs}:\n"
            f"{several[0]} seeds × {several[1]} initial models)"
        )
    if most < 2:
        return "points: each seed; line: mean\nno band: a single seed (n = 1)"
    seeds = f"n = {most} seeds" if fewest == most else f"n = {fewest}–{most} seeds"
    gaps = ";\nnone where n = 1" if fewest < 2 else ""
    return f"points: each seed; line: mean\nband: 95% CI of the mean\n(Student t, {seeds}{gaps})"


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
    style: MethodStyle,
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
        zorder=SEEDS_ZORDER,
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
            zorder=BAND_ZORDER,
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
