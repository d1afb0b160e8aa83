"""Paired statistics that turn per-seed top-1 accuracies into verdicts.

The method under evaluation is compared with each baseline, each matched control and the unpruned
control: each is the *reference* of its comparisons (``Comparison.reference``; ``"control"`` for
the unpruned one). A seed fixes the data order for every method, so the evaluated method and a
reference method at one (target compression, seed) form a *pair* (with several initial models,
one (target compression, initial model, seed): both started from that model): the seed-to-seed
variation they share cancels in their difference, and the comparison is a one-sample t on the
per-pair differences (the paired t test) rather than a two-sample test that would count that
shared variation as noise.

Three families of comparisons are made:

``points``
    At every target compression of the evaluated method and for every reference: the mean over
    seeds of (evaluated - reference) top-1, its 95% paired-t confidence interval and the two-sided
    p-value of "no difference".
``curves``
    For every reference, one comparison of whole curves: per seed, the area under top-1 against
    log2(target compression) of each method (:func:`curve_area`, normalised to an average top-1),
    differenced and compared over seeds the same way (point ``"auc"``).
``control``
    The unpruned control is a single deterministic number, not a per-seed sample, so its
    comparisons are one-sample t intervals of the accuracy change (evaluated - control) over the
    evaluated method's seeds, per target and for the curve average.

References can be given families of their own (``family_names``): the matched controls, which
ask how the method's gain splits into allocation and choice of weights rather than whether it
beats the field, are judged in ``matched points`` and ``matched curves``.

Many comparisons at a 5% level would each, by chance, claim a difference one time in twenty, so
the p-values are Holm-Bonferroni adjusted within each family (:func:`holm`, statsmodels'
``multipletests``), which bounds the probability of any false claim in a family at ``alpha``
without assuming independence. A verdict is :data:`BETTER` or :data:`WORSE` only when the
adjusted p-value is below ``alpha``; otherwise :data:`NO_DIFFERENCE`. The confidence intervals
are per comparison (not simultaneous): they show the size and precision of a difference, the
verdict carries the multiplicity correction; what would decide an undecided comparison is
estimated in :mod:`prunebench.reporting.power`.

Accuracies and differences stay fractions in [0, 1], as in the cell files.
"""

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd
import scipy.stats
from statsmodels.stats.multitest import multipletests

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.tables import compression_key

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no detectable difference"
CONFIDENCE = 0.95
ALPHA = 0.05
"""The family-wise error rate a verdict is held to."""
REPLICATE = ["initial_model", "seed"]
"""What makes one run of a point: its seed, and its initial model where the grid has several."""
PAIR_KEYS = ["target_compression", *REPLICATE]
AUC = "auc"
CONTROL = "control"


@dataclass(frozen=True)
class Comparison:
    """One comparison of the method under evaluation with a reference at one point.

    ``delta``, ``ci_low`` and ``ci_high`` are top-1 fractions, positive when the evaluated method
    is more accurate; ``sd`` is the sample standard deviation of the paired differences (what
    the interval's width and :mod:`~prunebench.reporting.power` scale with). With fewer than two
    pairs the interval, ``sd`` and both p-values are NaN and the verdict is
    :data:`NO_DIFFERENCE`: a single pair cannot separate a difference from noise.
    ``family_size`` is the number of comparisons Holm's correction counted in its family (those
    with a p-value), the ``m`` of its first step.
    """

    reference: str
    point: str
    target_compression: float | None
    family: str
    n_pairs: int
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    verdict: str
    sd: float
    family_size: int


def paired_interval(
    differences: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """(mean, ci_low, ci_high, p_value) of a one-sample t on paired differences.

    The interval is the two-sided ``confidence`` t interval of the mean difference and the p-value
    the two-sided t test of a zero mean (``scipy.stats.ttest_1samp``).

    Degenerate cases:

    - Fewer than two differences: the mean (NaN for none) and NaN interval and p-value, since
      no spread can be estimated.
    - All differences zero (what a method compared with itself gives, its cells being
      bit-identical): scipy's t statistic is undefined; the interval is ``[0, 0]`` and the
      p-value 1.0.
    - All differences equal but not zero: no spread can be estimated either, and with a few
      seeds and accuracies that move in steps of one test image this can happen by chance, so
      the interval and p-value are NaN (undecided) rather than a certainty the data cannot give.
    """
    values = np.asarray(differences, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"differences must be one-dimensional, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("differences must be finite")
    if values.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan, math.nan
    if np.all(values == values[0]):
        # Exact equality, not a tolerance: a near-constant but genuinely varying sample has a
        # finite (if large) t statistic, and scipy answers it correctly.
        return (0.0, 0.0, 0.0, 1.0) if mean == 0.0 else (mean, math.nan, math.nan, math.nan)
    with warnings.catch_warnings():
        # Nearly constant samples make scipy warn about precision loss in the variance; its
        # answer is still the right one for the numbers it was given.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = scipy.stats.ttest_1samp(values, 0.0)
        interval = result.confidence_interval(confidence_level=confidence)
    return mean, float(interval.low), float(interval.high), float(result.pvalue)


def spread(differences: Sequence[float]) -> float:
    """The sample standard deviation of ``differences``: NaN for fewer than two, exactly 0.0 where
    all are equal (a mean of equal floats need not round back to them, and would leave a
    spread of rounding error)."""
    values = np.asarray(differences, dtype=float)
    if values.size < 2:
        return math.nan
    return 0.0 if np.all(values == values[0]) else float(values.std(ddof=1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, same order as input (statsmodels'
    ``multipletests(..., method="holm")``).

    With the m p-values sorted ascending, the smallest is tested at alpha/m, the next at
    alpha/(m-1), and so on; the adjusted values are monotone and capped at 1, and rejecting where
    one is below alpha controls the family-wise error rate at alpha.

    NaN p-values (comparisons that could not be made, e.g. from a single pair) are not part of
    the family: they stay NaN and do not count in m, since a test never performed cannot produce
    a false claim.

    Example::

        >>> holm([0.01, 0.04, math.nan])
        [0.02, 0.04, nan]
    """
    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(values.shape, math.nan)
    valid = ~np.isnan(values)
    if np.any((values[valid] < 0.0) | (values[valid] > 1.0)):
        raise ValueError(f"p-values must be in [0, 1], got {values[valid].tolist()}")
    if valid.any():
        adjusted[valid] = multipletests(values[valid], method="holm")[1]
    return [float(p) for p in adjusted]


def curve_area(top1_by_target: Mapping[float, float]) -> float:
    """Trapezoid area under top-1 against log2(target compression), divided by the log2 width of
    the targets, i.e. the curve's average top-1 (a fraction, comparable to top-1).

    Compression grows geometrically (2, 4, 8, ...), so log2 spacing gives each doubling the same
    weight; uneven grids (2, 4, 16) are weighted by their actual log2 gaps. Dividing by the width
    makes a flat curve's area equal to its top-1, whatever the targets. Needs at least two
    distinct targets, all greater than zero.
    """
    if len(top1_by_target) < 2:
        raise ValueError(f"a curve needs at least 2 targets, got {len(top1_by_target)}")
    points = sorted((float(target), float(top1)) for target, top1 in top1_by_target.items())
    targets = [target for target, _ in points]
    if targets[0] <= 0.0 or not all(math.isfinite(t) for t in targets):
        raise ValueError(f"target compressions must be finite and positive, got {targets}")
    x = np.log2(np.array(targets))
    y = np.array([top1 for _, top1 in points])
    width = float(x[-1] - x[0])
    if width <= 0.0:
        raise ValueError(f"a curve needs at least 2 distinct targets, got {targets}")
    return float(np.sum((y[1:] + y[:-1]) / 2.0 * np.diff(x)) / width)


def compare(
    evaluated: pd.DataFrame,
    references: Mapping[str, pd.DataFrame],
    control_top1: float | Mapping[int, float] | None,
    *,
    alpha: float = ALPHA,
    family_names: Mapping[str, str] | None = None,
) -> list[Comparison]:
    """Compare the method under evaluation with each reference and with the unpruned control.

    Each frame has at least the columns ``target_compression``, ``seed`` and ``top1``, one row per
    (target, seed). Pairs are matched on (target_compression, seed); rows present in only one of
    the two frames are left out (``n_pairs`` counts the pairs used). Per reference, one
    ``points`` comparison per target compression of the evaluated method (ascending), then one
    ``curves`` comparison ``"auc"`` over the seeds that have at least two common targets, each
    seed's curves restricted to the targets both methods have for it. The ``control`` family
    (only when ``control_top1`` is given) comes last: per target, then ``"auc"`` of each evaluated
    seed's full curve. Holm adjustment is applied within each family; see the module docstring.

    ``family_names`` puts some references in families of their own: a reference mapped to
    ``"matched"`` has its comparisons in the families ``"matched points"`` and ``"matched
    curves"``, so that controls asking a different question (the matched controls) do not dilute
    the baselines' verdicts.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    controls = _controls_by_initial_model(control_top1)
    ours = _pair_table(evaluated, "evaluated method")
    targets = sorted(float(target) for target in ours["target_compression"].unique())

    # (reference, point, target, family, differences), adjusted and judged once all are known.
    raw: list[tuple[str, str, float | None, str, list[float]]] = []
    for name, frame in references.items():
        group = (family_names or {}).get(name)
        points, curves = (
            ("points", "curves") if group is None else (f"{group} points", f"{group} curves")
        )
        theirs = _pair_table(frame, f"reference {name!r}")
        pairs = ours.merge(theirs, on=PAIR_KEYS, suffixes=("_evaluated", "_reference"))
        pairs["difference"] = pairs["top1_evaluated"] - pairs["top1_reference"]
        for target in targets:
            at_target = pairs[pairs["target_compression"] == target].sort_values(REPLICATE)
            raw.append(
                (name, compression_key(target), target, points, list(at_target["difference"]))
            )
        area_differences = []
        for _, seed_pairs in pairs.groupby(REPLICATE, sort=True):
            if len(seed_pairs) < 2:
                continue
            ours_area = curve_area(_curve(seed_pairs, "top1_evaluated"))
            theirs_area = curve_area(_curve(seed_pairs, "top1_reference"))
            area_differences.append(ours_area - theirs_area)
        raw.append((name, AUC, None, curves, area_differences))

    if controls is not None:
        unknown = sorted(set(ours["initial_model"]) - set(controls))
        if unknown:
            raise PrunebenchError(f"no control top-1 for initial model {unknown[0]}")
        for target in targets:
            at_target = ours[ours["target_compression"] == target].sort_values(REPLICATE)
            # Each run against the control of its own initial model.
            own_control = at_target["initial_model"].map(controls)
            raw.append(
                (
                    CONTROL,
                    compression_key(target),
                    target,
                    "control",
                    list(at_target["top1"] - own_control),
                )
            )
        area_changes = [area - controls[key[0]] for key, area in _replicate_areas(ours)]
        raw.append((CONTROL, AUC, None, "control", area_changes))

    tested = [paired_interval(differences) for *_, differences in raw]
    adjusted, sizes = _holm_by_family([p for *_, p in tested], [entry[3] for entry in raw])
    comparisons = []
    for (reference, point, target, family, differences), (delta, low, high, p), p_holm, size in zip(
        raw, tested, adjusted, sizes, strict=True
    ):
        comparisons.append(
            Comparison(
                reference=reference,
                point=point,
                target_compression=target,
                family=family,
                n_pairs=len(differences),
                delta=delta,
                ci_low=low,
                ci_high=high,
                p_value=p,
                p_holm=p_holm,
                verdict=_verdict(delta, p_holm, alpha),
                sd=spread(differences),
                family_size=size,
            )
        )
    return comparisons


def _holm_by_family(p_values: list[float], families: list[str]) -> tuple[list[float], list[int]]:
    """Holm-adjusted ``p_values`` within each family, and each one's family size (its m)."""
    adjusted, sizes = [math.nan] * len(p_values), [0] * len(p_values)
    for family in dict.fromkeys(families):
        members = [i for i, name in enumerate(families) if name == family]
        size = sum(not math.isnan(p_values[i]) for i in members)
        for i, p_holm in zip(members, holm([p_values[i] for i in members]), strict=True):
            adjusted[i], sizes[i] = p_holm, size
    return adjusted, sizes


def curve_average(frame: pd.DataFrame) -> tuple[float, float, float]:
    """``(mean, ci_low, ci_high)``: a method's curve average over its seeds, with its interval.

    ``frame`` is one method's rows (``target_compression``, ``seed``, ``top1``). Each seed's
    curve is its :func:`curve_area` over the targets it has (seeds with fewer than two are left
    out); the interval is the one-sample t interval of their mean (NaN for a single seed).
    """
    mean, low, high, _ = paired_interval(_seed_areas(_pair_table(frame, "method")))
    return mean, low, high


def _seed_areas(table: pd.DataFrame) -> list[float]:
    """The :func:`curve_area` of each seed's top-1 curve, by seed, where it has two targets."""
    return [area for _, area in _replicate_areas(table)]


def _replicate_areas(table: pd.DataFrame) -> list[tuple[tuple[int, int], float]]:
    """``[((initial model, seed), curve area), ...]`` of each run with at least two targets."""
    return [
        (key, curve_area(_curve(rows, "top1")))
        for key, rows in table.groupby(REPLICATE, sort=True)
        if len(rows) >= 2
    ]


def _controls_by_initial_model(
    control_top1: float | Mapping[int, float] | None,
) -> dict[int, float] | None:
    """The control's top-1 by initial model (a single number: initial model 0's), checked."""
    if control_top1 is None:
        return None
    controls = dict(control_top1) if isinstance(control_top1, Mapping) else {0: control_top1}
    for value in controls.values():
        if not math.isfinite(value):
            raise PrunebenchError(f"control top-1 must be finite, got {value}")
    return {int(key): float(value) for key, value in controls.items()}


def comparisons_frame(comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """One row per :class:`Comparison`, the dataclass fields as columns, in the given order."""
    columns = [field.name for field in fields(Comparison)]
    return pd.DataFrame([asdict(comparison) for comparison in comparisons], columns=columns)


def _verdict(delta: float, p_holm: float, alpha: float) -> str:
    # A NaN p-value compares False, so an undecidable comparison falls through to no difference.
    if p_holm < alpha and delta > 0:
        return BETTER
    if p_holm < alpha and delta < 0:
        return WORSE
    return NO_DIFFERENCE


def _curve(rows: pd.DataFrame, column: str) -> dict[float, float]:
    return dict(zip(rows["target_compression"], rows[column], strict=True))


def _pair_table(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """The (target_compression, initial_model, seed, top1) columns of ``frame``, checked for
    pairing.

    A frame without an ``initial_model`` column is a run of one initial model (0). With several,
    a pair is one (initial model, seed): the two methods started from the same initial model and
    saw the same minibatches and data order, so the differences are paired on both. Targets
    become floats so that an integer 2 in one frame pairs with 2.0 in another. A repeated
    (target, seed) would pair one run with several and bias the mean, and a NaN top-1 would
    silently drop out of a mean, so both are refused.
    """
    missing = [
        column for column in ["target_compression", "seed", "top1"] if column not in frame.columns
    ]
    if missing:
        raise PrunebenchError(f"{what} lacks column(s) {', '.join(missing)}")
    table = frame[["target_compression", "seed", "top1"]].copy()
    table["initial_model"] = frame["initial_model"].astype(int) if "initial_model" in frame else 0
    table = table[[*PAIR_KEYS, "top1"]]
    table["target_compression"] = table["target_compression"].astype(float)
    table["top1"] = table["top1"].astype(float)
    if not np.all(np.isfinite(table["top1"])):
        raise PrunebenchError(f"{what} has a non-finite top-1")
    duplicated = table.duplicated(PAIR_KEYS, keep=False)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        initial_model = (
            f"initial model {first['initial_model']}, " if first["initial_model"] else ""
        )
        raise PrunebenchError(
            f"{what} has more than one row for target compression "
            f"{first['target_compression']:g}, {initial_model}seed {first['seed']}"
        )
    return table.reset_index(drop=True)


def rejudged(comparisons: Sequence[Comparison], *, alpha: float = ALPHA) -> list[Comparison]:
    """``comparisons`` Holm-adjusted again as one family, with their verdicts renewed.

    For comparisons made by separate :func:`compare` calls that form one question together,
    such as each matched control against its baseline across the curve.
    """
    adjusted = holm([comparison.p_value for comparison in comparisons])
    size = sum(not math.isnan(comparison.p_value) for comparison in comparisons)
    return [
        replace(
            comparison,
            p_holm=p_holm,
            verdict=_verdict(comparison.delta, p_holm, alpha),
            family_size=size,
        )
        for comparison, p_holm in zip(comparisons, adjusted, strict=True)
    ]
