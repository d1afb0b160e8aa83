"""The leaderboard's Markdown page (``results/leaderboard.md``): the ranking with its groups, the
accuracy against measured speed, and every method's training budget.

Accuracies arrive as fractions in [0, 1] (as in the cell files); the page shows percent.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from prunebench.pipeline.configs import LeaderboardConfig
from prunebench.reporting.budget import BUDGET_TOLERANCE, differs
from prunebench.reporting.leaderboard.frontier import TOLERANCE
from prunebench.reporting.leaderboard.ranking import RankTest
from prunebench.reporting.speed import (
    EXECUTION_WORDS,
    MeasuredSpeed,
    hardware_text,
    milliseconds_text,
    speedup_text,
)
from prunebench.reporting.tables import percent, recipe_text

COMMAND = "dvc repro leaderboard/dvc.yaml"


@dataclass(frozen=True)
class Leaderboard:
    """What the page shows, computed by the leaderboard stage.

    ``grouped`` is the grouped table (top-1 per method and target); ``ranking``
    :func:`~.ranking.curve_averages`; ``test`` :func:`~.ranking.rank_test` (None where the grid
    is too small for it); ``fastest`` and ``front`` :func:`~.frontier.fastest_within` and
    :func:`~.frontier.pareto_front` at ``speed.evaluation_batch``; ``budgets``
    :func:`~prunebench.reporting.budget.budget_table`; ``figures`` each figure's caption and
    its path relative to the page.
    """

    config: LeaderboardConfig
    control_top1: float
    grouped: pd.DataFrame
    ranking: pd.DataFrame
    test: RankTest | None
    speed: MeasuredSpeed
    fastest: pd.DataFrame
    front: pd.DataFrame
    budgets: pd.DataFrame
    figures: Mapping[str, str]


def render_leaderboard(board: Leaderboard) -> str:
    """The whole page, ending in a newline."""
    lines = [
        f"# Leaderboard: every method on `{board.config.benchmark}`",
        "",
        *_setup_lines(board),
        "",
        "## Ranking",
        "",
        *_ranking_lines(board),
        "",
        "## Accuracy against measured speed",
        "",
        *_speed_lines(board),
        "",
        "## Training budget",
        "",
        *_budget_lines(board.budgets),
    ]
    return "\n".join(lines) + "\n"


def _setup_lines(board: Leaderboard) -> list[str]:
    config = board.config
    ranked = list(config.methods)
    missing = [name for name in config.registered if name not in config.methods]
    left_out = (
        f" Not ranked: {_names(missing)} (left out of `leaderboard/params.yaml`, which says why)."
        if missing
        else ""
    )
    targets = ", ".join(f"{target:g}×" for target in config.compressions)
    cells = len(ranked) * len(config.compressions) * len(config.seeds)
    budget = (
        " One-shot methods get the iterative methods' rounds (`equal_budget`)."
        if config.equal_budget
        else ""
    )
    return [
        f"{len(ranked)} of the {len(config.registered)} registered methods, each pruned with its "
        f"defaults from the same pretrained `{config.model}` (control top-1 "
        f"{percent(board.control_top1)} on `{config.dataset}`), finetuned with one recipe "
        f"({recipe_text(config.finetune.to_json())}), evaluated and timed on one grid: target "
        f"compressions {targets}, seeds {', '.join(map(str, config.seeds))} ({cells} cells)."
        f"{budget}{left_out}",
        "",
        f"Made by `{COMMAND}` (or `make leaderboard`) from `leaderboard/params.yaml` (methods "
        "and grid) and `params.yaml` (everything else); a re-run computes only what changed.",
    ]


def _ranking_lines(board: Leaderboard) -> list[str]:
    config, test = board.config, board.test
    letters = test.letters() if test is not None else {}
    targets = [float(target) for target in config.compressions]
    header = "| rank | method | structure | schedule | curve average (95% CI) | "
    header += " | ".join(f"{target:g}×" for target in targets) + " | mean rank | group |"
    lines = [
        "Ranked by the **curve average**: per seed, the area under top-1 against log₂(target "
        "compression) divided by its width (a flat curve's average is its top-1), then its "
        "mean over seeds with the 95% t interval. Top-1 at each target is the mean over seeds.",
        "",
        *_groups_lines(test, len(targets), len(config.seeds)),
        "",
        header,
        "| ---: | --- | --- | --- | ---: |" + " ---: |" * len(targets) + " ---: | --- |",
    ]
    top1 = board.grouped.set_index(["strategy", "target_compression"])["top1_mean"]
    for rank, row in enumerate(board.ranking.itertuples(index=False), start=1):
        kind = config.methods[row.method]
        interval = f"{percent(row.ci_low, '')} to {percent(row.ci_high, '')}"
        points = " | ".join(percent(top1.get((row.method, target)), "") for target in targets)
        mean_rank = f"{test.mean_ranks[row.method]:.2f}" if test is not None else "n/a"
        lines.append(
            f"| {rank} | `{row.method}` | {kind.structure} | {kind.schedule.replace('_', '-')} | "
            f"**{percent(row.curve_average, '')}** ({interval}) | {points} | {mean_rank} | "
            f"{letters.get(row.method, 'n/a')} |"
        )
    caption = "critical-difference diagram"
    if caption in board.figures:
        lines += ["", f"![{caption}]({board.figures[caption]})"]
    return lines


def _groups_lines(test: RankTest | None, targets: int, seeds: int) -> list[str]:
    """What the group letters mean: the test, its blocks, its level and its outcome."""
    blocks = (
        "a Friedman test over blocks, the (target compression, seed) cells of the grid, in each "
        "of which the methods are ranked by top-1 (one seed gives every method the same scoring "
        "data and data order)"
    )
    if test is None:
        return [
            f"**Groups**: none. They come from {blocks}, which needs at least three methods and "
            f"five blocks; this grid has {targets * seeds}."
        ]
    if not test.rejects:
        return [
            f"**Groups**: {blocks}: {test.blocks} blocks, {test.p_phrase}, not below α = "
            f"{test.alpha:g}. No method is detectably different from another: one group, `a`."
        ]
    return [
        f"**Groups**: {blocks}: {test.blocks} blocks, {test.p_phrase}, below α = {test.alpha:g}; "
        f"then the Nemenyi post-hoc test at α = {test.alpha:g}: two methods differ when their "
        f"mean ranks (1 = best) differ by more than the critical difference, "
        f"{test.critical_difference:.2f} (Demšar 2006; computed by `autorank`). Methods that "
        "share a letter are not detectably different; the groups are the bars of the "
        "critical-difference diagram below."
    ]


def _speed_lines(board: Leaderboard) -> list[str]:
    speed, fastest, front = board.speed, board.fastest, board.front
    batch = speed.batch_title(speed.evaluation_batch)
    floor = board.control_top1 - TOLERANCE
    ranked = list(board.config.methods)
    none = [name for name in ranked if name not in set(fastest["method"])]
    lines = [
        f"Measured speedup: the dense model's median latency over the pruned model's, both timed "
        f"in the same call on {hardware_text(speed.hardware)}, the pruned model run its fastest "
        f"way ({', '.join(EXECUTION_WORDS.values())}); mean over seeds, at {batch} unless said.",
        "",
    ]
    if len(fastest):
        best = fastest.iloc[0]
        lines += [
            f"**Fastest model within {100 * TOLERANCE:g} point of the control's top-1** (at least "
            f"{percent(floor)}): `{best['method']}` at {best['target_compression']:g}×, "
            f"{speedup_text(best['speedup'])} faster than the dense model at top-1 "
            f"{percent(best['top1'])}.",
            "",
        ]
    others = [size for size in speed.batch_sizes if size != speed.evaluation_batch]
    lines += [
        f"Each method's fastest model within {100 * TOLERANCE:g} point of the control:",
        "",
        "| method | structure | target | top-1 | measured speedup | latency | execution |"
        + "".join(f" speedup, batch {size} |" for size in others),
        "| --- | --- | ---: | ---: | ---: | ---: | --- |" + " ---: |" * len(others),
    ]
    for row in fastest.itertuples(index=False):
        at_other = "".join(f" {_speedup_at(speed, row, size)} |" for size in others)
        execution = EXECUTION_WORDS.get(row.execution, row.execution)
        lines.append(
            f"| `{row.method}` | {row.structure} | {row.target_compression:g}× | "
            f"{percent(row.top1)} | {speedup_text(row.speedup)} | "
            f"{milliseconds_text(row.latency_ms)} | {execution} |{at_other}"
        )
    if none:
        lines += ["", f"No model within {100 * TOLERANCE:g} point of the control: {_names(none)}."]
    frontier = ", ".join(
        f"`{row.method}` {row.target_compression:g}× ({speedup_text(row.speedup)}, "
        f"{percent(row.top1)})"
        for row in front.itertuples(index=False)
    )
    lines += [
        "",
        f"**Frontier** (the points no other point beats in both speed and top-1, slowest "
        f"first): {frontier}.",
    ]
    caption = "top-1 against measured speedup"
    if caption in board.figures:
        lines += ["", f"![{caption}]({board.figures[caption]})"]
    return lines


def _speedup_at(speed: MeasuredSpeed, row: object, batch: int) -> str:
    """The measured speedup of ``row``'s point at another batch size."""
    table = speed.table
    match = table[
        (table["strategy"] == row.method)
        & (table["target_compression"] == row.target_compression)
        & (table["batch_size"] == batch)
    ]
    return speedup_text(match["measured_speedup_mean"].iloc[0]) if len(match) else "n/a"


def _budget_lines(budgets: pd.DataFrame) -> list[str]:
    lines = [
        "What each method's cells used for finetuning, on average per cell (early stopping "
        "included; every round summed for iterative methods):",
        "",
        "| method | schedule | rounds | epochs | optimizer steps |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in budgets.itertuples(index=False):
        counts = " | ".join(_count(value) for value in (row.rounds, row.epochs, row.steps))
        lines.append(f"| `{row.method}` | {(row.schedule or 'n/a').replace('_', '-')} | {counts} |")
    steps = budgets.set_index("method")["steps"].dropna()
    if not len(steps):
        return lines
    usual = float(steps.mode().min())
    longer = [name for name, value in steps.items() if differs(value / usual - 1.0)]
    if longer:
        lines += [
            "",
            f"Unequal budgets: {_names(longer)} used more than {BUDGET_TOLERANCE:.0%} more "
            f"or fewer optimizer steps than the most common budget ({_count(usual)} per cell); "
            "part of a difference in accuracy may come from training longer rather than from "
            "pruning better. `equal_budget: true` in params.yaml gives one-shot methods as many "
            "rounds of the recipe as the iterative ones.",
        ]
    return lines


def _count(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
