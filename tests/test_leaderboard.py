"""The leaderboard on small hand-made tables: its curve averages, its groups, its frontier, its
params and its page.

The Friedman and Nemenyi numbers are worked by hand from Demšar (JMLR 2006): with k methods and
N blocks, Friedman's statistic is 12N / (k(k+1)) times the sum over methods of (mean rank -
(k+1)/2)², chi-squared with k-1 degrees of freedom, and the critical difference is
q_alpha * sqrt(k(k+1) / (6N)), q_0.05 = 2.569 for k = 4 (his Table 5).
"""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.params import leaderboard_params
from prunebench.pipeline.resolve import resolve_leaderboard
from prunebench.reporting.leaderboard.frontier import fastest_within, pareto_front
from prunebench.reporting.leaderboard.ranking import (
    curve_averages,
    rank_groups,
    rank_test,
)

DEFAULT = yaml.safe_load((Path(__file__).resolve().parent.parent / "params.yaml").read_text())


def cells(top1: dict[str, list[float]], targets=(2, 8), seeds=(0, 1, 2)) -> pd.DataFrame:
    """A cells table: ``top1[method]`` lists one top-1 per block, targets outer, seeds inner."""
    blocks = [(target, seed) for target in targets for seed in seeds]
    return pd.DataFrame(
        [
            {"strategy": method, "target_compression": float(target), "seed": seed, "top1": value}
            for method, values in top1.items()
            for (target, seed), value in zip(blocks, values, strict=True)
        ]
    )


def test_a_consistent_order_gives_overlapping_groups_of_neighbours():
    # Six blocks, every one ranking a > b > c > d: mean ranks 1, 2, 3, 4.
    table = cells(
        {
            "a": [0.90, 0.91, 0.92, 0.80, 0.81, 0.82],
            "b": [0.85, 0.86, 0.87, 0.70, 0.71, 0.72],
            "c": [0.60, 0.61, 0.62, 0.50, 0.51, 0.52],
            "d": [0.40, 0.41, 0.42, 0.30, 0.31, 0.32],
        }
    )
    test = rank_test(table, ["a", "b", "c", "d"])
    assert test.blocks == 6
    assert test.mean_ranks == {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    # Friedman: 12 * 6 / (4 * 5) * (1.5² + 0.5² + 0.5² + 1.5²) = 18 on 3 degrees of freedom.
    assert test.p_value == pytest.approx(4.3985e-4, rel=1e-4)
    # Nemenyi: 2.569 * sqrt(4 * 5 / 36) = 1.915; a-b and b-c are 1 apart, a-c 2.
    assert test.critical_difference == pytest.approx(1.915, abs=1e-3)
    assert test.groups == [("a", "b"), ("b", "c"), ("c", "d")]
    assert test.letters() == {"a": "a", "b": "ab", "c": "bc", "d": "c"}
    assert test.p_phrase == "p < 0.001"


def test_no_method_differs_when_the_friedman_test_does_not_reject():
    # Each method is first, second and third equally often: mean ranks all 2, statistic 0.
    table = cells(
        {
            "x": [0.9, 0.8, 0.7, 0.9, 0.8, 0.7],
            "y": [0.8, 0.7, 0.9, 0.8, 0.7, 0.9],
            "z": [0.7, 0.9, 0.8, 0.7, 0.9, 0.8],
        }
    )
    test = rank_test(table, ["x", "y", "z"])
    assert test.p_value == pytest.approx(1.0)
    assert not test.rejects
    assert test.groups == [("x", "y", "z")]
    assert test.letters() == {"x": "a", "y": "a", "z": "a"}


def test_groups_are_maximal_runs_and_a_method_apart_is_a_group_of_its_own():
    ranks = {"e": 9.0, "a": 1.0, "b": 1.5, "c": 4.0, "d": 4.2}
    assert rank_groups(ranks, 2.0) == [("a", "b"), ("c", "d"), ("e",)]
    # a-c is 3.0 (within), a-d 3.2 (not): two overlapping groups, not one.
    assert rank_groups(ranks, 3.0) == [("a", "b", "c"), ("b", "c", "d"), ("e",)]
    assert rank_groups(ranks, 10.0) == [("a", "b", "c", "d", "e")]


def test_too_few_blocks_or_methods_give_no_test():
    four_blocks = cells({"a": [0.9] * 4, "b": [0.8] * 4, "c": [0.7] * 4}, seeds=(0, 1))
    assert rank_test(four_blocks, ["a", "b", "c"]) is None
    two_methods = cells({"a": [0.9] * 6, "b": [0.8] * 6})
    assert rank_test(two_methods, ["a", "b"]) is None


def test_a_method_missing_a_cell_is_refused_in_one_line():
    table = cells({"a": [0.9] * 6, "b": [0.8] * 6, "c": [0.7] * 6})
    table = table.drop(index=table[(table["strategy"] == "b") & (table["seed"] == 2)].index[0])
    with pytest.raises(PrunebenchError, match="method 'b' has no cell at compression 2, seed 2"):
        rank_test(table, ["a", "b", "c"])


def test_curve_average_is_the_mean_of_each_seeds_area_with_its_t_interval():
    # Targets 2, 4, 8: log2 1, 2, 3, width 2. Per seed: (0.85 + 0.70) / 2 = 0.775, 0.8 and
    # (0.80 + 0.70) / 2 = 0.75; mean 0.775, sample std 0.025, half-width
    # t(0.975, 2) * 0.025 / sqrt(3) = 4.302653 * 0.0144338 = 0.062104.
    table = cells(
        {"m": [0.9, 0.8, 0.85, 0.8, 0.8, 0.75, 0.6, 0.8, 0.65], "n": [0.5] * 9},
        targets=(2, 4, 8),
    )
    averages = curve_averages(table, ["n", "m"])
    assert list(averages["method"]) == ["m", "n"]
    best = averages.iloc[0]
    assert best["curve_average"] == pytest.approx(0.775)
    assert best["ci_low"] == pytest.approx(0.775 - 0.062104, abs=1e-6)
    assert best["ci_high"] == pytest.approx(0.775 + 0.062104, abs=1e-6)
    assert best["n_seeds"] == 3


POINTS = pd.DataFrame(
    {
        "method": ["a", "a", "b", "b", "c"],
        "target_compression": [2.0, 8.0, 2.0, 8.0, 2.0],
        "structure": ["unstructured"] * 4 + ["channel"],
        "top1": [0.90, 0.88, 0.89, 0.85, 0.88],
        "speedup": [1.1, 1.6, 1.3, 2.5, 2.0],
        "latency_ms": [9.0, 6.2, 7.6, 4.0, 5.0],
        "execution": ["sparse"] * 4 + ["physically_smaller"],
    }
)


def test_each_methods_fastest_model_within_one_point_of_the_control():
    # Control 0.89: the floor is 0.88, which a's 8× and c's 2× reach exactly; b's 8× does not.
    fastest = fastest_within(POINTS, control_top1=0.89)
    assert list(zip(fastest["method"], fastest["target_compression"], strict=True)) == [
        ("c", 2.0),
        ("a", 8.0),
        ("b", 2.0),
    ]
    assert list(fastest_within(POINTS, control_top1=0.95)["method"]) == []


def test_the_frontier_keeps_the_points_no_other_beats_in_speed_and_accuracy():
    front = pareto_front(POINTS)
    # a 2× (most accurate), b 2× (faster, next most accurate), c 2×, b 8× (fastest); a 8× is
    # beaten by c 2× (faster at the same top-1).
    assert list(zip(front["method"], front["target_compression"], strict=True)) == [
        ("a", 2.0),
        ("b", 2.0),
        ("c", 2.0),
        ("b", 8.0),
    ]


def test_the_leaderboard_params_run_every_method_as_a_baseline_on_its_own_grid():
    grid = {"methods": ["random", "imp", "global_mag"], "compressions": [2, 4], "seeds": [0, 1]}
    params = leaderboard_params(DEFAULT, grid)
    assert params.methods == ["random", "imp", "global_mag"]
    assert params.matched_controls == []
    assert params.compressions == [2.0, 4.0]
    assert params.seeds == [0, 1]
    assert params.benchmark == DEFAULT["benchmark"]
    resolved = resolve_leaderboard(params)
    assert [(m.name, m.folder) for m in resolved.latency.methods] == [
        ("random", "baselines/random"),
        ("imp", "baselines/imp"),
        ("global_mag", "baselines/global_mag"),
    ]
    assert set(resolved.leaderboard.methods) == {"random", "imp", "global_mag"}
    assert resolved.leaderboard.methods["imp"].schedule == "iterative"
    assert len(resolved.leaderboard.registered) >= 15
    assert resolved.prune.compressions == [2.0, 4.0]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"methods": ["random", "magic"]}, "unknown strategy 'magic'; valid choices: global_act"),
        ({"methods": ["random"]}, "at least two distinct names"),
        ({"methods": ["random", "random"]}, "at least two distinct names"),
        ({"compressions": [4]}, "a curve average needs at least two leaderboard compressions"),
        ({"seeds": [0, 0]}, "seeds contain duplicates"),
        ({"strategy": "lamp"}, "must hold exactly the keys methods, compressions, seeds"),
    ],
)
def test_a_bad_leaderboard_grid_is_refused_in_one_line(grid, message):
    valid = {"methods": ["random", "global_mag"], "compressions": [2, 4], "seeds": [0]}
    with pytest.raises(PrunebenchError, match=message):
        leaderboard_params(DEFAULT, valid | grid)


def test_the_page_names_the_test_its_blocks_and_level_and_ranks_by_curve_average():
    from prunebench.reporting import Methods, budget_table
    from prunebench.reporting.leaderboard.page import Leaderboard, render_leaderboard
    from prunebench.reporting.speed import MeasuredSpeed

    names = ["random", "global_mag", "layer_mag", "imp"]
    grid = {"methods": names, "compressions": [2, 8], "seeds": [0, 1, 2]}
    config = resolve_leaderboard(leaderboard_params(DEFAULT, grid)).leaderboard
    # Every block ranks imp > global_mag > layer_mag > random, as a > b > c > d above.
    table = cells(
        {
            "imp": [0.90, 0.91, 0.92, 0.80, 0.81, 0.82],
            "global_mag": [0.85, 0.86, 0.87, 0.70, 0.71, 0.72],
            "layer_mag": [0.60, 0.61, 0.62, 0.50, 0.51, 0.52],
            "random": [0.40, 0.41, 0.42, 0.30, 0.31, 0.32],
        }
    )
    table["budget_steps"] = table["strategy"].map({"imp": 240.0}).fillna(80.0)
    table[["budget_epochs", "budget_rounds"]] = 1.0
    points = POINTS.replace({"method": {"a": "imp", "b": "global_mag", "c": "layer_mag"}})
    speed = MeasuredSpeed(
        hardware={"cpu": "Test CPU", "threads": "2"},
        settings={"repeats": 30, "warmup": 5},
        control={128: {"median_ms": 10.0, "iqr_ms": 0.1, "repeats": 30}},
        cells=pd.DataFrame(),
        table=pd.DataFrame(
            {
                "strategy": ["imp"],
                "target_compression": [8.0],
                "batch_size": [1],
                "measured_speedup_mean": [1.25],
            }
        ),
        evaluation_batch=128,
        evaluation_batch_known=True,
    )
    methods = Methods(strategy=names[0], baselines=names, properties={})
    page = render_leaderboard(
        Leaderboard(
            config=config,
            control_top1=0.89,
            grouped=table.groupby(["strategy", "target_compression"], as_index=False)["top1"]
            .mean()
            .rename(columns={"top1": "top1_mean"}),
            ranking=curve_averages(table, names),
            test=rank_test(table, names),
            speed=speed,
            fastest=fastest_within(points, 0.89),
            front=pareto_front(points),
            budgets=budget_table(table, names, methods),
            figures={"critical-difference diagram": "leaderboard/figures/cd.png"},
        )
    )
    assert "a Friedman test over blocks, the (target compression, seed) cells" in page
    assert "6 blocks, p < 0.001, below α = 0.05; then the Nemenyi post-hoc test" in page
    assert "critical difference, 1.91" in page
    ranked = [line.split(" | ")[1] for line in page.splitlines() if line.startswith("| 1 |")]
    assert ranked == ["`imp`"]
    assert "| 4 | `random` | unstructured | one-shot | **36.00** (33.52 to 38.48) |" in page
    assert "![critical-difference diagram](leaderboard/figures/cd.png)" in page
    assert "`layer_mag` at 2×, 2.00× faster than the dense model at top-1 88.00%" in page
    assert (
        "| `imp` | unstructured | 8× | 88.00% | 1.60× | 6.2 ms | sparse kernels | 1.25× |" in page
    )
    assert "Unequal budgets: `imp` used more than 10% more or fewer optimizer steps" in page
    assert "Not ranked: `global_act`" in page


def test_the_frontier_says_a_points_speedup_is_the_timed_seeds_only():
    from prunebench.reporting.figures.frontier import FrontierSetup, _point_note

    setup = FrontierSetup("lenet5", "fashion_mnist_sample", "timed here", 0.8807, 3, (0,))
    assert _point_note(setup) == (
        "point: top-1 mean over 3 seeds,\nspeedup of seed 0's model,\nof one target compression"
    )
    every = FrontierSetup("lenet5", "fashion_mnist_sample", "timed here", 0.8807, 3, (0, 1, 2))
    assert _point_note(every) == "point: mean over 3 seeds\nof one target compression"
