"""The headline metrics file DVC reads (``results/summary.json``): its keys and its numbers.

``dvc exp show`` makes one column per key and ``dvc metrics diff`` one row per changed key, both
after flattening the nesting with dots; the default run (five baselines, two matched controls,
five targets) must stay within about 30 keys, exactly the ones ``prunebench.reporting.metrics``
and ``docs/design.md`` document.
"""

import json
import math

import pandas as pd
import pytest
from dvc.utils.flatten import flatten

from prunebench.reporting.metrics import headline_metrics
from prunebench.reporting.statistics import compare

BASELINES = ["random", "global_mag", "layer_mag", "global_grad", "layer_grad"]
MATCHED = ["matched_random", "matched_mag"]
TARGETS = [2, 4, 8, 16, 32]
# Student t quantile t(0.975, df=2) = sqrt(2 q^2 / (1 - q^2)) with q = 0.95, exactly.
T_975_DF2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
DOCUMENTED = [
    *("curve.top1", "curve.ci_low", "curve.ci_high"),
    *(f"top1.c{target}" for target in TARGETS),
    *(
        f"vs.{name}.{key}"
        for name in [*BASELINES, *MATCHED, "control"]
        for key in ("delta", "verdict")
    ),
]


def cells(strategy: str, top1: dict[int, list[float]]) -> pd.DataFrame:
    """One method's cells from {target: [top-1 of seed 0, 1, ...]}."""
    rows = [
        (strategy, t, seed, value)
        for t, values in top1.items()
        for seed, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["strategy", "target_compression", "seed", "top1"])


def means(frame: pd.DataFrame) -> pd.DataFrame:
    """The grouped table's strategy, target_compression and top1_mean columns."""
    grouped = frame.groupby(["strategy", "target_compression"], as_index=False)["top1"].mean()
    return grouped.rename(columns={"top1": "top1_mean"})


def headline(evaluated: pd.DataFrame, references: dict, control: float, **families) -> dict:
    """The headline as DVC reads it: written to JSON and flattened with dots."""
    comparisons = compare(evaluated, references, control, **families)
    metrics = headline_metrics(evaluated, means(evaluated), comparisons)
    return flatten(json.loads(json.dumps(metrics, allow_nan=False)))


def test_the_default_runs_headline_has_the_24_documented_keys():
    def curve(strategy: str, offset: float) -> pd.DataFrame:
        top1 = {
            t: [0.9 - 0.02 * math.log2(t) + offset + 0.002 * s * (i % 2) for s in (0, 1, 2)]
            for i, t in enumerate(TARGETS)
        }
        return cells(strategy, top1)

    references = {name: curve(name, -0.01 * k) for k, name in enumerate([*BASELINES, *MATCHED])}
    flat = headline(curve("lamp", 0.0), references, 0.88, family_names=dict.fromkeys(MATCHED, "m"))
    assert sorted(flat) == sorted(DOCUMENTED)
    assert len(flat) == 24
    assert not any("lamp" in key for key in flat)  # never the method's name: experiments line up


def test_the_headline_numbers_by_hand():
    # Two targets (log2 1 and 3): each seed's curve average is the mean of its two ends.
    lamp = cells("lamp", {2: [0.80, 0.82, 0.84], 8: [0.70, 0.69, 0.74]})
    rand = cells("random", {2: [0.60, 0.70, 0.65], 8: [0.20, 0.10, 0.30]})
    flat = headline(lamp, {"random": rand}, 0.78)

    areas = [(0.80 + 0.70) / 2, (0.82 + 0.69) / 2, (0.84 + 0.74) / 2]  # 0.75, 0.755, 0.79
    mean = sum(areas) / 3
    sd = math.sqrt(sum((a - mean) ** 2 for a in areas) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)
    assert flat["curve.top1"] == pytest.approx(0.765, abs=1e-6)
    assert flat["curve.ci_low"] == pytest.approx(mean - half, abs=1e-6)
    assert flat["curve.ci_high"] == pytest.approx(mean + half, abs=1e-6)
    assert (flat["top1.c2"], flat["top1.c8"]) == (0.82, 0.71)
    # random's areas: 0.40, 0.40, 0.475; lamp minus random per seed: 0.35, 0.355, 0.315.
    assert flat["vs.random.delta"] == pytest.approx((0.35 + 0.355 + 0.315) / 3, abs=1e-6)
    assert flat["vs.random.verdict"] == 1  # t = 0.34 / (0.0218 / sqrt 3), about 27
    assert flat["vs.control.delta"] == pytest.approx(0.765 - 0.78, abs=1e-6)
    assert flat["vs.control.verdict"] == 0  # -1.5 points, 95% CI about -6.9 to +3.9
    assert len(flat) == 3 + 2 + 2 * 2
