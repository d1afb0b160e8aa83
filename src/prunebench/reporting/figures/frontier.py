"""Top-1 against measured speedup, every method of the leaderboard: which pruned models run
faster without losing accuracy, and the frontier no method gets past."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from prunebench.reporting.figures.axes import BAND_ZORDER, GUIDE_ZORDER, log2_axis, save
from prunebench.reporting.figures.style import method_color, method_marker, style_key
from prunebench.reporting.leaderboard.frontier import TOLERANCE
from prunebench.reporting.methods import Methods

X_LABEL = "Measured speedup (dense / pruned median latency, ×, log₂ scale)"
ZOOM_BELOW = 0.05
"""The right panel shows top-1 down to this far below the control: five points."""


@dataclass(frozen=True)
class FrontierSetup:
    """What the figure's title and guides say: the model, the machine and the control."""

    model: str
    dataset: str
    timed_on: str
    """The machine and the batch the speedups were timed at, in a few words."""
    control_top1: float
    n_seeds: int
    """The seeds behind each point's top-1."""
    timed_seeds: tuple[int, ...] = ()
    """The seeds whose models were timed (params ``latency.seeds``): each point's speedup is
    their mean; empty: every seed."""


def plot_frontier(
    points: pd.DataFrame,
    front: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    methods: Methods,
    setup: FrontierSetup,
) -> Figure:
    """Each method's points (mean top-1 against mean measured speedup per target compression,
    joined in the order of its targets) and the frontier; save it as a PNG.

    ``points`` and ``front`` are :func:`~prunebench.reporting.leaderboard.frontier.speed_points`
    and :func:`~prunebench.reporting.leaderboard.frontier.pareto_front`. Two panels share the
    log₂ speedup axis: every point, and a zoom on the accuracies near the control. The control
    is the star at 1× and the dotted line is the accuracy to keep (the control less
    :data:`~prunebench.reporting.leaderboard.frontier.TOLERANCE`). Colours and markers are the
    method's look in every figure (``style``). The file is written atomically; the figure is
    returned for inspection.
    """
    control = 100 * setup.control_top1
    floor = control - 100 * TOLERANCE
    figure = Figure(figsize=(13.0, 5.6), layout="constrained")
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        panels = figure.subplots(1, 2, sharex=True)
        for axes in panels:
            handles = [
                _draw_method(axes, method, points, methods) for method in points["method"].unique()
            ]
            (frontier,) = axes.plot(
                front["speedup"],
                100 * front["top1"],
                color="black",
                linewidth=5,
                alpha=0.18,
                solid_capstyle="round",
                zorder=BAND_ZORDER,
            )
            (star,) = axes.plot(
                [1.0], [control], marker="*", markersize=14, color="black", linestyle="none"
            )
            keep = axes.axhline(
                floor, color="0.2", linestyle=":", linewidth=1.2, zorder=GUIDE_ZORDER
            )
            log2_axis(axes, pd.concat([points["speedup"], pd.Series([1.0])]))
            axes.set_xlabel(X_LABEL, fontsize="small")
        panels[0].set_ylabel("Top-1 accuracy (%)")
        panels[0].set_title("every target compression", loc="left", fontsize="medium")
        near = points[100 * points["top1"] >= control - 100 * ZOOM_BELOW]
        top = max(control, 100 * float(near["top1"].max()) if len(near) else control)
        panels[1].set_ylim(control - 100 * ZOOM_BELOW, top + 0.5)
        panels[1].set_title(
            f"zoom: within {100 * ZOOM_BELOW:.0f} points of the control",
            loc="left",
            fontsize="medium",
        )
        labels = [*points["method"].unique()]
        panels[1].legend(
            handles=[*handles, star, keep, frontier],
            labels=[
                *labels,
                f"control (unpruned): {control:.1f}%",
                f"control − {100 * TOLERANCE:g} point: {floor:.1f}%",
                "frontier: no point is faster\nand more accurate",
            ],
            title=_point_note(setup) + style_key(methods),
            title_fontsize="small",
            alignment="left",
            loc="upper left",
            bbox_to_anchor=(1.03, 1.0),
            fontsize="small",
        )
        figure.suptitle(
            f"Top-1 vs. measured speedup: {setup.model} on {setup.dataset}\n{setup.timed_on}",
            x=0.01,
            ha="left",
            fontsize="medium",
        )
    save(figure, Path(path))
    return figure


def _draw_method(axes: Any, method: str, points: pd.DataFrame, methods: Methods) -> Any:
    mine = points[points["method"] == method].sort_values("target_compression")
    color = method_color(method, methods)
    (line,) = axes.plot(
        mine["speedup"],
        100 * mine["top1"],
        color=color,
        marker=method_marker(method, methods),
        markersize=5,
        linewidth=1.3,
        gid=f"points:{method}",
    )
    return line


def _point_note(setup: FrontierSetup) -> str:
    """What a point is: top-1 over every seed, speedup over the timed seeds only."""
    timed = setup.timed_seeds
    if not timed or len(timed) == setup.n_seeds:
        return f"point: mean over {setup.n_seeds} seeds\nof one target compression"
    speedup = (
        f"speedup of seed {timed[0]}'s model"
        if len(timed) == 1
        else f"speedup: mean over seeds {', '.join(map(str, timed))}"
    )
    return f"point: top-1 mean over {setup.n_seeds} seeds,\n{speedup},\nof one target compression"
