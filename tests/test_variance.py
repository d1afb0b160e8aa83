"""What explains the spread of top-1: the ANOVA shares, checked against hand computations.

The small balanced table: methods ``a`` and ``b``, initial models 0 and 1, seeds 0 and 1, at
target 8, each top-1 built from signed effects (s = -1 for ``a``, initial model 0 and seed 0,
+1 for the others), in units of 0.01:

    top1 = 80 + 4 s_method + 2 s_initial + 1 s_seed + 1 s_method s_initial
              + 1 s_method s_initial s_seed                           (the residual)

    method  initial  seed 0  seed 1
    a       0        73      77
    a       1        77      77
    b       0        81      81
    b       1        85      89

Mean 80; deviations -7, -3, -3, -3, +1, +1, +5, +9, so the total sum of squares is
49 + 9 + 9 + 9 + 1 + 1 + 25 + 81 = 184 (units of 0.0001). In a balanced 2 x 2 x 2 design a term
with effects of +-e has a sum of squares of 8 e^2, and the means check each effect: method means
76 and 84 (e = 4: 128), initial models 78 and 82 (e = 2: 32), seeds 79 and 81 (e = 1: 8); the
method x initial-model means 75, 77, 81, 87 leave 75 - 76 - 78 + 80 = +1 once the main effects are
removed (e = 1: 8); the residual is the rest, 184 - 128 - 32 - 8 - 8 = 8. The shares are
128 : 32 : 8 : 8 : 8 of 184, that is 16 : 4 : 1 : 1 : 1 of 23.
"""

import math

import pandas as pd
import pytest

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.variance import (
    VarianceShares,
    render_variance_shares,
    variance_shares,
)

# (method, initial model, seed) -> top-1 in units of 0.01 (the table of the module docstring).
SMALL = {
    ("a", 0, 0): 73,
    ("a", 0, 1): 77,
    ("a", 1, 0): 77,
    ("a", 1, 1): 77,
    ("b", 0, 0): 81,
    ("b", 0, 1): 81,
    ("b", 1, 0): 85,
    ("b", 1, 1): 89,
}


def table(cells: dict[tuple[str, int, int], float], target: float = 8) -> pd.DataFrame:
    """A cells table (the columns of ``cells.csv`` and ``initial_model``) from top-1 in points."""
    rows = [
        {
            "strategy": method,
            "initial_model": initial,
            "seed": seed,
            "target_compression": target,
            "top1": points / 100,
        }
        for (method, initial, seed), points in cells.items()
    ]
    return pd.DataFrame(rows)


def present(record: VarianceShares) -> dict[str, float]:
    return {name: share for name, share in record.shares().items() if share is not None}


def test_the_shares_of_the_small_balanced_table_are_the_hand_computed_ones():
    [record] = variance_shares(table(SMALL))
    assert record.target_compression == 8
    assert record.cells == 8
    assert record.balanced
    assert record.method == pytest.approx(16 / 23, abs=1e-12)
    assert record.initial_model == pytest.approx(4 / 23, abs=1e-12)
    assert record.seed == pytest.approx(1 / 23, abs=1e-12)
    assert record.method_x_initial_model == pytest.approx(1 / 23, abs=1e-12)
    assert record.residual == pytest.approx(1 / 23, abs=1e-12)
    # 8 cells less 1 + 1 + 1 + 1 + 1 parameters (intercept, three main effects, interaction).
    assert record.residual_df == 3


def test_the_shares_sum_to_one_at_every_target_even_with_missing_cells():
    cells = pd.concat(
        [
            table(SMALL, target=2),
            table({key: value + 3 * key[2] * (key[0] == "b") for key, value in SMALL.items()}, 8),
            table({("a", 0, 0): 70, ("a", 0, 1): 74, ("b", 0, 0): 79, ("b", 0, 1): 76}, 32),
            table({key: value for key, value in SMALL.items() if key != ("b", 1, 1)}, 16),
        ]
    )
    records = variance_shares(cells)
    assert [record.target_compression for record in records] == [2, 8, 16, 32]
    for record in records:
        assert sum(present(record).values()) == pytest.approx(1, abs=1e-12)
        assert all(0 <= share <= 1 for share in present(record).values())
    assert [record.balanced for record in records] == [True, True, False, True]


def test_one_initial_model_gives_no_initial_model_or_interaction_share():
    # Initial model 0 alone: a 73, 77 and b 81, 81. Mean 78, deviations -5, -1, +3, +3: total
    # 25 + 1 + 9 + 9 = 44. Method means 75 and 81 (e = 3, 4 x 9 = 36); seed means 77 and 79
    # (e = 1, 4 x 1 = 4); residual 44 - 36 - 4 = 4. Shares 9/11, 1/11, 1/11.
    only_first = table({key: value for key, value in SMALL.items() if key[1] == 0})
    without_column = only_first.drop(columns="initial_model")
    for cells in (only_first, without_column):
        [record] = variance_shares(cells)
        assert record.initial_model is None
        assert record.method_x_initial_model is None
        assert record.method == pytest.approx(9 / 11, abs=1e-12)
        assert record.seed == pytest.approx(1 / 11, abs=1e-12)
        assert record.residual == pytest.approx(1 / 11, abs=1e-12)
        assert "initial_model" not in record.formula


def test_a_table_whose_method_effect_is_zero_gives_a_method_share_of_zero():
    # The small table less its method effect (4 s_method): the other sums of squares stay
    # 32, 8, 8, 8, so the shares are 0 and 4 : 1 : 1 : 1 of 7.
    flat = {key: value - (4 if key[0] == "b" else -4) for key, value in SMALL.items()}
    [record] = variance_shares(table(flat))
    assert record.method == pytest.approx(0, abs=1e-12)
    assert record.initial_model == pytest.approx(4 / 7, abs=1e-12)
    assert record.seed == pytest.approx(1 / 7, abs=1e-12)
    assert record.method_x_initial_model == pytest.approx(1 / 7, abs=1e-12)
    assert record.residual == pytest.approx(1 / 7, abs=1e-12)


def test_with_one_seed_the_interaction_is_the_residual():
    # The module docstring's example: a 50, 60 and b 70, 90 on initial models 0 and 1. Total
    # 875; method means 55 and 80 (4 x 12.5^2 = 625); initial models 60 and 75 (4 x 7.5^2 = 225);
    # the residual, which is the interaction, 25.
    cells = {("a", 0, 0): 50, ("a", 1, 0): 60, ("b", 0, 0): 70, ("b", 1, 0): 90}
    [record] = variance_shares(table(cells))
    assert record.seed is None
    assert record.method_x_initial_model is None
    assert record.method == pytest.approx(625 / 875, abs=1e-12)
    assert record.initial_model == pytest.approx(225 / 875, abs=1e-12)
    assert record.residual == pytest.approx(25 / 875, abs=1e-12)
    assert record.residual_df == 1


def test_a_saturated_model_leaves_a_residual_of_zero_with_zero_degrees_of_freedom():
    [record] = variance_shares(table({("a", 0, 0): 50, ("b", 0, 0): 70}))
    assert record.method == pytest.approx(1, abs=1e-12)
    assert record.residual == pytest.approx(0, abs=1e-12)
    assert record.residual_df == 0
    assert "saturated" in render_variance_shares([record])


def test_cells_without_spread_have_no_shares_to_give():
    [record] = variance_shares(table({key: 10 for key in SMALL}))
    assert all(math.isnan(share) for share in present(record).values())
    assert "| n/a |" in render_variance_shares([record])


def test_a_method_never_run_from_an_initial_model_is_refused():
    cells = {key: value for key, value in SMALL.items() if key[:2] != ("b", 1)}
    with pytest.raises(PrunebenchError, match="every method from every initial model"):
        variance_shares(table(cells))


def test_a_table_without_top1_is_refused_naming_the_column():
    with pytest.raises(PrunebenchError, match="top1"):
        variance_shares(table(SMALL).drop(columns="top1"))


def test_the_record_round_trips_through_json():
    [record] = variance_shares(table(SMALL))
    assert VarianceShares.from_json(record.to_json()) == record


def test_the_markdown_table_has_a_row_per_target_in_percent_and_names_the_model():
    cells = pd.concat(
        [
            table(SMALL, target=8),
            table({key: value for key, value in SMALL.items() if key[1] == 0}, target=32),
        ]
    )
    text = render_variance_shares(variance_shares(cells))
    lines = text.splitlines()
    assert "| target | method | initial model | seed | method × initial model | residual |" in text
    # 16/23 = 69.57%, 4/23 = 17.39%, 1/23 = 4.35%; at 32x 9/11 = 81.82%, 1/11 = 9.09%.
    assert "| 8× | 69.6% | 17.4% | 4.3% | 4.3% | 4.3% | 8 |" in lines
    assert "| 32× | 81.8% | — | 9.1% | — | 9.1% | 4 |" in lines
    assert "fixed-effects ANOVA" in text
    assert "top1 ~ method + initial model + seed + method × initial model" in text
    assert "independent, normally distributed errors of equal variance" in text
    assert "blocking factor" in text
    assert "type I" in text
