"""The paper's two tradeoff curves: accuracy against compression ratio and against speedup.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` (rendered by Agg), never through
``pyplot``: no global figure state, no display backend, nothing left open between calls.
"""

import math
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

from prunebench.files import atomic_file
from prunebench.reporting.tables import methods_in_order, select_methods

XAxis = Literal["compression", "speedup"]
Metric = Literal["top1", "top5"]

X_LABELS = {
    "compression": "Compression ratio (×, log₂ scale)",
    "speedup": "Theoretical speedup (×, log₂ scale)",
}
X_TITLES = {"compression": "compression ratio", "speedup": "theoretical speedup"}
METRIC_LABELS = {"top1": "Top-1 accuracy", "top5": "Top-5 accuracy"}
DPI = 120

# A fixed colour per registered strategy, so a method keeps its colour in every figure of every
# experiment whatever set of methods is drawn. A global allocation and its layerwise sibling share
# a hue (dark / light); random is grey, the floor every method should clear.
_PALETTE = sns.color_palette("tab20", 20)
METHOD_COLORS = {
    "global_mag": _PALETTE[0],
    "layer_mag": _PALETTE[18],
    "global_grad": _PALETTE[4],
    "layer_grad": _PALETTE[16],
    "global_act": _PALETTE[8],
    "layer_act": _PALETTE[12],
    "lamp": _PALETTE[6],
    "random": _PALETTE[14],
}
# Methods registered later get a colour from their name's hash: stable, if not unique.
_SPARE_COLORS = [_PALETTE[2], _PALETTE[10], _PALETTE[1], _PALETTE[5], _PALETTE[9], _PALETTE[3]]


def method_color(method: str) -> tuple[float, float, float]:
    """The colour of ``method`` in every figure (fixed for known names, hashed otherwise)."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    return _SPARE_COLORS[zlib.crc32(method.encode()) % len(_SPARE_COLORS)]


def plot_accuracy(
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    strategy: str,
    baselines: Sequence[str],
    setup: Mapping[str, Any],
    x: XAxis = "compression",
    metric: Metric = "top1",
) -> Figure:
    """Draw mean accuracy (± one sample std) against ``x`` per method and save it as a PNG.

    The x position is the *achieved* mean compression (or speedup), not the target, so a method
    that misses its target is shown where it really is. The x axis is log₂ because the operating
    points double (2, 4, ..., 32). The evaluated method is drawn thicker and listed first; the
    unpruned control is a dashed line, since every pruned result must be read against it.
    The file is written atomically; the figure is returned for inspection.
    """
    methods = methods_in_order(strategy, baselines)
    rows = select_methods(grouped, methods)
    control_value = 100 * float(control[metric])
    figure = Figure(figsize=(9.0, 4.8), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.95):
        axes = figure.subplots()
        handles = []
        for method in methods:
            curve = rows[rows["strategy"] == method].sort_values(x)
            evaluated = method == strategy
            handle = axes.errorbar(
                curve[x],
                100 * curve[f"{metric}_mean"],
                yerr=100 * curve[f"{metric}_std"],
                label=f"{method} (evaluated)" if evaluated else method,
                color=method_color(method),
                marker="o" if evaluated else _marker(method),
                markersize=7 if evaluated else 5,
                linewidth=2.8 if evaluated else 1.5,
                capsize=3,
                zorder=3 if evaluated else 2,
            )
            handles.append(handle)
        control_line = axes.axhline(
            control_value,
            color="0.2",
            linestyle="--",
            linewidth=1.2,
            label=f"control (unpruned): {control_value:.1f}%",
            zorder=1,
        )
        _log2_axis(axes, rows[x])
        axes.set_xlabel(X_LABELS[x])
        axes.set_ylabel(f"{METRIC_LABELS[metric]} (%)")
        axes.set_title(
            f"{METRIC_LABELS[metric]} vs. {X_TITLES[x]}: {setup['model']} on {setup['dataset']}"
        )
        # Outside the axes: with eight methods a legend inside would hide some curve.
        axes.legend(
            handles=[*handles, control_line],
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize="small",
        )
    _save(figure, Path(path))
    return figure


def _marker(method: str) -> str:
    """Squares for layerwise allocations, diamonds for global ones, triangles otherwise."""
    if method.startswith("layer_"):
        return "s"
    if method.startswith("global_"):
        return "D"
    return "^"


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
