"""The Initial models section: the curves from each initial model, and whether each verdict
holds on every one (the question of Blalock et al. 2020, Figure 8).

With several initial models (params ``initial_models``: the benchmark's model pretrained from
several seeds), the Answer's verdicts pair the runs on (initial model, seed). Here the same
comparisons are made again on each initial model's runs alone, so that a reader sees whether a
verdict is a fact about the method or about one pretrained model.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import interval, method_label
from prunebench.reporting.statistics import AUC, NO_DIFFERENCE, Comparison, compare
from prunebench.reporting.tables import percent

VERDICT_SHORT = {"better": "better", "worse": "worse", NO_DIFFERENCE: "no difference"}


@dataclass(frozen=True)
class InitialModelVerdicts:
    """The run's comparisons again, made on each initial model's runs alone.

    ``controls`` is each initial model's control top-1; ``comparisons`` each initial model's
    :func:`~prunebench.reporting.statistics.compare` of the method under evaluation with its
    baselines and matched controls (Holm-adjusted within that initial model's families);
    ``overall`` the run's comparisons across the curve, paired on (initial model, seed), by
    reference.
    """

    controls: Mapping[int, float]
    comparisons: Mapping[int, Sequence[Comparison]]
    overall: Mapping[str, Comparison]

    def holds(self, reference: str) -> bool:
        """Whether the verdict against ``reference`` across the curve, over every initial
        model, is reached again on each initial model's runs alone."""
        overall = self.overall.get(reference)
        return overall is not None and all(
            (own := self.across_curve(initial_model, reference)) is not None
            and own.verdict == overall.verdict
            for initial_model in self.controls
        )

    def across_curve(self, initial_model: int, reference: str) -> Comparison | None:
        """The comparison with ``reference`` across the curve, on ``initial_model``'s runs."""
        return next(
            (
                comparison
                for comparison in self.comparisons[initial_model]
                if comparison.reference == reference and comparison.point == AUC
            ),
            None,
        )


def initial_model_verdicts(
    cells: pd.DataFrame,
    methods: Methods,
    controls: Mapping[int, float],
    overall: Sequence[Comparison],
    *,
    family_names: Mapping[str, str] | None = None,
) -> InitialModelVerdicts:
    """Each initial model's comparisons (``cells``: the cells table, with ``initial_model``).

    Args:
        cells: one row per cell of every method, its ``initial_model`` column included.
        methods: the run's methods.
        controls: each initial model's control top-1, by initial model.
        overall: the run's comparisons over every initial model (``compare`` on all cells).
        family_names: as for :func:`~prunebench.reporting.statistics.compare`.

    Returns:
        The controls, the comparisons by initial model, and the overall ones across the curve.
    """
    references = [*methods.baselines, *methods.matched]
    comparisons = {}
    for initial_model in sorted(controls):
        own = cells[cells["initial_model"] == initial_model]
        ours = own[own["strategy"] == methods.strategy]
        theirs = {name: own[own["strategy"] == name] for name in references}
        comparisons[initial_model] = compare(
            ours, theirs, {initial_model: controls[initial_model]}, family_names=family_names
        )
    across_curve = {c.reference: c for c in overall if c.point == AUC}
    return InitialModelVerdicts(dict(controls), comparisons, across_curve)


def initial_model_lines(
    cells: pd.DataFrame,
    methods: Methods,
    comparisons: Sequence[Comparison],
    verdicts: InitialModelVerdicts,
) -> list[str]:
    """The section: what the initial models are, each one's curves, and each verdict per
    initial model with whether it holds on all of them."""
    initial_models = sorted(verdicts.controls)
    listed = ", ".join(str(k) for k in initial_models)
    lines = [
        f"Every (method, compression, seed) ran from each of {len(initial_models)} initial models "
        f"({listed}): the benchmark's model pretrained by the same recipe from its own seed "
        "(initial model k from seed k). The verdicts above pair the runs on (initial model, "
        "seed); here they are made again on each initial model's runs alone (Blalock et al. "
        "2020, Figure 8: the initial model can move the curves).",
        "",
        "### Does each verdict hold on every initial model?",
        "",
        "Across the curve (top-1 averaged over log₂ compression), the method under evaluation "
        "minus the reference: the verdict, then the difference in points with its 95% interval "
        "(Holm's correction within each initial model's families, as in the Answer):",
        "",
        "| reference | every initial model | "
        + " | ".join(f"initial model {k}" for k in initial_models)
        + " | holds on every initial model |",
        "| --- | --- | " + " | ".join("---" for _ in initial_models) + " | --- |",
    ]
    for overall in comparisons:
        if overall.point != AUC or overall.reference not in (*methods.baselines, *methods.matched):
            continue
        if overall.reference == methods.strategy:
            continue  # the method run again as a baseline: a sanity check, not a verdict
        own = [verdicts.across_curve(k, overall.reference) for k in initial_models]
        cells_text = [_verdict_cell(comparison) for comparison in own]
        holds = "yes" if verdicts.holds(overall.reference) else "**no**"
        lines.append(
            f"| {method_label(overall.reference, methods)} | {_verdict_cell(overall)} | "
            + " | ".join(cells_text)
            + f" | {holds} |"
        )
    lines += ["", "### Top-1 from each initial model", "", *_curve_lines(cells, methods, verdicts)]
    return lines


def _verdict_cell(comparison: Comparison | None) -> str:
    if comparison is None:
        return "n/a"
    return f"{VERDICT_SHORT[comparison.verdict]}: {interval(comparison, short=True)}"


def _curve_lines(
    cells: pd.DataFrame, methods: Methods, verdicts: InitialModelVerdicts
) -> list[str]:
    """Mean top-1 over seeds per method, initial model and target: the curves, one per model."""
    targets = sorted(float(value) for value in cells["target_compression"].unique())
    lines = [
        "Mean top-1 over seeds (%), each initial model beside its own control:",
        "",
        "| method | initial model | control | " + " | ".join(f"{t:g}×" for t in targets) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in targets) + " |",
    ]
    means = cells.groupby(["strategy", "initial_model", "target_compression"])["top1"].mean()
    for method in methods.all:
        for initial_model in sorted(verdicts.controls):
            values = [means.get((method, initial_model, target), math.nan) for target in targets]
            lines.append(
                f"| {method_label(method, methods)} | {initial_model} | "
                f"{percent(verdicts.controls[initial_model], '')} | "
                + " | ".join(percent(value, "") for value in values)
                + " |"
            )
    return lines
