"""The Markdown report: the answer first, then setup, results, figures and the paper's checklist.

Sections, in order: **Answer** (is the method under evaluation better than each baseline, where on
the curve, by how much, how sure; what the matched controls say about its allocation and its
choice of weights; how far it falls from the unpruned control), **Setup**, **Results** (mean ±
std tables, every seed, every comparison), **Figures**, **Metric disagreement** and the
**Checklist** of Blalock et al. (2020), Appendix B. Every sentence is computed from this run's
cells, so a run with one seed or three compressions says so in its own report.

``setup`` describes the run; keys read here (missing optional ones print as "n/a"):

- ``benchmark``: registry key; ``dataset``, ``model``: registry names;
- ``pretrained``: ``{"source": str, "top1": float}`` (accuracy of the starting model as published
  or as trained; optional);
- ``finetune``: the finetuning recipe, ``{field: value}``; ``augmentation``: its name;
- ``seeds``, ``compressions``: the grid of params.yaml;
- ``environment``: ``{"prunebench": version, "torch": version, "device": str, ...}``.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.reporting.checklist import RunEvidence, checklist, render_checklist
from prunebench.reporting.disagreement import metric_disagreement
from prunebench.reporting.statistics import (
    AUC,
    BETTER,
    CONFIDENCE,
    CONTROL,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
)
from prunebench.reporting.tables import (
    finite,
    methods_in_order,
    percent,
    recipe_text,
    select_methods,
)

# Where the model comes from, for the checklist's architecture items.
MODEL_CITATIONS = {
    "lenet5": "LeNet-5-Caffe (LeCun et al. 1998, as in Caffe's example: conv 20, conv 50, "
    "fc 500, fc 10)",
    "lenet300_100": "LeNet-300-100 (LeCun et al. 1998)",
    "vgg_bn_drop": "CIFAR-VGG with batch norm and dropout (Zagoruyko 2015)",
    **{
        f"resnet{depth}": f"CIFAR ResNet-{depth} with option-A shortcuts (He et al. 2016)"
        for depth in (20, 32, 44, 56, 110)
    },
    **{
        f"resnet{depth}": f"torchvision ResNet-{depth} (He et al. 2016)"
        for depth in (18, 34, 50, 101, 152)
    },
}
VERDICT_WORDS = {
    BETTER: "**better** than",
    WORSE: "**worse** than",
    NO_DIFFERENCE: "**not detectably different** from",
}
INTERVAL = f"{CONFIDENCE:.0%} paired-t CI over seeds"
WITHIN = {"matched_mag": "the largest weights", "matched_random": "random weights"}


def render_report(
    cells: pd.DataFrame,
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    *,
    strategy: str,
    baselines: Sequence[str],
    matched: Sequence[str],
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
    figures: Mapping[str, str],
) -> str:
    """The run's Markdown report.

    ``cells`` has one row per cell (every seed), ``grouped`` the mean and std per point;
    ``comparisons`` are :func:`prunebench.reporting.statistics.compare` of the method under
    evaluation with ``baselines``, ``matched`` and the control; ``allocation`` maps a matched
    control to its comparison, across the curve, with the baseline that shares its way of
    choosing weights within a layer (the effect of the method's allocation alone). ``figures``
    maps a caption to a path relative to the report.
    """
    methods = [*methods_in_order(strategy, baselines), *matched]
    rows = select_methods(grouped, methods)
    seeds = sorted(cells["seed"].unique())
    lines = [
        f"# Pruning benchmark: `{strategy}` on `{setup.get('benchmark', 'n/a')}`",
        "",
        "## Answer",
        "",
        *_answer(strategy, baselines, comparisons, seeds, len(allocation)),
        "",
        *_matched_lines(strategy, matched, comparisons, allocation),
        *_control_lines(strategy, control, comparisons),
        "",
        "## Setup",
        "",
        *_setup_lines(setup, control),
        "",
        "## Results",
        "",
        "Top-1 accuracy (%), mean ± sample std over seeds, by target compression:",
        "",
        *_wide_table(rows, methods, strategy),
        "",
        "Every operating point (accuracy in %; compression and speedup achieved, as means):",
        "",
        *_long_table(rows, methods, strategy, control),
        "",
        "### Every seed",
        "",
        "Top-1 (%) of each cell (also in `results/cells.csv`); a seed fixes the scoring "
        "minibatches and the finetuning data order of every method alike, so a column is a set "
        "of paired runs:",
        "",
        *_seed_table(cells, methods, strategy),
        "",
        "### Every comparison",
        "",
        f"`{strategy}` minus the reference, top-1 in percentage points; {INTERVAL}; p: two-sided "
        "paired t; Holm: adjusted within its family (also in `results/summary.json`, "
        "`verdicts`):",
        "",
        *_comparison_table(comparisons),
        "",
        "## Figures",
        "",
        "Points: each seed; line: mean over seeds; band: 95% confidence interval of the mean "
        "(Student t). The dashed horizontal line is the unpruned control. A band is one "
        "method's own spread, not a paired comparison: overlapping bands do not mean no "
        "difference (the Answer's paired intervals decide that).",
        "",
        *([f"![{caption}]({path})\n" for caption, path in figures.items()] or ["None.\n"]),
        "## Metric disagreement",
        "",
        "Does the ranking by top-1 at fixed compression agree with the ranking at matched "
        f"theoretical speedup? Gaps are per seed, with a {INTERVAL} (per pair of methods, not "
        "corrected for the number of pairs examined); a flip whose intervals include zero is "
        "noise, not a disagreement.",
        "",
        *_disagreement_lines(_select_cells(cells, methods_in_order(strategy, baselines))),
        "",
        "## Checklist (Blalock et al. 2020, Appendix B)",
        "",
        *render_checklist(checklist(_evidence(rows, cells, control, setup, strategy, baselines,
                                               matched, figures))),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _select_cells(cells: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """The rows of ``methods`` only."""
    return cells[cells["strategy"].isin(methods)]


def _answer(
    strategy: str,
    baselines: Sequence[str],
    comparisons: Sequence[Comparison],
    seeds: list,
    allocation_count: int,
) -> list[str]:
    references = [name for name in baselines if any(c.reference == name for c in comparisons)]
    families = _family_sizes(comparisons, allocation_count)
    lines = [
        f"Is `{strategy}` more accurate after pruning and finetuning than each baseline? Top-1 "
        f"difference in percentage points, `{strategy}` minus the baseline, paired over seeds "
        f"{', '.join(str(seed) for seed in seeds)} (n = {len(seeds)}), with its {INTERVAL}. "
        "*Across the curve* compares the area under top-1 against log₂(compression) over the "
        "targets, divided by its width (the curve's average top-1). A verdict of better or "
        f"worse needs a Holm-adjusted p below 0.05 within its family ({families}). The "
        "intervals are per comparison and the verdict carries the correction, so an interval "
        "that excludes zero can still read as no detectable difference; the report says so "
        "where it happens.",
        "",
    ]
    for reference in references:
        lines.append(f"- `{strategy}` is {_reference_line(reference, comparisons)}")
    if not references:
        lines.append("- No baseline to compare with.")
    return lines


def _family_sizes(comparisons: Sequence[Comparison], allocation: int) -> str:
    """``"baselines at single compressions: 25; ..."``: how many comparisons each family holds."""
    names = {
        "points": "baselines at single compressions",
        "curves": "baselines across the curve",
        "matched points": "matched controls at single compressions",
        "matched curves": "matched controls across the curve",
        "self points": "the method against itself as a baseline, a sanity check",
        "self curves": "the same across the curve",
        "control": "the control",
    }
    sizes = pd.Series([c.family for c in comparisons]).value_counts(sort=False)
    described = [f"{names.get(family, family)}: {count}" for family, count in sizes.items()]
    if allocation:
        described.append(f"the allocation alone: {allocation}")
    return "; ".join(described)


def _reference_line(reference: str, comparisons: Sequence[Comparison]) -> str:
    """One sentence: the curve's verdict, then where on the curve the single points differ."""
    mine = [c for c in comparisons if c.reference == reference]
    curve = next((c for c in mine if c.point == AUC), None)
    points = [c for c in mine if c.point != AUC]
    if curve is None:
        head = f"vs `{reference}`"
    else:
        head = (
            f"{VERDICT_WORDS[curve.verdict]} `{reference}` across the curve: {_interval(curve)}"
            + _uncorrected(curve)
        )
    parts = []
    for verdict in (BETTER, WORSE):
        found = [c for c in points if c.verdict == verdict]
        if found:
            parts.append(f"{verdict} at {_targets(found)} ({_largest(found)})")
    undecided = [c for c in points if c.verdict == NO_DIFFERENCE]
    if undecided and len(undecided) == len(points):
        parts.append(f"no detectable difference at any of them ({_largest(undecided)})")
    elif undecided:
        parts.append(f"no detectable difference at {_targets(undecided)}")
    parts[-1:] = [part + _uncorrected_points(points) for part in parts[-1:]]
    if not parts:
        return head + "."
    return f"{head}. At single compressions: " + "; ".join(parts) + "."


def _uncorrected(comparison: Comparison) -> str:
    """A note where the interval excludes zero but the Holm-adjusted p does not reach 0.05."""
    if comparison.verdict == NO_DIFFERENCE and (comparison.ci_low > 0 or comparison.ci_high < 0):
        return (
            f" (the interval excludes zero, but not after Holm's correction: adjusted p "
            f"{_p(comparison.p_holm)})"
        )
    return ""


def _uncorrected_points(comparisons: Sequence[Comparison]) -> str:
    """The same note for the single compressions where it applies, listed once."""
    flagged = [c for c in comparisons if _uncorrected(c)]
    if not flagged:
        return ""
    return f" (at {_targets(flagged)} the interval excludes zero, but not after Holm's correction)"


def _largest(comparisons: Sequence[Comparison]) -> str:
    """``"largest +3.10 points at 32×, 95% CI +1.20 to +5.00"``."""
    largest = max(comparisons, key=lambda c: abs(c.delta) if math.isfinite(c.delta) else -1.0)
    return (
        f"largest {_points(largest.delta)} points at {_target(largest)}, {CONFIDENCE:.0%} CI "
        f"{_points(largest.ci_low)} to {_points(largest.ci_high)}"
    )


def _matched_lines(
    strategy: str,
    matched: Sequence[str],
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
) -> list[str]:
    """What the matched controls show: allocation versus choice of weights within a layer."""
    if not matched:
        return []
    curves = {c.reference: c for c in comparisons if c.point == AUC}
    lines = [
        "**Allocation or choice of weights?** The matched controls keep exactly "
        f"`{strategy}`'s number of weights in every layer and choose which ones at random "
        "(`matched_random`) or by magnitude (`matched_mag`), the layer-shuffle ablation of "
        f"Frankle et al. (ICLR 2021). `{strategy}` is:",
        "",
    ]
    random, magnitude = curves.get("matched_random"), curves.get("matched_mag")
    if random is not None:
        meaning = {
            BETTER: "which weights it keeps within a layer matters, beyond how many",
            NO_DIFFERENCE: "no detectable gain from its choice within a layer: as far as these "
            "seeds can tell, its result comes from its per-layer allocation",
            WORSE: "random weights in its layer sizes do better than its own choice",
        }[random.verdict]
        lines.append(
            f"- {VERDICT_WORDS[random.verdict]} `matched_random` across the curve: "
            f"{_interval(random)}{_uncorrected(random)}; {meaning}."
        )
    if magnitude is not None:
        meaning = {
            BETTER: "it chooses weights within a layer better than magnitude does",
            NO_DIFFERENCE: "within a layer it chooses no better and no worse than magnitude",
            WORSE: "magnitude would choose better within its layer sizes",
        }[magnitude.verdict]
        if magnitude.ci_low == magnitude.ci_high == 0:
            meaning = "identical results: within every layer it keeps the largest weights"
        lines.append(
            f"- {VERDICT_WORDS[magnitude.verdict]} `matched_mag` across the curve: "
            f"{_interval(magnitude)}{_uncorrected(magnitude)}; {meaning}."
        )
    for control, comparison in allocation.items():
        baseline = comparison.reference
        uniform = " (in effect a uniform one)" if baseline == "random" else ""
        lines.append(
            f"- Its allocation, with the choice within a layer held fixed: `{control}` is "
            f"{VERDICT_WORDS[comparison.verdict]} `{baseline}` across the curve: "
            f"{_interval(comparison)}{_uncorrected(comparison)}; so with {WITHIN[control]} "
            f"chosen within each layer, `{strategy}`'s per-layer allocation is "
            + {
                BETTER: f"better than `{baseline}`'s{uniform}.",
                NO_DIFFERENCE: f"not detectably different from `{baseline}`'s{uniform}.",
                WORSE: f"worse than `{baseline}`'s{uniform}.",
            }[comparison.verdict]
        )
    return [*lines, ""]


def _control_lines(
    strategy: str, control: Mapping[str, Any], comparisons: Sequence[Comparison]
) -> list[str]:
    changes = [c for c in comparisons if c.reference == CONTROL and c.point != AUC]
    if not changes:
        return []
    sentence = (
        f"**Against the unpruned control** (top-1 {percent(control.get('top1'))}): change in "
        f"top-1 of `{strategy}`: "
        + "; ".join(f"{_target(c)} {_interval(c, short=True)}" for c in changes)
        + "."
    )
    for verdict, what in ((BETTER, "gain"), (NO_DIFFERENCE, "no detectable change"),
                          (WORSE, "drop")):  # fmt: skip
        found = [c for c in changes if c.verdict == verdict]
        if found:
            label = what if verdict == NO_DIFFERENCE else f"a detectable {what}"
            where = "at every target" if len(found) == len(changes) else f"at {_targets(found)}"
            sentence += f" {label[0].upper()}{label[1:]} {where}"
            sentence += (_uncorrected_points(found) if verdict == NO_DIFFERENCE else "") + "."
    return [sentence]


def _disagreement_lines(cells: pd.DataFrame) -> list[str]:
    found = metric_disagreement(cells)
    real = [f"- {item}" for item in found if item.detectable]
    noise = [f"- {item}" for item in found if not item.detectable]
    if not found:
        return ["- No disagreement in this run."]
    return (real or ["- No detectable disagreement in this run."]) + (
        ["", "Flips inside the noise (not disagreements):", "", *noise] if noise else []
    )


def _evidence(
    rows: pd.DataFrame,
    cells: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    strategy: str,
    baselines: Sequence[str],
    matched: Sequence[str],
    figures: Mapping[str, str],
) -> RunEvidence:
    evaluated = rows[rows["strategy"] == strategy]
    environment = setup.get("environment", {})
    seeds = int(rows["n_seeds"].min()) if len(rows) else 0
    return RunEvidence(
        strategy=strategy,
        baselines=list(baselines),
        matched=list(matched),
        targets=sorted(float(value) for value in evaluated["target_compression"]),
        seeds_per_point=seeds,
        control_top1=control.get("top1") if finite(control.get("top1")) else None,
        evaluated_top1=dict(
            zip(evaluated["target_compression"].astype(float), evaluated["top1_mean"], strict=True)
        ),
        has_top5=_all_finite(rows["top5_mean"]) and finite(control.get("top5")),
        has_speedup=_all_finite(rows["compression"]) and _all_finite(rows["speedup"]),
        interval=f"tables: mean ± sample std over seeds; comparisons: {INTERVAL} (n = {seeds}); "
        "figures: every seed, the mean and a 95% CI band",
        dataset=str(setup.get("dataset", "n/a")),
        model=str(setup.get("model", "n/a")),
        model_citation=MODEL_CITATIONS.get(setup.get("model")),
        finetune=setup.get("finetune") or {},
        augmentation=setup.get("augmentation"),
        environment={key: str(value) for key, value in environment.items()},
        pretrained=str(setup.get("pretrained", {}).get("source", "n/a")),
        figures=len(figures),
    )


def _setup_lines(setup: Mapping[str, Any], control: Mapping[str, Any]) -> list[str]:
    pretrained = setup.get("pretrained", {})
    environment = setup.get("environment", {})
    seeds = list(setup.get("seeds", []))
    compressions = ", ".join(f"{value:g}" for value in setup.get("compressions", []))
    return [
        f"- Dataset: `{setup.get('dataset', 'n/a')}`; model: `{setup.get('model', 'n/a')}`",
        f"- Pretrained model: {pretrained.get('source', 'n/a')} (top-1 "
        f"{percent(pretrained.get('top1'))}); the control is this model evaluated on the test "
        f"split: top-1 {percent(control.get('top1'))}, top-5 {percent(control.get('top5'))}",
        f"- Finetuning (same for every method): {recipe_text(setup.get('finetune') or {})}; "
        f"augmentation: {setup.get('augmentation', 'n/a')}",
        f"- Seeds: {', '.join(str(seed) for seed in seeds) or 'n/a'} (n = {len(seeds)}); "
        f"target compressions: {compressions or 'n/a'}",
        "- Environment: "
        + (", ".join(f"{key} {value}" for key, value in environment.items()) or "n/a"),
        "- Definitions: compression = all parameters / nonzero parameters; theoretical speedup "
        "= dense multiply-adds / multiply-adds of nonzero weights",
    ]


def _wide_table(rows: pd.DataFrame, methods: Sequence[str], strategy: str) -> list[str]:
    targets = sorted(rows["target_compression"].unique())
    lines = [
        "| method | " + " | ".join(f"{value:g}×" for value in targets) + " |",
        "| --- |" + " ---: |" * len(targets),
    ]
    for method in methods:
        points = rows[rows["strategy"] == method].set_index("target_compression")
        cells = [
            _mean_std(points.at[value, "top1_mean"], points.at[value, "top1_std"])
            if value in points.index
            else "—"
            for value in targets
        ]
        lines.append(f"| {_method_label(method, strategy)} | " + " | ".join(cells) + " |")
    return lines


def _long_table(
    rows: pd.DataFrame, methods: Sequence[str], strategy: str, control: Mapping[str, Any]
) -> list[str]:
    lines = [
        "| method | target | compression | speedup | top-1 | top-5 | seeds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| control (unpruned) | 1 | 1.00 | 1.00 | {percent(control.get('top1'), '')} | "
        f"{percent(control.get('top5'), '')} | — |",
    ]
    for method in methods:
        for _, point in rows[rows["strategy"] == method].iterrows():
            lines.append(
                f"| {_method_label(method, strategy)} | {point['target_compression']:g} | "
                f"{point['compression']:.2f} | {point['speedup']:.2f} | "
                f"{_mean_std(point['top1_mean'], point['top1_std'])} | "
                f"{_mean_std(point['top5_mean'], point['top5_std'])} | {point['n_seeds']} |"
            )
    return lines


def _method_label(method: str, strategy: str) -> str:
    if method == strategy:
        return f"**{method}** (evaluated)"
    if method.startswith("matched_"):
        return f"{method} ({strategy}'s layer sizes)"
    return method


def _mean_std(mean: float, std: float) -> str:
    """``"85.12 ± 0.31"`` in percent; ``"± n/a"`` where one seed gives no spread."""
    spread = f"{100 * std:.2f}" if math.isfinite(std) else "n/a"
    return f"{100 * mean:.2f} ± {spread}"


def _all_finite(values: pd.Series) -> bool:
    return bool(len(values)) and bool(values.notna().all())


def _seed_table(cells: pd.DataFrame, methods: Sequence[str], strategy: str) -> list[str]:
    seeds = sorted(cells["seed"].unique())
    lines = [
        "| method | target | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "| --- | ---: |" + " ---: |" * len(seeds),
    ]
    for method in methods:
        mine = cells[cells["strategy"] == method]
        for target, rows in mine.groupby("target_compression", sort=True):
            by_seed = dict(zip(rows["seed"], rows["top1"], strict=True))
            values = [percent(by_seed.get(seed), "") if seed in by_seed else "—" for seed in seeds]
            lines.append(
                f"| {_method_label(method, strategy)} | {target:g} | " + " | ".join(values) + " |"
            )
    return lines


def _comparison_table(comparisons: Sequence[Comparison]) -> list[str]:
    lines = [
        "| reference | point | n | Δ top-1 | 95% CI | p | Holm p | verdict |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for c in comparisons:
        point = "across the curve" if c.point == AUC else f"{c.target_compression:g}×"
        lines.append(
            f"| {c.reference} | {point} | {c.n_pairs} | {_points(c.delta)} | "
            f"{_points(c.ci_low)} to {_points(c.ci_high)} | {_p(c.p_value)} | {_p(c.p_holm)} | "
            f"{c.verdict} |"
        )
    return lines


def _interval(comparison: Comparison, short: bool = False) -> str:
    """``"+1.23 points (95% CI +0.40 to +2.06)"``; ``short``: ``"+1.23 [+0.40, +2.06]"``."""
    delta = _points(comparison.delta)
    low, high = _points(comparison.ci_low), _points(comparison.ci_high)
    if short:
        return f"{delta} [{low}, {high}]"
    return f"{delta} points ({CONFIDENCE:.0%} CI {low} to {high})"


def _points(fraction: float) -> str:
    return f"{100 * fraction:+.2f}" if math.isfinite(fraction) else "n/a"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2g}" if value >= 0.001 else "<0.001"


def _target(comparison: Comparison) -> str:
    return f"{comparison.target_compression:g}×"


def _targets(comparisons: Sequence[Comparison]) -> str:
    return ", ".join(_target(c) for c in comparisons)
