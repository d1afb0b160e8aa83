"""The Answer's matched controls: does the method's result come from its per-layer allocation or
from its choice of weights within each layer?

A matched control keeps exactly the evaluated method's number of weights in every layer and
chooses which ones by its own score (the layer-shuffle ablation of Frankle et al., ICLR 2021).
The evaluated method against each matched control isolates its choice within a layer; each
matched control against the baseline that chooses within a layer as it does, under one global
threshold (:func:`~prunebench.reporting.methods.allocation_pairs`), isolates the allocation.
Which control chooses at random and which by magnitude is read from its declared score.
"""

from collections.abc import Mapping, Sequence

from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import VERDICT_WORDS, interval, uncorrected
from prunebench.reporting.report.training_budget import Budgets, budget_mark
from prunebench.reporting.statistics import AUC, BETTER, NO_DIFFERENCE, WORSE, Comparison

# What a matched control keeps within each layer, and how it chooses, by its declared score.
WITHIN = {"magnitude": "the largest weights", "random": "random weights"}
CHOSEN = {"magnitude": "by magnitude", "random": "at random"}
# What each verdict against a matched control says of the evaluated method's choice within a
# layer, by the control's score; any other score is worded by :func:`_meaning`.
MEANINGS = {
    "random": {
        BETTER: "which weights it keeps within a layer matters, beyond how many",
        NO_DIFFERENCE: "no detectable gain from its choice within a layer: as far as these "
        "seeds can tell, its result comes from its per-layer allocation",
        WORSE: "random weights in its layer sizes do better than its own choice",
    },
    "magnitude": {
        BETTER: "it chooses weights within a layer better than magnitude does",
        NO_DIFFERENCE: "within a layer it chooses no better and no worse than magnitude",
        WORSE: "magnitude would choose better within its layer sizes",
    },
}


def matched_control_lines(
    methods: Methods,
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
    budgets: Budgets,
) -> list[str]:
    """What the matched controls show: allocation versus choice of weights within a layer.

    ``allocation`` maps a matched control to its comparison, across the curve, with its paired
    baseline. Nothing where the run has no matched control.
    """
    strategy, matched = methods.strategy, methods.matched
    if not matched:
        return []
    curves = {c.reference: c for c in comparisons if c.point == AUC}
    lines = [
        "**Allocation or choice of weights?** The matched controls keep exactly "
        f"`{strategy}`'s number of weights in every layer and choose which ones "
        f"{_choices(methods)}, the layer-shuffle ablation of Frankle et al. (ICLR 2021). "
        f"`{strategy}` is:",
        "",
    ]
    for name in matched:
        comparison = curves.get(name)
        if comparison is not None:
            lines.append(
                f"- {VERDICT_WORDS[comparison.verdict]} `{name}` across the curve: "
                f"{interval(comparison)}{uncorrected(comparison)}; "
                f"{_meaning(methods.part(name, 'score'), comparison)}." + budget_mark(name, budgets)
            )
    for matched_control, comparison in allocation.items():
        lines.append(_allocation_line(methods, matched_control, comparison))
    return [*lines, ""]


def _choices(methods: Methods) -> str:
    """``"at random (`matched_random`) or by magnitude (`matched_mag`)"``."""
    described = [
        f"{CHOSEN.get(score, f'by {score}')} (`{name}`)"
        for name in methods.matched
        if (score := methods.part(name, "score")) is not None
    ]
    if len(described) > 1:
        return ", ".join(described[:-1]) + " or " + described[-1]
    return "".join(described) or "in their own way"


def _meaning(score: str | None, comparison: Comparison) -> str:
    """What the verdict against a matched control choosing by ``score`` says of the method."""
    if score == "magnitude" and comparison.ci_low == comparison.ci_high == 0:
        return "identical results: within every layer it keeps the largest weights"
    if score in MEANINGS:
        return MEANINGS[score][comparison.verdict]
    return {
        BETTER: f"it chooses weights within a layer better than {score} scores do",
        NO_DIFFERENCE: f"within a layer it chooses no better and no worse than {score} scores",
        WORSE: f"{score} scores would choose better within its layer sizes",
    }[comparison.verdict]


def _allocation_line(methods: Methods, matched_control: str, comparison: Comparison) -> str:
    """The evaluated method's allocation, judged by its matched control against a baseline."""
    baseline = comparison.reference
    # A random score under one global threshold prunes every layer by the same fraction,
    # in expectation: its allocation is in effect a uniform one.
    uniform = " (in effect a uniform one)" if methods.part(baseline, "score") == "random" else ""
    score = methods.part(matched_control, "score")
    within = WITHIN.get(score, f"{score}'s top weights")
    allocation = {
        BETTER: f"better than `{baseline}`'s{uniform}.",
        NO_DIFFERENCE: f"not detectably different from `{baseline}`'s{uniform}.",
        WORSE: f"worse than `{baseline}`'s{uniform}.",
    }[comparison.verdict]
    return (
        f"- Its allocation, with the choice within a layer held fixed: `{matched_control}` is "
        f"{VERDICT_WORDS[comparison.verdict]} `{baseline}` across the curve: "
        f"{interval(comparison)}{uncorrected(comparison)}; so with {within} chosen within each "
        f"layer, `{methods.strategy}`'s per-layer allocation is {allocation}"
    )
