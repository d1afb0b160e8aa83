"""The JSON metrics files of a run: the headline DVC shows, its measured speed, and the details.

``results/summary.json`` (:func:`headline_metrics`) is the metrics file ``dvc exp show`` and
``dvc metrics diff`` read, so it holds only the headline, one screen of keys::

    curve.top1, curve.ci_low, curve.ci_high   the method's curve average and its 95% interval
    top1.c2, top1.c4, ...                     its mean top-1 at each target compression
    vs.<reference>.delta, vs.<reference>.verdict
                                              across the curve, against each baseline, each
                                              matched control and the unpruned control

``results/speed.json`` (:func:`speed_metrics`) is a second metrics file with the measured
speedup at the highest target (``speedup.measured``, ``.batch``, ``.theoretical``,
``.target``): timings are facts about the machine, so they stay out of the deterministic
summary, which must be byte-identical on every machine. ``results/details.json``
(:func:`details_metrics`) holds every per-compression, per-method statistic and every verdict; it
is a plain output, not a DVC metric, so that a diff between two methods fits on a screen.

Keys never name the method under evaluation (``curve``, ``top1``, not ``lamp``), so a diff
between two experiments compares their methods. The curve average is the area under top-1
against log2(target compression) divided by its width (``statistics.curve_area``); accuracies
and differences are fractions in [0, 1], as in the cell files; a verdict is 1 (better), 0 (no
detectable difference) or -1 (worse), a number so that ``dvc metrics diff`` shows it change.
NaN is left out everywhere: JSON has no NaN.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.reporting.methods import Methods
from prunebench.reporting.speed import MeasuredSpeed
from prunebench.reporting.statistics import (
    AUC,
    BETTER,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
    curve_average,
)
from prunebench.reporting.tables import ACCURACY_METRICS, compression_key, select_methods

DIGITS = 6
VERDICT_CODES = {BETTER: 1, NO_DIFFERENCE: 0, WORSE: -1}


def headline_metrics(
    evaluated: pd.DataFrame, grouped: pd.DataFrame, comparisons: Sequence[Comparison]
) -> dict[str, Any]:
    """The headline of ``results/summary.json`` (keys in the module docstring).

    ``evaluated`` is the method under evaluation's cells (:func:`~.tables.cells_table`),
    ``grouped`` the run's :func:`~.tables.grouped_table`, ``comparisons`` the method's
    :func:`~.statistics.compare` with its references and the control.
    """
    strategy = str(evaluated["strategy"].iloc[0])
    mean, low, high = curve_average(evaluated)
    rows = select_methods(grouped, [strategy])
    return {
        "curve": numbers({"top1": mean, "ci_low": low, "ci_high": high}),
        "top1": numbers(
            {
                compression_key(target): top1
                for target, top1 in zip(rows["target_compression"], rows["top1_mean"], strict=True)
            }
        ),
        "vs": {
            c.reference: numbers({"delta": c.delta, "verdict": VERDICT_CODES[c.verdict]})
            for c in comparisons
            if c.point == AUC
        },
    }


def speed_metrics(speed: MeasuredSpeed | None, strategy: str) -> dict[str, Any]:
    """``results/speed.json``: the method's best measured speedup at its highest target.

    Best over the batch sizes timed, each a mean over seeds of the dense model's median latency
    over the pruned model's (run its fastest way); beside it the batch size it was measured at,
    the theoretical speedup and the target. Empty where the run has no timings.
    """
    rows = None if speed is None else speed.table[speed.table["strategy"] == strategy]
    if rows is None or rows.empty:
        return {}
    top = rows[rows["target_compression"] == rows["target_compression"].max()]
    best = top.loc[top["measured_speedup_mean"].idxmax()]
    target = float(best["target_compression"])
    return {
        "speedup": numbers(
            {
                "measured": best["measured_speedup_mean"],
                "batch": int(best["batch_size"]),
                "theoretical": best["theoretical_speedup"],
                "target": int(target) if target.is_integer() else target,
            }
        )
    }


def details_metrics(
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    methods: Methods,
    verdicts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every statistic of the run, for ``results/details.json``.

    The method under evaluation sits under the fixed key ``"strategy"`` rather than its name, so
    two experiments' files line up point by point. ``"baselines"`` lists every baseline, the
    evaluated one included, so that section is identical across experiments. ``top1_minus_best_
    baseline`` compares with the best *other* baseline at the same target. ``"matched"`` holds
    the method's matched controls, and ``"verdicts"`` (given by the caller, from
    :func:`verdict_metrics`) the paired comparisons. Each point carries ``budget_steps``, the
    mean optimizer steps of its cells. NaN (a single seed's std, a point whose cells record no
    budget) is left out.

    Methods are keys under their own names, external ones (``mylab.taylor:strategy``) included:
    flattened with dots (``baselines.mylab.taylor:strategy.c2...``) a key is never split again,
    and the registry's names have no colon, so no two methods' keys can run together.
    """
    strategy, baselines, matched = methods.strategy, methods.baselines, methods.matched
    others = [name for name in baselines if name != strategy]
    rows = select_methods(grouped, methods.evaluated_and_baselines)
    best_other = rows[rows["strategy"].isin(others)].groupby("target_compression")["top1_mean"]
    best_other = best_other.max()

    evaluated = {}
    for _, row in rows[rows["strategy"] == strategy].iterrows():
        point = _point(row)
        best = best_other.get(row["target_compression"])
        if best is not None:
            point["top1_minus_best_baseline"] = number(row["top1_mean"] - best)
        evaluated[compression_key(row["target_compression"])] = point

    def points(names: Sequence[str]) -> dict[str, dict]:
        chosen = select_methods(grouped, names)
        return {
            name: {
                compression_key(row["target_compression"]): _point(row)
                for _, row in chosen[chosen["strategy"] == name].iterrows()
            }
            for name in names
        }

    details = {
        "control": numbers({metric: control.get(metric) for metric in ACCURACY_METRICS}),
        "strategy": evaluated,
        "baselines": points(baselines),
    }
    if matched:
        details["matched"] = points(matched)
    if verdicts is not None:
        details["verdicts"] = dict(verdicts)
    return details


def verdict_metrics(comparisons: Sequence[Comparison]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{reference: {point: {delta_top1, ci_low, ci_high, p_holm, verdict, n_pairs}}}``.

    The layout of ``details.json``'s ``verdicts``: keyed by the reference's name (or
    ``"control"``) and the point (``"c2"``, ..., ``"auc"``), never by the evaluated method's name.
    """
    verdicts: dict[str, dict[str, dict[str, Any]]] = {}
    for comparison in comparisons:
        values = {
            "delta_top1": comparison.delta,
            "ci_low": comparison.ci_low,
            "ci_high": comparison.ci_high,
            "p_holm": comparison.p_holm,
        }
        entry = numbers(values)
        entry["verdict"] = VERDICT_CODES[comparison.verdict]
        entry["n_pairs"] = comparison.n_pairs
        verdicts.setdefault(comparison.reference, {})[comparison.point] = entry
    return verdicts


def numbers(values: Mapping[str, Any]) -> dict[str, float | int]:
    """The finite numbers of ``values`` (rounded to :data:`DIGITS` decimals), in order."""
    kept: dict[str, float | int] = {}
    for key, value in values.items():
        rounded = number(value)
        if rounded is not None:
            kept[key] = rounded
    return kept


def number(value: Any) -> float | int | None:
    """An int as it is, a float rounded to :data:`DIGITS` decimals; None for NaN, None, a bool."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return round(value, DIGITS) if math.isfinite(value) else None


def _point(row: pd.Series) -> dict[str, float | int]:
    point = {
        "n_runs": int(row["n_runs"]),
        "top1_mean": row["top1_mean"],
        "top1_std": row["top1_std"],
        "top5_mean": row["top5_mean"],
        "compression": row["compression"],
        "speedup": row["speedup"],
        "budget_steps": row.get("budget_steps"),
    }
    return numbers(point)
