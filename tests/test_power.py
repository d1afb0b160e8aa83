"""What would decide an undecided comparison, checked by hand on a small table.

The table: a method and one reference at targets 2 and 8, three seeds, every top-1 a dyadic
fraction so that the differences are exact. Per seed the paired differences are

    c2:  0.0625, 0.1875, 0.125     mean 0.125,   sample std 0.0625  (2.0 std)
    c8:  0.0625, 0.3125, 0.1875    mean 0.1875,  sample std 0.125   (1.5 std)
    auc: 0.0625, 0.25,   0.15625   mean 0.15625, sample std 0.09375 (5/3 std)

(with two targets the curve average is the mean of its two ends, so the curve's difference is
the mean of the two). None is decided: the points family has m = 2 (level 0.05 / 2 = 0.025), the
curves family m = 1 (level 0.05).

The expected figures come from scipy's noncentral t, independently of statsmodels: the power of
a two-sided paired t at level ``a`` over ``n`` pairs, deciding a true effect ``d`` (in standard
deviations) in its direction, is ``P(T > t_{1 - a/2, n-1})`` with ``T`` noncentral t of ``n - 1``
degrees of freedom and noncentrality ``d sqrt(n)``.
"""

import math

import pandas as pd
import pytest
import scipy.optimize
import scipy.stats

from prunebench.reporting.power import Gap, what_would_decide
from prunebench.reporting.statistics import BETTER, NO_DIFFERENCE, compare

# The smallest effect (in standard deviations) three seeds decide with 80% power, at the points
# family's level 0.025 and the curves family's 0.05 (scipy: power 0.8000000000000003 and 0.8).
EFFECT_3_SEEDS_AT_0_025 = 4.624820367928822
EFFECT_3_SEEDS_AT_0_05 = 3.2640435498199163
# The fewest seeds deciding an effect with 80% power (scipy's power at n and at n - 1):
SEEDS_FOR_2_AT_0_025 = 6  # 0.909 and 0.780
SEEDS_FOR_1_5_AT_0_025 = 7  # 0.806 and 0.688
SEEDS_FOR_5_3RDS_AT_0_05 = 6  # 0.899 and 0.793


def power(effect: float, seeds: int, level: float) -> float:
    """Scipy's noncentral t: the paired t's chance to decide ``effect`` in its direction."""
    df = seeds - 1
    critical = scipy.stats.t.isf(level / 2, df)
    return float(scipy.stats.nct.sf(critical, df, effect * math.sqrt(seeds)))


def table(differences: dict[int, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evaluated, reference) frames: the reference at 0.5, the method 0.5 + the difference."""
    rows = [(target, seed, d) for target, ds in differences.items() for seed, d in enumerate(ds)]
    frame = pd.DataFrame(rows, columns=["target_compression", "seed", "difference"])
    evaluated = frame.assign(top1=0.5 + frame["difference"])
    return evaluated, frame.assign(top1=0.5)


SMALL = {2: [0.0625, 0.1875, 0.125], 8: [0.0625, 0.3125, 0.1875]}


def test_the_expected_numbers_are_what_scipys_noncentral_t_says():
    assert power(EFFECT_3_SEEDS_AT_0_025, 3, 0.025) == pytest.approx(0.8, abs=1e-9)
    assert power(EFFECT_3_SEEDS_AT_0_05, 3, 0.05) == pytest.approx(0.8, abs=1e-9)
    for effect, level, seeds in (
        (2.0, 0.025, SEEDS_FOR_2_AT_0_025),
        (1.5, 0.025, SEEDS_FOR_1_5_AT_0_025),
        (5 / 3, 0.05, SEEDS_FOR_5_3RDS_AT_0_05),
    ):
        assert power(effect, seeds, level) >= 0.8 > power(effect, seeds - 1, level)


def test_detectable_difference_and_seeds_on_a_small_table():
    evaluated, reference = table(SMALL)
    comparisons = {c.point: c for c in compare(evaluated, {"ref": reference}, None)}
    assert [c.verdict for c in comparisons.values()] == [NO_DIFFERENCE] * 3
    expected = {
        # point: (sd, family size, level, detectable effect, seeds)
        "c2": (0.0625, 2, 0.025, EFFECT_3_SEEDS_AT_0_025, SEEDS_FOR_2_AT_0_025),
        "c8": (0.125, 2, 0.025, EFFECT_3_SEEDS_AT_0_025, SEEDS_FOR_1_5_AT_0_025),
        "auc": (0.09375, 1, 0.05, EFFECT_3_SEEDS_AT_0_05, SEEDS_FOR_5_3RDS_AT_0_05),
    }
    for point, (sd, size, level, effect, seeds) in expected.items():
        comparison = comparisons[point]
        assert comparison.sd == pytest.approx(sd, abs=1e-15)
        assert comparison.family_size == size
        estimate = what_would_decide(comparison)
        assert estimate.level == pytest.approx(level, abs=1e-15)
        assert estimate.detectable == pytest.approx(effect * sd, rel=1e-9)
        assert estimate.seeds == seeds and estimate.gap is None
    # In points: 3 seeds detect 28.91 points at 2x; about 6 seeds decide the observed 12.5.
    assert 100 * what_would_decide(comparisons["c2"]).detectable == pytest.approx(28.905, abs=1e-3)


def test_a_decided_comparison_needs_nothing():
    evaluated, reference = table({2: [0.25, 0.25 + 2**-10, 0.25 - 2**-10], 8: [0.25] * 3})
    decided = [c for c in compare(evaluated, {"ref": reference}, None) if c.verdict == BETTER]
    assert decided and all(what_would_decide(c) is None for c in decided)


def test_one_seed_gives_no_estimate():
    evaluated, reference = table({2: [0.125], 8: [0.25]})
    for comparison in compare(evaluated, {"ref": reference}, None):
        estimate = what_would_decide(comparison)
        assert estimate.gap is Gap.ONE_SEED
        assert math.isnan(estimate.detectable) and estimate.seeds is None


def test_zero_spread_gives_no_estimate_and_identical_results_are_never_decided():
    evaluated, reference = table({2: [0.125] * 3, 8: [0.0] * 3})
    points = {c.point: c for c in compare(evaluated, {"ref": reference}, None)}
    same_difference, identical = what_would_decide(points["c2"]), what_would_decide(points["c8"])
    assert points["c2"].sd == 0.0 and same_difference.gap is Gap.NO_SPREAD
    assert identical.gap is Gap.IDENTICAL
    for estimate in (same_difference, identical):
        assert math.isnan(estimate.detectable) and estimate.seeds is None


def test_an_observed_difference_of_zero_has_a_detectable_size_but_no_number_of_seeds():
    evaluated, reference = table({2: [0.0625, -0.0625, 0.0], 8: [0.0625, 0.1875, 0.125]})
    c2 = next(c for c in compare(evaluated, {"ref": reference}, None) if c.point == "c2")
    assert c2.delta == 0.0 and c2.sd == pytest.approx(0.0625, abs=1e-15)
    estimate = what_would_decide(c2)
    assert estimate.gap is Gap.ZERO_DIFFERENCE and estimate.seeds is None
    assert estimate.detectable == pytest.approx(EFFECT_3_SEEDS_AT_0_025 * 0.0625, rel=1e-9)


def test_a_tiny_difference_needs_more_seeds_than_the_search_goes():
    # A mean of 0.0005 / 3 against a spread of about 0.25: some 0.0007 standard deviations,
    # which would take millions of seeds.
    evaluated, reference = table({2: [-0.25, 0.25, 0.0005], 8: [0.0625, 0.1875, 0.125]})
    c2 = next(c for c in compare(evaluated, {"ref": reference}, None) if c.point == "c2")
    estimate = what_would_decide(c2)
    assert estimate.gap is Gap.TOO_MANY and estimate.seeds is None
    assert math.isfinite(estimate.detectable)


def test_three_seeds_at_level_0_01_detect_7_32_standard_deviations():
    # The curves family of the default run (five baselines: 0.05 / 5). statsmodels' own
    # TTestPower.solve_power answers 7.17 here, where the power is only 0.787: the figures solve
    # for the power themselves (brentq on TTestPower.power).
    exact = scipy.optimize.brentq(lambda d: power(d, 3, 0.01) - 0.8, 1.0, 50.0, xtol=1e-14)
    evaluated, reference = table(SMALL)
    comparison = next(c for c in compare(evaluated, {"ref": reference}, None) if c.point == "c2")
    estimate = what_would_decide(comparison, alpha=0.02)  # a family of 2: level 0.01
    assert estimate.level == pytest.approx(0.01, abs=1e-15)
    assert estimate.detectable == pytest.approx(exact * 0.0625, rel=1e-9)
    assert exact == pytest.approx(7.3199, abs=1e-4)
