"""Measured against theoretical speedup: how much faster each pruned model really runs, on the
machine that timed it, beside what its multiply-adds promise."""

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from prunebench.reporting.figures.axes import (
    BAND_ZORDER,
    GUIDE_ZORDER,
    check_methods,
    log2_axis,
    save,
)
from prunebench.reporting.figures.style import MethodStyle, method_style, style_key
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.setup import ReportSetup
from prunebench.reporting.speed import MeasuredSpeed, hardware_summary

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
    targets and drawn as in the accuracy figures (:func:`~.style.method_style`). Both axes are
    log₂ with the same limits in every panel, so the dashed diagonal (measured = theoretical) is
    where a pruned model would run as much faster as it saves multiply-adds, and the faint line
    at 1 is no speedup at all. The title names the model and the machine the timings were taken on.
    The file is written atomically; the figure is returned for inspection.
    """
    table = speed.table
    drawn = methods.all
    check_methods(table, drawn)
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
            styles = [method_style(method, methods) for method in drawn]
            handles = [
                _draw_speedups(axes, method, rows, style)
                for method, style in zip(drawn, styles, strict=True)
            ]
            log2_axis(axes, extent, "x")
            log2_axis(axes, extent, "y")
            axes.set_box_aspect(1)
            guides = _draw_guides(axes)
            axes.set_title(speed.batch_title(batch), loc="left", fontsize="medium")
            axes.set_xlabel(SPEEDUP_LABELS["theoretical"], fontsize="small")
        panels[0].set_ylabel(SPEEDUP_LABELS["measured"], fontsize="small")
        sizes = table["n_seeds"]
        labels = [style.label for style in styles]
        panels[-1].legend(
            handles=[*handles, *guides],
            labels=[*labels, "measured = theoretical", "no speedup (1×)"],
            title=_speedup_note(int(sizes.min()), int(sizes.max())) + style_key(methods),
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
    save(figure, Path(path))
    return figure


def _draw_speedups(axes: Any, method: str, rows: pd.DataFrame, style: MethodStyle) -> Any:
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


def _draw_guides(axes: Any) -> list[Any]:
    """The diagonal (measured = theoretical) and the line of no speedup, each labelled in place."""
    low, high = axes.get_xlim()
    (diagonal,) = axes.plot(
        [low, high],
        [low, high],
        color="0.25",
        linestyle="--",
        linewidth=1.1,
        zorder=GUIDE_ZORDER,
        gid="diagonal",
    )
    none = axes.axhline(
        1.0, color="0.45", linewidth=1.0, alpha=0.5, zorder=BAND_ZORDER, gid="no-speedup"
    )
    # Square panels with equal limits: the diagonal rises at 45° on screen.
    where = low * (high / low) ** 0.8
    axes.text(
        where,
        where * 1.12,
        "measured = theoretical",
        rotation=45,
        rotation_mode="anchor",
        ha="center",
        va="bottom",
        fontsize="x-small",
        color="0.25",
    )
    axes.text(
        high / 1.08, 1.04, "no speedup", ha="right", va="bottom", fontsize="x-small", color="0.4"
    )
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
