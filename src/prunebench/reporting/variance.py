"""What explains the spread of top-1: a fixed-effects ANOVA at each target compression.

The paper's confounders (Blalock et al., 2020, section 4.5, and section 7.3 with its Figure 8):
the initial model a method starts from moves its curve, and the seed moves it too. Whether
methods differ by more than that is a question of shares: at each target compression, how much
of the spread of top-1 over the cells is explained by the method, the initial model, the seed,
the method x initial-model interaction, and what is left (the residual).
:func:`variance_shares` answers it from the tidy cells table, one :class:`VarianceShares` record
per target; :func:`render_variance_shares` writes the records as a Markdown table with the
sentence naming the model and its assumptions.

**The model.** A linear model with every factor fixed and categorical, fitted by ordinary least
squares (statsmodels' ``ols``) on the cells of one target::

    top1 ~ C(strategy) + C(initial_model) + C(seed) + C(strategy):C(initial_model)

``strategy`` is the column of the cells table (``cells.csv``) that names a cell's method (the
historical key of ``docs/design.md``, "Names in files"); ``initial_model`` names the initial model
a cell started from. The seed is a fixed *blocking* factor, not a replicate: one seed gives every
method the same finetuning data order and scoring data, so cells that share a seed are paired.

**What the residual holds.** Everything the terms above do not: the method x seed and initial
model x seed interactions and the three-way interaction (with one cell per method, initial model
and seed they are not separable from one another, nor from noise), plus any replicates' noise.

**A share** is a term's sum of squares over the total sum of squares of top-1 about its mean
(eta squared), so the shares of the terms and the residual sum to one. It describes this table,
it is not a variance component: a factor with no effect at all still takes on average about its
degrees of freedom over ``cells - 1`` of the total, by chance.

**Terms that drop out.** A factor with a single level at a target (one initial model, which is
also what a table without an ``initial_model`` column means; one seed; one method) explains
nothing the table could tell apart: it leaves the formula and its share is ``None``, as is the
interaction whenever the method or the initial model has one level. ``None`` is "not estimated",
never 0: a share of 0 is a factor that was estimated and explains nothing. The interaction also
leaves the formula when fitting it would leave no residual degrees of freedom (a saturated model:
one seed and no replicates, so one cell per method and initial model); its sum of squares is then
the residual's, which is what the residual means there. When the main effects alone saturate the
model (e.g. two methods, one initial model, one seed) every cell is fitted exactly: the residual's
share is 0 with 0 degrees of freedom, which says nothing about the noise (``residual_df`` tells).

Example: four cells at 8x, methods ``a`` and ``b`` on initial models 0 and 1 with one seed,
top-1 0.5, 0.6 (``a``) and 0.7, 0.9 (``b``). The mean is 0.675 and the total sum of squares
0.0875; the method means 0.55 and 0.8 give the method 4 x 0.125^2 = 0.0625 of it (a share of
0.714), the initial-model means 0.6 and 0.75 give 4 x 0.075^2 = 0.0225 (0.257), and the residual,
which is the interaction here (one seed cannot separate it), keeps 0.0025 (0.029), with one
degree of freedom. ``tests/test_variance.py`` works more tables out by hand.
"""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResultsWrapper
from statsmodels.stats.anova import anova_lm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.typed import Record

METHOD = "strategy"
"""The cells table's column naming a cell's method (its historical name in ``cells.csv``)."""
INITIAL_MODEL = "initial_model"
"""The column naming a cell's initial model; optional (absent: one initial model)."""
SEED = "seed"
TARGET = "target_compression"
METRIC = "top1"

SOURCES = {
    "method": "method",
    "initial_model": "initial model",
    "seed": "seed",
    "method_x_initial_model": "method × initial model",
    "residual": "residual",
}
"""Each source of variance: its :class:`VarianceShares` field and its name in the report."""

FULL_FORMULA = "top1 ~ method + initial model + seed + method × initial model"
"""The model as the report names it, before any term drops out."""


@dataclass(frozen=True)
class VarianceShares(Record):
    """At one target compression, the share of the sum of squares of top-1 each source explains.

    Shares are fractions in [0, 1]; those that are not ``None`` sum to one. ``None``: the term
    was not in the model (a factor with one level, or an interaction that would saturate it; see
    the module docstring). Every share is NaN where the cells have no spread at all (the same
    top-1 everywhere): there is nothing to share out.

    ``cells`` is the number of rows at the target; ``residual_df`` the residual degrees of
    freedom (0: the model is saturated, and a residual share of 0 says nothing about noise);
    ``balanced`` whether every (method, initial model, seed) has the same number of cells, in
    which case the shares do not depend on the order of the terms; ``formula`` the statsmodels
    formula fitted.
    """

    described_as = "variance shares"

    target_compression: float
    cells: int
    method: float | None
    initial_model: float | None
    seed: float | None
    method_x_initial_model: float | None
    residual: float
    residual_df: int
    balanced: bool
    formula: str

    def shares(self) -> dict[str, float | None]:
        """Each source's share by its field name, in :data:`SOURCES` order."""
        return {source: getattr(self, source) for source in SOURCES}


def variance_shares(table: pd.DataFrame) -> list[VarianceShares]:
    """The :class:`VarianceShares` of ``table`` at each of its target compressions, in order.

    ``table`` has a row per cell with the columns ``strategy`` (the method),
    ``target_compression``, ``seed`` and ``top1``, and optionally ``initial_model``; other
    columns are ignored. A missing column, a missing top-1, or a target whose cells cannot
    estimate every term of its model (a method never run from some initial model, say) is
    refused in one line.
    """
    missing = [column for column in (METHOD, TARGET, SEED, METRIC) if column not in table]
    if missing:
        raise PrunebenchError(f"the cells table lacks the column(s) {', '.join(missing)}")
    if table.empty:
        raise PrunebenchError("no cells to explain the variance of")
    cells = table.assign(**{INITIAL_MODEL: table[INITIAL_MODEL] if INITIAL_MODEL in table else 0})
    for column in (METHOD, INITIAL_MODEL, SEED, TARGET, METRIC):
        # statsmodels would silently drop a row with a missing value, and its cell with it.
        if cells[column].isna().any():
            raise PrunebenchError(f"a cell has no {column}; its variance cannot be shared out")
    return [_shares_at(float(target), rows) for target, rows in cells.groupby(TARGET, sort=True)]


def _shares_at(target: float, rows: pd.DataFrame) -> VarianceShares:
    """The shares at one target (``rows`` has an ``initial_model`` column, maybe constant)."""
    levels = {column: rows[column].nunique() for column in (METHOD, INITIAL_MODEL, SEED)}
    counts = rows.groupby([METHOD, INITIAL_MODEL, SEED]).size()
    balanced = len(counts) == math.prod(levels.values()) and counts.nunique() == 1
    # Each source in the model, by its record field, as the formula writes it: factors with
    # more than one level, and the interaction of two such factors.
    factors = {"method": METHOD, "initial_model": INITIAL_MODEL, "seed": SEED}
    terms = {source: f"C({column})" for source, column in factors.items() if levels[column] > 1}
    if "method" in terms and "initial_model" in terms:
        terms["method_x_initial_model"] = f"{terms['method']}:{terms['initial_model']}"
    fit = _fit(rows, terms)
    if "method_x_initial_model" in terms and fit.df_resid < 1:
        # Saturated: with no replicate to separate it from, the interaction is the residual.
        del terms["method_x_initial_model"]
        fit = _fit(rows, terms)
    if fit.model.rank < fit.model.exog.shape[1]:
        raise PrunebenchError(
            f"at compression {target:g} the cells cannot separate every term of "
            f"{fit.model.formula}: run every method from every initial model"
        )
    sums = _sums_of_squares(fit)
    total = sum(sums.values())
    spread = bool(np.ptp(rows[METRIC].to_numpy(dtype=float)) > 0)

    def share(name: str) -> float:
        return sums[name] / total if spread else math.nan

    def term_share(source: str) -> float | None:
        """``source``'s share; None where it is not in the model."""
        return share(terms[source]) if source in terms else None

    return VarianceShares(
        target_compression=target,
        cells=len(rows),
        method=term_share("method"),
        initial_model=term_share("initial_model"),
        seed=term_share("seed"),
        method_x_initial_model=term_share("method_x_initial_model"),
        residual=share("Residual"),
        residual_df=round(fit.df_resid),
        balanced=balanced,
        formula=fit.model.formula,
    )


def _fit(rows: pd.DataFrame, terms: dict[str, str]) -> RegressionResultsWrapper:
    """Ordinary least squares of top-1 on ``terms`` (the intercept alone where there are none)."""
    present = list(terms.values())
    with warnings.catch_warnings():
        # A design that cannot separate its terms is refused by the caller, in its own words.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        return smf.ols(f"{METRIC} ~ {' + '.join(present) or '1'}", rows).fit()


def _sums_of_squares(fit: RegressionResultsWrapper) -> dict[str, float]:
    """Each term's sum of squares and the residual's (``"Residual"``), by the formula's names."""
    # Why type I (sequential) sums of squares: they are the one decomposition whose terms and
    # residual add up to the total sum of squares for any table, so the shares sum to one by
    # construction. Types II and III test each term adjusted for the others, and on an
    # unbalanced table their sums of squares do not add up (type III also needs sum-to-zero
    # contrasts to mean anything). The benchmark's grid is complete, every method at every
    # initial model and seed, so the design is balanced and types I, II and III agree; only a
    # table with missing cells makes the order (method, initial model, seed, interaction)
    # matter, and ``VarianceShares.balanced`` says so.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # A saturated model has no residual mean square, so its F tests divide by zero; only
        # the sums of squares are read here.
        warnings.simplefilter("ignore", RuntimeWarning)
        anova = anova_lm(fit, typ=1)
    return {str(name): max(float(value), 0.0) for name, value in anova["sum_sq"].items()}


def render_variance_shares(shares: Sequence[VarianceShares]) -> str:
    """The shares as Markdown: the sentence naming the model and its assumptions, a table with
    one row per target and a column per source (percentages to one decimal, "—" where a source
    is not in the model, "n/a" where the cells have no spread), and a note for each target whose
    interaction went into the residual or whose model is saturated."""
    if not shares:
        raise PrunebenchError("no variance shares to render")
    lines = [
        "The share of the variance of top-1 (its sum of squares about the mean) that each "
        "source explains, at each target compression: a fixed-effects ANOVA fitted by "
        f"ordinary least squares on the cells of the target, `{FULL_FORMULA}` (statsmodels' "
        "`ols` and `anova_lm`), with sequential (type I) sums of squares, which on a complete "
        "grid do not depend on the order of the terms. It assumes independent, normally "
        "distributed errors of equal variance in every cell, and treats every factor as fixed: "
        "the seed is a blocking factor (one seed gives every method the same data order), not "
        "a random draw. The residual holds the seed's interactions with the method and the "
        "initial model, and the noise. A source with one level is not in the model (—). A "
        "share describes these cells, not a population: a source with no effect at all still "
        "takes, by chance, about its degrees of freedom over the number of cells less one.",
        "",
        "| target | " + " | ".join(SOURCES.values()) + " | cells |",
        "| --- | " + " | ".join("---:" for _ in SOURCES) + " | ---: |",
    ]
    for record in shares:
        row = [_percent(value) for value in record.shares().values()]
        lines.append(f"| {record.target_compression:g}× | {' | '.join(row)} | {record.cells} |")
    notes = [_note(record) for record in shares]
    if any(notes):
        lines.append("")
        lines += [note for note in notes if note]
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f}%" if math.isfinite(value) else "n/a"


def _note(record: VarianceShares) -> str:
    """What a reader of one row must know beyond its numbers; "" where nothing."""
    target = f"{record.target_compression:g}×"
    if not math.isfinite(record.residual):
        return f"At {target} every cell has the same top-1: there is no spread to explain."
    said = []
    if (
        record.method is not None
        and record.initial_model is not None
        and record.method_x_initial_model is None
    ):
        said.append(
            "one cell per method and initial model leaves no replicate to separate the "
            "method × initial-model interaction from the residual, which holds it"
        )
    if record.residual_df == 0:
        said.append(
            "the model is saturated (no residual degrees of freedom): it fits every cell "
            "exactly, and the residual's 0 says nothing about the noise"
        )
    if not record.balanced:
        said.append(
            "some cells are missing, so the shares depend on the order of the terms (method "
            "first, then initial model, seed and their interaction)"
        )
    return f"At {target} " + "; ".join(said) + "." if said else ""
