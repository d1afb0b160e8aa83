"""Stage leaderboard: every method of the leaderboard pipeline ranked on one page, with figures.

The leaderboard pipeline (leaderboard/dvc.yaml) prunes, finetunes, evaluates and times every
method of leaderboard/params.yaml as the default pipeline does a baseline, on the default
benchmark. This last stage :func:`load` s their cells, the control and the timings, checks that
they stand on one footing (the aggregate stage's checks: one recipe, model and data; timings
from one machine), :func:`compute` s the page (``prunebench.reporting.leaderboard``) and writes
``results/leaderboard.md`` and its figures.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prunebench.foundations.files import atomic_write_bytes, check_writable, read_json
from prunebench.pipeline.configs import LeaderboardConfig
from prunebench.pipeline.layout import CONTROL_LATENCY, Role, method_folder
from prunebench.pipeline.records import CellMetrics, ControlMetrics
from prunebench.stages.aggregate import (
    check_same_footing,
    check_same_machine,
    collect_cells,
    read_timings,
)

if TYPE_CHECKING:
    from prunebench.reporting.leaderboard.page import Leaderboard

CRITICAL_DIFFERENCE_FIGURE = "critical_difference.png"
FRONTIER_FIGURE = "top1_vs_measured_speedup.png"


@dataclass(frozen=True)
class Loaded:
    """Every ranked method's cell records, the control's metrics, and the timings (every cell's
    latency record and the control's), as in their files."""

    cells: list[dict[str, Any]]
    control: dict[str, Any]
    timings: tuple[list[dict[str, Any]], dict[str, Any]]


def load(config: LeaderboardConfig, *, cells: Path, latency: Path, control: Path) -> Loaded:
    """Read the cells and timings of every method of ``config`` and the control's metrics."""
    folders = {name: method_folder(Role.BASELINE, name) for name in config.methods}
    record = read_json(control)
    ControlMetrics.from_json(record, str(control))
    return Loaded(
        cells=collect_cells(
            {name: cells / folder for name, folder in folders.items()}, record=CellMetrics
        ),
        control=record,
        timings=read_timings(
            {name: latency / folder for name, folder in folders.items()},
            latency / CONTROL_LATENCY,
        ),
    )


def compute(
    config: LeaderboardConfig, loaded: Loaded, *, figures: str
) -> tuple["Leaderboard", dict[str, Callable[[Path], None]]]:
    """The page's contents and its figures' drawers by file name (``draw(path)``); ``figures``
    is the figures' folder as the page links it."""
    from prunebench.reporting import (
        Methods,
        budget_table,
        cells_table,
        grouped_table,
        measured_speed,
    )
    from prunebench.reporting.figures.frontier import FrontierSetup, plot_frontier
    from prunebench.reporting.figures.ranks import plot_critical_difference
    from prunebench.reporting.leaderboard import frontier
    from prunebench.reporting.leaderboard.page import Leaderboard
    from prunebench.reporting.leaderboard.ranking import curve_averages, rank_test
    from prunebench.reporting.speed import hardware_summary

    names = list(config.methods)
    table = cells_table(loaded.cells)
    grouped = grouped_table(table)
    speed = measured_speed(
        *loaded.timings, table, grouped, evaluation_batch=config.evaluation_batch_size
    )
    points = frontier.speed_points(grouped, speed.table, speed.evaluation_batch)
    front = frontier.pareto_front(points)
    control_top1 = float(loaded.control["top1"])
    test = rank_test(table, names)
    # Every ranked method is a baseline here: Methods gives the figures their parts and looks.
    properties = {name: kind.to_json() for name, kind in config.methods.items()}
    methods = Methods(strategy=names[0], baselines=names, properties=properties)
    timed_on = hardware_summary(speed.hardware)
    setup = FrontierSetup(
        model=config.model,
        dataset=config.dataset,
        timed_on=f"timed on {timed_on}; {speed.batch_title(speed.evaluation_batch)}",
        control_top1=control_top1,
        n_seeds=len(config.seeds),
        timed_seeds=tuple(sorted({record["seed"] for record in loaded.timings[0]})),
    )
    drawers = {FRONTIER_FIGURE: partial(plot_frontier, points, front, methods=methods, setup=setup)}
    captions = {"top-1 against measured speedup": FRONTIER_FIGURE}
    if test is not None:
        what = "top-1 per (compression, seed) cell"
        drawers[CRITICAL_DIFFERENCE_FIGURE] = partial(plot_critical_difference, test, what=what)
        captions["critical-difference diagram"] = CRITICAL_DIFFERENCE_FIGURE
    board = Leaderboard(
        config=config,
        control_top1=control_top1,
        grouped=grouped,
        ranking=curve_averages(table, names),
        test=test,
        speed=speed,
        fastest=frontier.fastest_within(points, control_top1),
        front=front,
        budgets=budget_table(table, names, methods),
        figures={caption: f"{figures}/{name}" for caption, name in captions.items()},
    )
    return board, drawers


def leaderboard(
    config: LeaderboardConfig,
    *,
    cells: Path,
    latency: Path,
    control: Path,
    page: Path,
    figures: Path,
) -> None:
    """Rank the methods of ``config`` and write the page and its figures.

    Args:
        config: the resolved leaderboard config: the methods, their parts and the grid.
        cells: the leaderboard's evaluated cells (``results/leaderboard/cells``).
        latency: the leaderboard's timings (``results/leaderboard/latency``), the control's too.
        control: the unpruned control's metrics (``results/control.json``).
        page: where the Markdown page goes (``results/leaderboard.md``).
        figures: where its figures go (``results/leaderboard/figures``).
    """
    from prunebench.reporting.leaderboard.page import render_leaderboard

    check_writable(page.parent)
    check_writable(figures)
    loaded = load(config, cells=cells, latency=latency, control=control)
    check_same_footing(loaded.cells, loaded.control)
    check_same_machine(*loaded.timings)
    linked = Path(os.path.relpath(figures, page.parent)).as_posix()
    board, drawers = compute(config, loaded, figures=linked)
    text = render_leaderboard(board)
    for name in (CRITICAL_DIFFERENCE_FIGURE, FRONTIER_FIGURE):
        # A figure this run does not draw (too small a grid to group) would contradict the page.
        if name not in drawers:
            (figures / name).unlink(missing_ok=True)
    for name, draw in drawers.items():
        draw(figures / name)
    atomic_write_bytes(page, text.encode())
