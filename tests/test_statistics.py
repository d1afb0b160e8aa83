"""Paired statistics behind the verdicts: checked against hand computations, not against scipy.

The expected numbers are worked out here from the definitions (mean, sample standard deviation,
a t quantile copied from a printed table, the closed-form t distribution for two degrees of
freedom), so a wrong call into scipy or a wrong pairing shows up as a mismatch.
"""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.statistics import (
    BETTER,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
    compare,
    comparisons_frame,
    curve_area,
    holm,
    paired_interval,
)

TARGETS = [2, 4, 8, 16, 32]
SEEDS = [0, 1, 2]
# t_{0.975, 2}: the two-sided 95% quantile for 2 degrees of freedom (4.303 in printed t tables).
# With 2 degrees of freedom it has a closed form, sqrt(2 q^2 / (1 - q^2)) for q = 0.95, which
# gives these digits; the test below checks the constant against it.
T_975_DF2 = 4.302652729749464
# The committed default run's p-values per family and their Holm-adjusted values, as the
# hand-written step-down computed them before statsmodels replaced it (its "about" says how).
COMMITTED_HOLM = Path(__file__).parent / "data/holm_committed.json"


def frame(top1: dict[tuple[float, int], float]) -> pd.DataFrame:
    """A result frame from {(target_compression, seed): top1}."""
    return pd.DataFrame(
        [{"target_compression": t, "seed": s, "top1": v} for (t, s), v in top1.items()]
    )


def lenet_like(offset: float = 0.0, noise: tuple[float, ...] = (0.0, 0.0, 0.0)) -> pd.DataFrame:
    """A plausible falling top-1 curve over TARGETS and SEEDS, shifted and perturbed per seed."""
    return frame(
        {
            (t, s): 0.90 - 0.01 * math.log2(t) ** 1.5 + offset + noise[s] * (1 + i % 2)
            for i, t in enumerate(TARGETS)
            for s in SEEDS
        }
    )


def t_two_sided_p_df2(t: float) -> float:
    """Two-sided p-value of a t statistic with 2 degrees of freedom, in closed form.

    For 2 degrees of freedom the t CDF is F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so
    p = 2 (1 - F(|t|)) = 1 - |t| / sqrt(2 + t^2).
    """
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def by_point(comparisons: list[Comparison], reference: str) -> dict[str, Comparison]:
    return {c.point: c for c in comparisons if c.reference == reference}


def test_the_t_quantile_constant():
    assert T_975_DF2 == pytest.approx(math.sqrt(2 * 0.95**2 / (1 - 0.95**2)), abs=1e-14)
    assert t_two_sided_p_df2(T_975_DF2) == pytest.approx(0.05, abs=1e-14)


def test_paired_interval_and_compare_match_a_hand_computation():
    evaluated = {0: 0.8130, 1: 0.7975, 2: 0.8421}
    reference = {0: 0.8012, 1: 0.7951, 2: 0.8150}
    differences = [evaluated[s] - reference[s] for s in SEEDS]
    n = len(differences)
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    se = sd / math.sqrt(n)
    low, high = mean - T_975_DF2 * se, mean + T_975_DF2 * se
    p = t_two_sided_p_df2(mean / se)
    # Sanity of the hand numbers themselves: a positive but not significant difference.
    assert mean == pytest.approx(0.01376666666666667, abs=1e-12)
    assert 0.05 < p < 0.5

    got = paired_interval(differences)
    assert got == pytest.approx((mean, low, high, p), abs=1e-12)

    comparisons = compare(
        frame({(4, s): v for s, v in evaluated.items()}),
        {"global_mag": frame({(4, s): v for s, v in reference.items()})},
        None,
    )
    point = by_point(comparisons, "global_mag")["c4"]
    assert (point.family, point.target_compression, point.n_pairs) == ("points", 4.0, 3)
    assert (point.delta, point.ci_low, point.ci_high) == pytest.approx((mean, low, high), abs=1e-12)
    assert point.p_value == pytest.approx(p, abs=1e-12)
    # Alone in its family, Holm leaves the p-value as it is.
    assert point.p_holm == pytest.approx(p, abs=1e-12)
    assert point.verdict == NO_DIFFERENCE


def test_paired_interval_degenerate_cases():
    assert paired_interval([0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0, 1.0)
    mean, low, high, p = paired_interval([0.25, 0.25, 0.25])
    assert mean == 0.25 and math.isnan(low) and math.isnan(high) and math.isnan(p)
    mean, low, high, p = paired_interval([0.03])
    assert mean == 0.03 and math.isnan(low) and math.isnan(high) and math.isnan(p)
    assert all(math.isnan(value) for value in paired_interval([]))


def test_a_method_compared_with_itself_shows_no_difference():
    evaluated = lenet_like(noise=(0.004, -0.003, 0.001))
    comparisons = compare(evaluated, {"self": evaluated.copy()}, None)
    assert [c.point for c in comparisons] == ["c2", "c4", "c8", "c16", "c32", "auc"]
    for comparison in comparisons:
        assert comparison.n_pairs == 3
        assert comparison.delta == 0.0
        assert (comparison.ci_low, comparison.ci_high) == (0.0, 0.0)
        assert comparison.p_value == 1.0 and comparison.p_holm == 1.0
        assert comparison.verdict == NO_DIFFERENCE


def test_holm_on_a_known_example():
    # Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> running max
    # makes the last 0.06, so the adjusted values never fall as the raw ones rise.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    # Capped at 1 and kept monotone: 0.5 * 2 = 1.0 must not be followed by 0.6 * 1 = 0.6.
    assert holm([0.6, 0.5]) == [1.0, 1.0]
    assert holm([]) == []


def test_holm_from_statsmodels_equals_the_hand_written_one_on_the_committed_cells():
    families = json.loads(COMMITTED_HOLM.read_text())["families"]
    sizes = {name: len(entries) for name, entries in families.items()}
    assert sizes == {
        "points": 25,
        "curves": 5,
        "matched points": 10,
        "matched curves": 2,
        "control": 6,
        "allocation": 2,
    }
    for entries in families.values():
        adjusted = holm([entry["p_value"] for entry in entries])
        assert adjusted == [entry["p_holm"] for entry in entries]  # bit for bit
    # lamp against random across the curve: p 0.016, adjusted 0.056 (five curves).
    random = next(e for e in families["curves"] if e["reference"] == "random")
    assert (round(random["p_value"], 3), round(random["p_holm"], 3)) == (0.016, 0.056)


def test_holm_leaves_nan_out_of_the_family():
    adjusted = holm([math.nan, 0.01, 0.04])
    assert math.isnan(adjusted[0])
    # m = 2, not 3: 0.01 * 2 = 0.02 and 0.04 * 1 = 0.04.
    assert adjusted[1:] == pytest.approx([0.02, 0.04], abs=1e-15)
    assert all(math.isnan(p) for p in holm([math.nan, math.nan]))


def test_curve_area_is_the_average_top1_on_a_log2_axis():
    assert curve_area({2: 0.8, 4: 0.8, 8: 0.8, 32: 0.8}) == pytest.approx(0.8, abs=1e-15)
    # log2 targets 1, 2, 4: trapezoids of width 1 and 2 over a total width of 3. Equal spacing
    # would give (0.85 + 0.65) / 2 = 0.75 instead.
    expected = ((0.9 + 0.8) / 2 * 1 + (0.8 + 0.5) / 2 * 2) / 3
    assert curve_area({16: 0.5, 2: 0.9, 4: 0.8}) == pytest.approx(expected, abs=1e-15)
    assert expected == pytest.approx(0.7166666666666667, abs=1e-15)
    with pytest.raises(ValueError, match="at least 2 targets"):
        curve_area({2: 0.9})


def test_clear_differences_are_better_or_worse_and_noise_is_not():
    evaluated = lenet_like(noise=(0.002, -0.001, 0.0))
    lower = lenet_like(offset=-0.10, noise=(-0.001, 0.002, 0.001))
    better = compare(evaluated, {"lower": lower}, None)
    assert [c.verdict for c in better] == [BETTER] * 6
    assert all(c.delta == pytest.approx(0.10, abs=0.01) for c in better)
    assert all(c.ci_low > 0 and c.p_holm < 0.05 for c in better)

    worse = compare(lower, {"higher": evaluated}, None)
    assert [c.verdict for c in worse] == [WORSE] * 6
    assert all(c.delta == pytest.approx(-0.10, abs=0.01) for c in worse)

    noisy = compare(evaluated, {"noisy": lenet_like(noise=(0.03, -0.04, 0.02))}, None)
    assert [c.verdict for c in noisy] == [NO_DIFFERENCE] * 6
    assert all(c.ci_low < 0 < c.ci_high for c in noisy)


def test_fewer_than_two_pairs_cannot_be_decided():
    evaluated = lenet_like()
    one_seed = lenet_like(offset=-0.10)
    one_seed = one_seed[one_seed["seed"] == 0]
    comparisons = compare(evaluated, {"one_seed": one_seed}, None)
    assert len(comparisons) == 6
    for comparison in comparisons:
        assert comparison.n_pairs == 1
        assert comparison.delta == pytest.approx(0.10, abs=1e-12)
        assert math.isnan(comparison.ci_low) and math.isnan(comparison.ci_high)
        assert math.isnan(comparison.p_value) and math.isnan(comparison.p_holm)
        assert comparison.verdict == NO_DIFFERENCE


def test_undecidable_points_do_not_enlarge_the_holm_family():
    evaluated = lenet_like(noise=(0.002, -0.001, 0.0))
    reference = lenet_like(offset=-0.02, noise=(0.001, 0.0, 0.002))
    # At 32x only one seed remains: that point drops out of the family, leaving m = 4.
    reference = reference[(reference["target_compression"] != 32) | (reference["seed"] == 0)]
    points = [c for c in compare(evaluated, {"ref": reference}, None) if c.family == "points"]
    assert math.isnan(points[-1].p_holm)
    decided = points[:-1]
    expected = holm([c.p_value for c in decided])
    assert [c.p_holm for c in decided] == expected
    # The smallest raw p-value is multiplied by 4, not 5.
    assert {c.family_size for c in points} == {4}
    smallest = min(decided, key=lambda c: c.p_value)
    assert smallest.p_holm == pytest.approx(min(1.0, 4 * smallest.p_value), rel=1e-12)


def test_only_common_pairs_count_whatever_the_row_order():
    evaluated = frame(
        {(t, s): 0.9 - 0.02 * i + 0.003 * s for i, t in enumerate([2, 4, 8]) for s in [0, 1, 2, 3]}
    )
    reference = frame(
        {(t, s): 0.88 - 0.03 * i - 0.002 * s for i, t in enumerate([2.0, 4.0, 8.0]) for s in SEEDS}
    )
    # Seed 3 exists only for the evaluated method; (4x, seed 1) only for it too.
    reference = reference[~((reference["target_compression"] == 4) & (reference["seed"] == 1))]
    shuffled_evaluated = evaluated.sample(frac=1.0, random_state=7)
    shuffled_reference = reference.sample(frac=1.0, random_state=11)

    comparisons = compare(shuffled_evaluated, {"ref": shuffled_reference}, None)
    assert comparisons == compare(evaluated, {"ref": reference}, None)
    points = by_point(comparisons, "ref")
    assert {key: c.n_pairs for key, c in points.items()} == {"c2": 3, "c4": 2, "c8": 3, "auc": 3}

    ours = {(row.target_compression, row.seed): row.top1 for row in evaluated.itertuples()}
    theirs = {(row.target_compression, row.seed): row.top1 for row in reference.itertuples()}
    c4 = [ours[(4, s)] - theirs[(4, s)] for s in (0, 2)]
    assert points["c4"].delta == pytest.approx(sum(c4) / 2, abs=1e-12)

    # Seed 1's curves use only 2x and 8x, the targets both methods have for it.
    areas = []
    for s in SEEDS:
        common = [2, 8] if s == 1 else [2, 4, 8]
        areas.append(
            curve_area({t: ours[(t, s)] for t in common})
            - curve_area({t: theirs[(t, s)] for t in common})
        )
    assert points["auc"].delta == pytest.approx(sum(areas) / 3, abs=1e-12)


def test_control_family_only_with_a_control_and_signed_evaluated_minus_control():
    evaluated = lenet_like(noise=(0.002, -0.001, 0.0))
    references = {"global_mag": lenet_like(offset=-0.01), "matched_random": lenet_like(-0.2)}
    without = compare(evaluated, references, None)
    assert {c.family for c in without} == {"points", "curves"}
    assert all(c.reference != "control" for c in without)

    control = 0.95
    comparisons = compare(evaluated, references, control)
    assert comparisons[: len(without)] == without
    controls = comparisons[len(without) :]
    assert [(c.reference, c.family) for c in controls] == [("control", "control")] * 6
    assert [c.point for c in controls] == ["c2", "c4", "c8", "c16", "c32", "auc"]

    at_2 = evaluated[evaluated["target_compression"] == 2]["top1"]
    assert controls[0].delta == pytest.approx(at_2.mean() - control, abs=1e-12)
    assert controls[0].delta < 0 and controls[0].verdict == WORSE
    seed_areas = [
        curve_area(dict(zip(rows["target_compression"], rows["top1"], strict=True)))
        for _, rows in evaluated.groupby("seed")
    ]
    assert controls[-1].delta == pytest.approx(sum(seed_areas) / 3 - control, abs=1e-12)
    assert controls[-1].target_compression is None

    above = compare(evaluated, {}, 0.5)
    assert [c.verdict for c in above] == [BETTER] * 6


def test_order_and_frame():
    evaluated = lenet_like().iloc[::-1]
    references = {"zeta": lenet_like(-0.01), "alpha": lenet_like(-0.02)}
    comparisons = compare(evaluated, references, 0.9)
    assert [(c.reference, c.point) for c in comparisons] == [
        (name, point)
        for name in ["zeta", "alpha", "control"]
        for point in ["c2", "c4", "c8", "c16", "c32", "auc"]
    ]
    table = comparisons_frame(comparisons)
    assert list(table.columns) == [
        "reference",
        "point",
        "target_compression",
        "family",
        "n_pairs",
        "delta",
        "ci_low",
        "ci_high",
        "p_value",
        "p_holm",
        "verdict",
        "sd",
        "family_size",
    ]
    assert len(table) == len(comparisons)
    assert table["delta"].tolist() == [c.delta for c in comparisons]


def test_bad_frames_are_refused():
    evaluated = lenet_like()
    with pytest.raises(PrunebenchError, match="more than one row"):
        compare(pd.concat([evaluated, evaluated.iloc[:1]]), {}, None)
    with pytest.raises(PrunebenchError, match="lacks column"):
        compare(evaluated, {"ref": evaluated.drop(columns="seed")}, None)


def test_named_families_are_adjusted_apart_from_the_baselines():
    # Identical data for two references: in one family each is adjusted over 2 x 2 points; in
    # separate families each over 2 only, so its adjusted p is smaller.
    rows = [(target, seed) for target in (2.0, 4.0) for seed in (0, 1, 2)]
    evaluated = pd.DataFrame(
        [{"target_compression": t, "seed": s, "top1": 0.8 + 0.01 * s} for t, s in rows]
    )
    reference = pd.DataFrame(
        [{"target_compression": t, "seed": s, "top1": 0.7 + 0.013 * s} for t, s in rows]
    )
    references = {"baseline": reference, "matched_mag": reference}
    together = compare(evaluated, references, None)
    apart = compare(evaluated, references, None, family_names={"matched_mag": "matched"})
    assert {c.family for c in apart} == {"points", "curves", "matched points", "matched curves"}
    joint = {(c.reference, c.point): c.p_holm for c in together}
    for comparison in apart:
        if comparison.family.endswith("points"):
            assert comparison.p_holm < joint[(comparison.reference, comparison.point)]
            assert comparison.p_holm == pytest.approx(min(1.0, 2 * comparison.p_value))


# t_{0.975, 3}: the two-sided 95% quantile for 3 degrees of freedom (3.182 in printed t tables).
T_975_DF3 = 3.182446305284263


def runs(top1: dict[tuple[float, int, int], float]) -> pd.DataFrame:
    """A result frame from {(target_compression, initial_model, seed): top1}."""
    return pd.DataFrame(
        [
            {"target_compression": t, "initial_model": i, "seed": s, "top1": value}
            for (t, i, s), value in top1.items()
        ]
    )


def test_with_several_initial_models_a_pair_is_one_initial_model_and_seed():
    # Two initial models x two seeds at two targets. The same seed from two initial models is
    # two runs: pairing on the seed alone would put each run beside two others.
    ours = runs({
        (2, 0, 0): 0.85, (2, 0, 1): 0.86, (2, 1, 0): 0.88, (2, 1, 1): 0.89,
        (4, 0, 0): 0.80, (4, 0, 1): 0.80, (4, 1, 0): 0.84, (4, 1, 1): 0.84,
    })  # fmt: skip
    theirs = runs({
        (2, 0, 0): 0.84, (2, 0, 1): 0.83, (2, 1, 0): 0.86, (2, 1, 1): 0.85,
        (4, 0, 0): 0.80, (4, 0, 1): 0.79, (4, 1, 0): 0.82, (4, 1, 1): 0.84,
    })  # fmt: skip
    # Each run of ours against its own initial model's control.
    controls = {0: 0.80, 1: 0.90}
    result = {(c.reference, c.point): c for c in compare(ours, {"ref": theirs}, controls)}

    # c2: differences 0.01, 0.03, 0.02, 0.04 over the pairs (0,0), (0,1), (1,0), (1,1).
    at2 = result[("ref", "c2")]
    assert at2.n_pairs == 4
    assert at2.delta == pytest.approx(0.025)
    sd = math.sqrt((0.015**2 + 0.005**2 + 0.005**2 + 0.015**2) / 3)
    assert at2.sd == pytest.approx(sd)
    half = T_975_DF3 * sd / 2
    assert (at2.ci_low, at2.ci_high) == (pytest.approx(0.025 - half), pytest.approx(0.025 + half))

    # Across the curve (two targets, log2 width 1: the mean of the two), per pair:
    # (0,0) 0.825 - 0.82, (0,1) 0.83 - 0.81, (1,0) 0.86 - 0.84, (1,1) 0.865 - 0.845.
    auc = result[("ref", "auc")]
    assert auc.n_pairs == 4
    assert auc.delta == pytest.approx((0.005 + 0.02 + 0.02 + 0.02) / 4)

    # Against the control, each run's own: c2 changes 0.05, 0.06, -0.02, -0.01 (mean 0.02), not
    # 0.05, 0.06, 0.08, 0.09 as initial model 0's control alone would give.
    assert result[("control", "c2")].delta == pytest.approx(0.02)
    assert result[("control", "c2")].n_pairs == 4
    # The curve average per run: 0.825, 0.83 (control 0.80); 0.86, 0.865 (control 0.90).
    assert result[("control", "auc")].delta == pytest.approx((0.025 + 0.03 - 0.04 - 0.035) / 4)


def test_a_run_without_its_initial_models_control_is_refused():
    ours = runs({(2, 0, 0): 0.85, (2, 1, 0): 0.88, (4, 0, 0): 0.8, (4, 1, 0): 0.8})
    with pytest.raises(PrunebenchError, match="no control top-1 for initial model 1"):
        compare(ours, {}, {0: 0.8})
