"""Accuracy against measured speed: which pruned model runs fastest without losing accuracy.

An engineer's first question of a pruning method is how much faster the model runs at an accuracy
they can accept. Each (method, target compression) is a *point*: its mean top-1 over seeds and
its mean measured speedup over seeds (the dense model's median latency over the pruned model's,
timed in the same call on one machine, in the pruned model's fastest execution: dense with
zeros, sparse kernels, or physically smaller for channel pruning; ``reporting.speed``). Two
answers are read from the points:

- each method's fastest point within :data:`TOLERANCE` of the control's top-1
  (:func:`fastest_within`);
- the frontier: the points that no other point beats in both speed and accuracy
  (:func:`pareto_front`).
"""

import pandas as pd

TOLERANCE = 0.01
"""How far below the unpruned control's top-1 a model may be and still count: one point."""
POINT_COLUMNS = [
    "method",
    "target_compression",
    "structure",
    "top1",
    "speedup",
    "latency_ms",
    "execution",
]


def speed_points(grouped: pd.DataFrame, speed_table: pd.DataFrame, batch: int) -> pd.DataFrame:
    """One row per (method, target compression) timed at ``batch``: :data:`POINT_COLUMNS`.

    ``grouped`` is the grouped table (``top1_mean``), ``speed_table`` the latency table
    (``reporting.speed.latency_table``: ``measured_speedup_mean``, ``best_median_ms``,
    ``best_execution``).
    """
    timed = speed_table[speed_table["batch_size"] == batch]
    accuracy = grouped[["strategy", "target_compression", "top1_mean"]].assign(
        target_compression=grouped["target_compression"].astype(float)
    )
    points = timed.merge(accuracy, on=["strategy", "target_compression"], how="inner")
    points = points.rename(
        columns={
            "strategy": "method",
            "top1_mean": "top1",
            "measured_speedup_mean": "speedup",
            "best_median_ms": "latency_ms",
            "best_execution": "execution",
        }
    )
    return points[POINT_COLUMNS].sort_values(["method", "target_compression"], ignore_index=True)


def accurate(points: pd.DataFrame, control_top1: float, tolerance: float = TOLERANCE) -> pd.Series:
    """Which points lie within ``tolerance`` of the control's top-1 (or above it)."""
    # Rounded: 0.88 against 0.89 - 0.01 is not below by 1e-17.
    return (points["top1"] - control_top1 + tolerance).round(9) >= 0


def fastest_within(
    points: pd.DataFrame, control_top1: float, tolerance: float = TOLERANCE
) -> pd.DataFrame:
    """Each method's fastest point within ``tolerance`` of ``control_top1``, fastest first.

    A method none of whose points is that accurate has no row. Equal speedups keep the more
    accurate point.
    """
    kept = points[accurate(points, control_top1, tolerance)]
    fastest = kept.sort_values(["speedup", "top1"], ascending=False, kind="stable")
    fastest = fastest.drop_duplicates("method")
    return fastest.sort_values(
        ["speedup", "method"], ascending=[False, True], ignore_index=True, kind="stable"
    )


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The points that no other point beats: none is at least as fast and more accurate, or
    faster and at least as accurate. Slowest (most accurate) first.

    Example: of (speedup 1.5, top-1 0.9), (2, 0.8) and (2, 0.7), the first two.
    """
    ordered = points.sort_values(["speedup", "top1"], ascending=False, kind="stable")
    kept, best = [], -float("inf")
    for index, top1 in ordered["top1"].items():
        if top1 > best:
            kept.append(index)
            best = top1
    return points.loc[kept].sort_values("speedup", ignore_index=True, kind="stable")
