"""The Markdown report: the answer first, then setup, results, figures and the paper's checklist.

Sections, in order: **Answer** (is the method under evaluation better than each baseline, where on
the curve, by how much, how sure; what the matched controls say about its allocation and its
choice of weights; how far it falls from the unpruned control), **Setup**, **Results** (mean ±
std tables, every seed, every comparison), **Measured speed** (latency on the machine that timed
the cells, against the theoretical speedup), **Figures**, **Metric disagreement** and the
**Checklist** of Blalock et al. (2020), Appendix B. Every sentence is computed from this run's
cells, so a run with one seed or three compressions says so in its own report.

``setup`` describes the run; keys read here (missing optional ones print as "n/a"):

- ``benchmark``: registry key; ``dataset``, ``model``: registry names;
- ``pretrained``: ``{"source": str, "top1": float}`` (accuracy of the starting model as published
  or as trained; optional);
- ``finetune``: the finetuning recipe, ``{field: value}``; ``augmentation``: its name;
- ``seeds``, ``compressions``: the grid of params.yaml;
- ``equal_budget``: whether one-shot methods were finetuned for as many rounds of the recipe as
  the run's iterative method (optional; not stated when absent);
- ``environment``: ``{"prunebench": version, "torch": version, "device": str, ...}``.

What kind of method each one is (its score, allocation, structure, schedule) comes from
:class:`~prunebench.reporting.methods.Methods`, never from its name.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.reporting.budget import (
    BUDGET_TOLERANCE,
    EQUALISE,
    budget_note,
    budget_table,
    differs,
    steps_difference,
)
from prunebench.reporting.checklist import RunEvidence, checklist, render_checklist
from prunebench.reporting.disagreement import metric_disagreement
from prunebench.reporting.methods import ONE_SHOT, Methods
from prunebench.reporting.speed import (
    EXECUTION_WORDS,
    FIGURE_NAME,
    MeasuredSpeed,
    hardware_text,
    milliseconds_text,
    speedup_text,
)
from prunebench.reporting.statistics import (
    AUC,
    BETTER,
    CONFIDENCE,
    CONTROL,
    NO_DIFFERENCE,
    WORSE,
    Comparison,
)
from prunebench.reporting.tables import finite, percent, recipe_text, select_methods

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
# What a matched control keeps within each layer, by its declared score.
WITHIN = {"magnitude": "the largest weights", "random": "random weights"}
CHOSEN = {"magnitude": "by magnitude", "random": "at random"}
# Marks a comparison whose two methods' training budgets differ (see the Answer's note).
BUDGET_MARK = "†"


def render_report(
    cells: pd.DataFrame,
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    *,
    methods: Methods,
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
    figures: Mapping[str, str],
    speed: MeasuredSpeed | None = None,
) -> str:
    """The run's Markdown report.

    ``cells`` has one row per cell (every seed; its ``budget_*`` columns give the training
    budget), ``grouped`` the mean and std per point; ``methods`` the run's methods and their
    declared properties; ``comparisons`` are :func:`prunebench.reporting.statistics.compare` of
    the method under evaluation with the baselines, the matched controls and the control;
    ``allocation`` maps a matched control to its comparison, across the curve, with the baseline
    that shares its way of choosing weights within a layer (the effect of the method's allocation
    alone). ``figures`` maps a caption to a path relative to the report. ``speed`` holds the
    run's measured latencies (:func:`~prunebench.reporting.speed.measured_speed`); None where
    no cell was timed, which the report then says.
    """
    strategy = methods.strategy
    rows = select_methods(grouped, methods.all)
    seeds = sorted(cells["seed"].unique())
    budgets = _budget_differences(cells, strategy, comparisons)
    lines = [
        f"# Pruning benchmark: `{strategy}` on `{setup.get('benchmark', 'n/a')}`",
        "",
        "## Answer",
        "",
        *_answer(methods, comparisons, seeds, len(allocation), budgets),
        "",
        *_matched_lines(methods, comparisons, allocation, budgets),
        *_budget_answer(methods, budgets, setup),
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
        *_wide_table(rows, methods),
        "",
        "Every operating point (accuracy in %; compression and speedup achieved, as means):",
        "",
        *_long_table(rows, methods, control),
        "",
        "### Training budget",
        "",
        *_budget_lines(cells, methods, budgets, setup),
        "",
        "### Every seed",
        "",
        "Top-1 (%) of each cell (also in `results/cells.csv`); a seed fixes the scoring "
        "minibatches and the finetuning data order of every method alike, so a column is a set "
        "of paired runs:",
        "",
        *_seed_table(cells, methods),
        "",
        "### Every comparison",
        "",
        f"`{strategy}` minus the reference, top-1 in percentage points; {INTERVAL}; p: two-sided "
        "paired t; Holm: adjusted within its family (also in `results/summary.json`, "
        f"`verdicts`); budget: `{strategy}`'s mean optimizer steps per cell relative to the "
        f"reference's, flagged where they differ by more than {BUDGET_TOLERANCE:.0%}:",
        "",
        *_comparison_table(comparisons, budgets),
        "",
        "## Measured speed",
        "",
        *_speed_lines(speed, methods),
        "",
        "## Figures",
        "",
        "Points: each seed; line: mean over seeds; band: 95% confidence interval of the mean "
        "(Student t). The dashed horizontal line is the unpruned control. A band is one "
        "method's own spread, not a paired comparison: overlapping bands do not mean no "
        "difference (the Answer's paired intervals decide that)."
        + (_SPEED_FIGURE_NOTE if speed is not None else ""),
        "",
        *([f"![{caption}]({path})\n" for caption, path in figures.items()] or ["None.\n"]),
        "## Metric disagreement",
        "",
        "Does the ranking by top-1 at fixed compression agree with the ranking at matched "
        f"theoretical speedup? Gaps are per seed, with a {INTERVAL} (per pair of methods, not "
        "corrected for the number of pairs examined); a flip whose intervals include zero is "
        "noise, not a disagreement.",
        "",
        *_disagreement_lines(_select_cells(cells, methods.evaluated_and_baselines), methods),
        "",
        "## Checklist (Blalock et al. 2020, Appendix B)",
        "",
        *render_checklist(checklist(_evidence(rows, control, setup, methods, figures))),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


_SPEED_FIGURE_NOTE = (
    " In the measured against theoretical speedup figure, a point is a mean over seeds and its "
    "bar ± one sample std; the dashed diagonal is measured = theoretical."
)


def _speed_lines(speed: MeasuredSpeed | None, methods: Methods) -> list[str]:
    """The Measured speed section: the machine, the control's latency, the table, the lesson."""
    if speed is None:
        return [
            "No timings exist for this run (`results/latency` is absent): only the theoretical "
            "speedup is reported. `dvc repro` runs the `latency` stage, which times every cell "
            "and the dense control on the machine that runs it."
        ]
    settings, batches = speed.settings, speed.batch_sizes
    sizes = _listing([str(batch) for batch in batches])
    evaluation = "the evaluation batch" if speed.evaluation_batch_known else "the largest timed"
    control = "; ".join(
        f"batch {batch}: median {milliseconds_text(timing['median_ms'])} "
        f"(IQR {milliseconds_text(timing['iqr_ms'])})"
        for batch, timing in sorted(speed.control.items())
    )
    titles = [speed.batch_title(batch) for batch in batches]
    lines = [
        f"Timed on {hardware_text(speed.hardware)}. Each timing: {settings.get('warmup', 'n/a')} "
        f"warm-up runs, then the median and interquartile range (IQR) of "
        f"{settings.get('repeats', 'n/a')} timed runs, at batch sizes {sizes} "
        f"({speed.evaluation_batch}: {evaluation}). Timings belong to this machine: they are kept "
        "apart from the deterministic results (`results/latency.csv`, per cell "
        "`results/latency_cells.csv`) and never enter `summary.json`; re-time on one machine "
        "with `dvc repro --force latency`.",
        "",
        f"Dense control: {control}.",
        "",
        "Measured speedup: the dense model's median latency over the pruned model's, both timed "
        "in the same call, the pruned model run its fastest way (in parentheses, the most "
        "frequent over seeds: "
        + ", ".join(EXECUTION_WORDS.values())
        + "); mean ± sample std over seeds:",
        "",
        "| method | target | theoretical speedup | "
        + " | ".join(f"measured, {title}" for title in titles)
        + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(batches),
    ]
    table = speed.table
    for method in methods.all:
        mine = table[table["strategy"] == method]
        for target, rows in mine.groupby("target_compression", sort=True):
            by_batch = rows.set_index("batch_size")
            measured = [
                _measured_cell(by_batch.loc[batch]) if batch in by_batch.index else "—"
                for batch in batches
            ]
            lines.append(
                f"| {_method_label(method, methods)} | {target:g}× | "
                f"{speedup_text(rows['theoretical_speedup'].iloc[0])} | "
                + " | ".join(measured)
                + " |"
            )
    return [*lines, "", *_speed_takeaway(speed, methods)]


def _measured_cell(point: pd.Series) -> str:
    """``"1.40× ± 0.03 (sparse kernels)"``."""
    execution = EXECUTION_WORDS.get(point["best_execution"], point["best_execution"])
    mean_std = speedup_text(point["measured_speedup_mean"], point["measured_speedup_std"])
    return f"{mean_std} ({execution})"


def _speed_takeaway(speed: MeasuredSpeed, methods: Methods) -> list[str]:
    """What to take away: the evaluated method's farthest point, then the whole run's range."""
    table = speed.table
    machine = f"this GPU ({speed.hardware.get('gpu', 'n/a')})" if speed.on_gpu else "this CPU"
    strategy = methods.strategy
    mine = table[table["strategy"] == strategy]
    sentences = []
    if len(mine):
        target = mine["target_compression"].max()
        farthest = mine[mine["target_compression"] == target].sort_values("batch_size")
        measured = _listing(
            [
                f"{speedup_text(row['measured_speedup_mean'])} at "
                f"{speed.batch_title(row['batch_size'])}"
                for _, row in farthest.iterrows()
            ]
        )
        sentences.append(
            f"At {target:g}×, `{strategy}`'s "
            f"{speedup_text(farthest['theoretical_speedup'].iloc[0])} theoretical speedup "
            f"measures {measured} on {machine}."
        )
    evaluation = table[table["batch_size"] == speed.evaluation_batch]
    known = evaluation.dropna(subset=["measured_speedup_mean", "theoretical_speedup"])
    if len(known):
        fastest = known.loc[known["measured_speedup_mean"].idxmax()]
        overstated = int((known["theoretical_speedup"] > known["measured_speedup_mean"]).sum())
        if overstated == len(known):
            verdict = "the theoretical speedup overstates the measured one at every point"
        elif overstated == 0:
            verdict = "the measured speedup reaches the theoretical one at every point"
        else:
            verdict = (
                f"the theoretical speedup overstates the measured one at {overstated} of "
                f"{len(known)} points"
            )
        slower = int((known["measured_speedup_mean"] < 1).sum())
        runs = "runs" if slower == 1 else "run"
        slower_note = (
            f"; {slower} of those {len(known)} points {runs} slower than the dense model"
            if slower
            else ""
        )
        sentences.append(
            f"Over every method and target at {speed.batch_title(speed.evaluation_batch)}, the "
            f"measured speedup ranges from {speedup_text(known['measured_speedup_mean'].min())} "
            f"to {speedup_text(fastest['measured_speedup_mean'])} (`{fastest['strategy']}` at "
            f"{fastest['target_compression']:g}×, theoretical "
            f"{speedup_text(fastest['theoretical_speedup'])}): {verdict}{slower_note}."
        )
    return [f"**Takeaway.** {' '.join(sentences)}"] if sentences else []


def _listing(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _select_cells(cells: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """The rows of ``methods`` only."""
    return cells[cells["strategy"].isin(methods)]


def _budget_differences(
    cells: pd.DataFrame, strategy: str, comparisons: Sequence[Comparison]
) -> dict[tuple[str, str], float | None]:
    """``{(reference, point): relative difference in optimizer steps}`` of every comparison.

    A point compares the cells at its target, the curve every cell; the unpruned control
    trained no further and has no budget, so it is left out.
    """
    return {
        (c.reference, c.point): steps_difference(cells, strategy, c.reference, c.target_compression)
        for c in comparisons
        if c.reference != CONTROL
    }


def _answer(
    methods: Methods,
    comparisons: Sequence[Comparison],
    seeds: list,
    allocation_count: int,
    budgets: Mapping[tuple[str, str], float | None],
) -> list[str]:
    strategy = methods.strategy
    references = [
        name for name in methods.baselines if any(c.reference == name for c in comparisons)
    ]
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
        mark = BUDGET_MARK if _budget_differs(reference, budgets) else ""
        lines.append(f"- `{strategy}` is {_reference_line(reference, comparisons)}{mark}")
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


def _budget_differs(reference: str, budgets: Mapping[tuple[str, str], float | None]) -> bool:
    """True where any comparison with ``reference`` pairs unequal training budgets."""
    return any(differs(value) for (name, _), value in budgets.items() if name == reference)


def _budget_answer(
    methods: Methods,
    budgets: Mapping[tuple[str, str], float | None],
    setup: Mapping[str, Any],
) -> list[str]:
    """The note behind :data:`BUDGET_MARK`: who trained longer, by how much, and what to do."""
    strategy = methods.strategy
    across = {name: value for (name, point), value in budgets.items() if point == AUC}
    flagged = [name for name in dict.fromkeys(name for name, _ in budgets)
               if _budget_differs(name, budgets)]  # fmt: skip
    if not flagged:
        return []
    differences = ", ".join(
        f"`{name}` ({across[name]:+.0%})" if across.get(name) is not None else f"`{name}`"
        for name in flagged
    )
    scheduled = [
        name
        for name in [strategy, *flagged]
        if methods.part(name, "schedule") not in (None, ONE_SHOT)
    ]
    if not scheduled:
        # equal_budget gives one-shot methods more rounds; it cannot help where no method
        # has rounds, and the gap is early stopping's.
        remedy = (
            "Every one of these methods is one-shot: the gap comes from early stopping (the "
            "recipe's `patience`), not from a schedule."
        )
    elif setup.get("equal_budget"):
        remedy = (
            "This run already finetunes one-shot methods for as many rounds of the recipe as the "
            "iterative method (`equal_budget` true): what remains comes from the schedules "
            "themselves and from early stopping."
        )
    else:
        remedy = (
            "To give one-shot methods as many finetuning rounds of the recipe as the run's "
            f"iterative method, run `{EQUALISE}`."
        )
    return [
        f"{BUDGET_MARK} **Unequal training budgets.** `{strategy}`'s mean number of optimizer "
        f"steps per cell is more than {BUDGET_TOLERANCE:.0%} away from that of {differences} "
        "(relative to each, over all their cells); part of such a difference in accuracy may "
        "come from training longer rather than from pruning better (see *Training budget* "
        f"below). {remedy}",
        "",
    ]


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
    methods: Methods,
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
    budgets: Mapping[tuple[str, str], float | None],
) -> list[str]:
    """What the matched controls show: allocation versus choice of weights within a layer.

    Which control chooses at random and which by magnitude is read from its declared score.
    """
    strategy, matched = methods.strategy, methods.matched
    if not matched:
        return []
    curves = {c.reference: c for c in comparisons if c.point == AUC}
    described = [
        f"{CHOSEN.get(score, f'by {score}')} (`{name}`)"
        for name in matched
        if (score := methods.part(name, "score")) is not None
    ]
    if len(described) > 1:
        choices = ", ".join(described[:-1]) + " or " + described[-1]
    else:
        choices = "".join(described) or "in their own way"
    lines = [
        "**Allocation or choice of weights?** The matched controls keep exactly "
        f"`{strategy}`'s number of weights in every layer and choose which ones {choices}, the "
        f"layer-shuffle ablation of Frankle et al. (ICLR 2021). `{strategy}` is:",
        "",
    ]
    for name in matched:
        comparison = curves.get(name)
        if comparison is None:
            continue
        score = methods.part(name, "score")
        if score == "random":
            meaning = {
                BETTER: "which weights it keeps within a layer matters, beyond how many",
                NO_DIFFERENCE: "no detectable gain from its choice within a layer: as far as "
                "these seeds can tell, its result comes from its per-layer allocation",
                WORSE: "random weights in its layer sizes do better than its own choice",
            }[comparison.verdict]
        elif score == "magnitude":
            meaning = {
                BETTER: "it chooses weights within a layer better than magnitude does",
                NO_DIFFERENCE: "within a layer it chooses no better and no worse than magnitude",
                WORSE: "magnitude would choose better within its layer sizes",
            }[comparison.verdict]
            if comparison.ci_low == comparison.ci_high == 0:
                meaning = "identical results: within every layer it keeps the largest weights"
        else:
            meaning = {
                BETTER: f"it chooses weights within a layer better than {score} scores do",
                NO_DIFFERENCE: "within a layer it chooses no better and no worse than "
                f"{score} scores",
                WORSE: f"{score} scores would choose better within its layer sizes",
            }[comparison.verdict]
        mark = BUDGET_MARK if _budget_differs(name, budgets) else ""
        lines.append(
            f"- {VERDICT_WORDS[comparison.verdict]} `{name}` across the curve: "
            f"{_interval(comparison)}{_uncorrected(comparison)}; {meaning}.{mark}"
        )
    for control, comparison in allocation.items():
        baseline = comparison.reference
        # A random score under one global threshold prunes every layer by the same fraction,
        # in expectation: its allocation is in effect a uniform one.
        uniform = (
            " (in effect a uniform one)" if methods.part(baseline, "score") == "random" else ""
        )
        score = methods.part(control, "score")
        within = WITHIN.get(score, f"{score}'s top weights")
        lines.append(
            f"- Its allocation, with the choice within a layer held fixed: `{control}` is "
            f"{VERDICT_WORDS[comparison.verdict]} `{baseline}` across the curve: "
            f"{_interval(comparison)}{_uncorrected(comparison)}; so with {within} "
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


def _disagreement_lines(cells: pd.DataFrame, methods: Methods) -> list[str]:
    found = metric_disagreement(cells, methods)
    real = [f"- {item}" for item in found if item.detectable]
    noise = [f"- {item}" for item in found if not item.detectable]
    if not found:
        return ["- No disagreement in this run."]
    return (real or ["- No detectable disagreement in this run."]) + (
        ["", "Flips inside the noise (not disagreements):", "", *noise] if noise else []
    )


def _evidence(
    rows: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    methods: Methods,
    figures: Mapping[str, str],
) -> RunEvidence:
    evaluated = rows[rows["strategy"] == methods.strategy]
    environment = setup.get("environment", {})
    seeds = int(rows["n_seeds"].min()) if len(rows) else 0
    return RunEvidence(
        methods=methods,
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
        # The measured-speed figure is not a tradeoff curve of accuracy.
        figures=sum(1 for path in figures.values() if not str(path).endswith(FIGURE_NAME)),
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
        *_equal_budget_lines(setup),
        "- Environment: "
        + (", ".join(f"{key} {value}" for key, value in environment.items()) or "n/a"),
        "- Definitions: compression = all parameters / nonzero parameters; theoretical speedup "
        "= dense multiply-adds / multiply-adds of nonzero weights",
    ]


def _equal_budget_lines(setup: Mapping[str, Any]) -> list[str]:
    """Whether one-shot methods were given the iterative method's number of finetuning rounds."""
    if "equal_budget" not in setup:
        return []
    if setup["equal_budget"]:
        return [
            "- Training budget: equalised (`equal_budget` true): one-shot methods are finetuned "
            "for as many rounds of the recipe as the run's iterative method"
        ]
    return [
        "- Training budget: not equalised (`equal_budget` false): each method is finetuned as "
        f"its schedule requires (one round of the recipe for one-shot methods; `{EQUALISE}` "
        "gives them the iterative method's number of rounds)"
    ]


def _budget_lines(
    cells: pd.DataFrame,
    methods: Methods,
    budgets: Mapping[tuple[str, str], float | None],
    setup: Mapping[str, Any],
) -> list[str]:
    """The budget table: per method, what its cells spent on finetuning, on average."""
    table = budget_table(cells, methods.all, methods)
    lines = [
        "What each method's cells used for finetuning, on average per cell (early stopping "
        "included; every round summed for iterative methods):",
        "",
        "| method | schedule | rounds | epochs | optimizer steps | cells with a budget |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for _, row in table.iterrows():
        lines.append(
            f"| {_method_label(row['method'], methods)} | "
            f"{(row['schedule'] or 'n/a').replace('_', '-')} | {_count(row['rounds'])} | "
            f"{_count(row['epochs'])} | {_count(row['steps'])} | "
            f"{row['cells_with_budget']} of {row['cells']} |"
        )
    if not table["cells_with_budget"].any():
        lines += [
            "",
            "No cell records its training budget (its metrics file was written before budgets "
            "were recorded); run `dvc repro` to record them.",
        ]
    elif any(differs(value) for value in budgets.values()):
        lines += [
            "",
            f"Comparisons whose mean optimizer steps differ by more than {BUDGET_TOLERANCE:.0%} "
            f"are flagged in *Every comparison*, and in the Answer with {BUDGET_MARK}.",
        ]
    return lines


def _count(value: float) -> str:
    """A mean count: ``"240"`` when whole, ``"237.3"`` otherwise, ``"n/a"`` when unknown."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _wide_table(rows: pd.DataFrame, methods: Methods) -> list[str]:
    targets = sorted(rows["target_compression"].unique())
    lines = [
        "| method | " + " | ".join(f"{value:g}×" for value in targets) + " |",
        "| --- |" + " ---: |" * len(targets),
    ]
    for method in methods.all:
        points = rows[rows["strategy"] == method].set_index("target_compression")
        cells = [
            _mean_std(points.at[value, "top1_mean"], points.at[value, "top1_std"])
            if value in points.index
            else "—"
            for value in targets
        ]
        lines.append(f"| {_method_label(method, methods)} | " + " | ".join(cells) + " |")
    return lines


def _long_table(rows: pd.DataFrame, methods: Methods, control: Mapping[str, Any]) -> list[str]:
    lines = [
        "| method | target | compression | speedup | top-1 | top-5 | seeds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| control (unpruned) | 1 | 1.00 | 1.00 | {percent(control.get('top1'), '')} | "
        f"{percent(control.get('top5'), '')} | — |",
    ]
    for method in methods.all:
        for _, point in rows[rows["strategy"] == method].iterrows():
            lines.append(
                f"| {_method_label(method, methods)} | {point['target_compression']:g} | "
                f"{point['compression']:.2f} | {point['speedup']:.2f} | "
                f"{_mean_std(point['top1_mean'], point['top1_std'])} | "
                f"{_mean_std(point['top5_mean'], point['top5_std'])} | {point['n_seeds']} |"
            )
    return lines


def _method_label(method: str, methods: Methods) -> str:
    if method == methods.strategy:
        return f"**{method}** (evaluated)"
    if method in methods.matched:
        return f"{method} ({methods.strategy}'s layer sizes)"
    return method


def _mean_std(mean: float, std: float) -> str:
    """``"85.12 ± 0.31"`` in percent; ``"± n/a"`` where one seed gives no spread."""
    spread = f"{100 * std:.2f}" if math.isfinite(std) else "n/a"
    return f"{100 * mean:.2f} ± {spread}"


def _all_finite(values: pd.Series) -> bool:
    return bool(len(values)) and bool(values.notna().all())


def _seed_table(cells: pd.DataFrame, methods: Methods) -> list[str]:
    seeds = sorted(cells["seed"].unique())
    lines = [
        "| method | target | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "| --- | ---: |" + " ---: |" * len(seeds),
    ]
    for method in methods.all:
        mine = cells[cells["strategy"] == method]
        for target, rows in mine.groupby("target_compression", sort=True):
            by_seed = dict(zip(rows["seed"], rows["top1"], strict=True))
            values = [percent(by_seed.get(seed), "") if seed in by_seed else "—" for seed in seeds]
            lines.append(
                f"| {_method_label(method, methods)} | {target:g} | " + " | ".join(values) + " |"
            )
    return lines


def _comparison_table(
    comparisons: Sequence[Comparison], budgets: Mapping[tuple[str, str], float | None]
) -> list[str]:
    lines = [
        "| reference | point | n | Δ top-1 | 95% CI | p | Holm p | verdict | budget |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for c in comparisons:
        point = "across the curve" if c.point == AUC else f"{c.target_compression:g}×"
        # The control is the unpruned model itself: it was not finetuned, there is no budget.
        budget = "—" if c.reference == CONTROL else budget_note(budgets.get((c.reference, c.point)))
        lines.append(
            f"| {c.reference} | {point} | {c.n_pairs} | {_points(c.delta)} | "
            f"{_points(c.ci_low)} to {_points(c.ci_high)} | {_p(c.p_value)} | {_p(c.p_holm)} | "
            f"{c.verdict} | {budget} |"
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
