"""Appendix B of Blalock et al. (2020), "What is the State of Neural Network Pruning?", per run.

The paper ends with a checklist that a pruning paper should pass. A benchmark run can answer most
of it from its own data, and it should: a run with two seeds or a curve that never leaves the
flat region must say so in its own report rather than inherit a generic claim. So every item of
the appendix is listed, in the paper's order and grouping (four groups; the random, magnitude and
"other techniques" comparisons with their sub-items), and each is either

- ``met``: ticked from this run's evidence, which is quoted;
- ``not met``: left open, with the number or the missing piece that keeps it open;
- ``author``: a question only the method's author can answer (a link to the method's code, the
  scope of its claims, ...), shown with what prunebench already supplies towards it.

The wording is our paraphrase of the paper's items, never its sentences.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.reporting.methods import Methods
from prunebench.reporting.tables import finite, percent, recipe_text

# The paper's random and magnitude baselines, by the parts a strategy declares: unstructured,
# one-shot, with a global or a uniform layerwise allocation. Any other baseline (a gradient
# score, channels, an iterative schedule, ...) counts as "another technique".
PLAIN_SCORES = ("random", "magnitude")
PLAIN_ALLOCATIONS = (Allocation.GLOBAL, Allocation.LAYERWISE)
# The registry's names of the matched controls choosing at random and by magnitude, named in the
# checklist's advice where a run lacks one (which is which is read from its declared score).
MATCHED_RANDOM = "matched_random"
MATCHED_MAGNITUDE = "matched_mag"

STATUSES = ("met", "not met", "author")
MARKS = {"met": "[x]", "not met": "[ ]", "author": "[?]"}
LEGEND = "Legend: [x] met, from this run's evidence · [ ] not met (why) · [?] for the author"

METHOD, EXPERIMENT, RESULT, COMPARED = (
    "The method",
    "Every experiment",
    "Every result",
    "Compared against",
)
# A drop of at least this much top-1 (a fraction) at the largest target counts as "substantial".
EXTREME_DROP = 0.05
# The paper ran three seeds per point and recommends five or more operating points.
MIN_SEEDS = 3
MIN_OPERATING_POINTS = 5


@dataclass(frozen=True)
class ChecklistItem:
    """One item of Appendix B and its verdict for this run, with the evidence behind it.

    ``level`` 1 marks the paper's sub-items (the two kinds of random and magnitude baseline and
    how comparisons were produced), so that a parent and its sub-items read as one block.
    """

    group: str
    text: str
    status: str
    evidence: str
    level: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"checklist status {self.status!r}: expected one of {STATUSES}")
        if self.level not in (0, 1):
            raise ValueError(f"checklist level {self.level}: expected 0 or 1")

    def __str__(self) -> str:
        indent = "  " * self.level
        label = f"{self.text} (for the author)" if self.status == "author" else self.text
        return f"{indent}- {MARKS[self.status]} {label} — {self.evidence}"


@dataclass(frozen=True)
class InitialModelEvidence:
    """A run from several initial models: which, and on how many the verdicts hold.

    ``references`` are the baselines compared across the curve; ``holding`` those whose verdict
    (over every initial model, paired on (initial model, seed)) is reached again on each initial
    model's runs alone.
    """

    initial_models: Sequence[int]
    references: Sequence[str]
    holding: Sequence[str]


@dataclass(frozen=True)
class RunEvidence:
    """What one run shows, in the terms the checklist needs; built by the report from the run.

    ``methods`` are the run's methods with their declared properties, which decide what kind of
    baseline each is. Accuracies are fractions in [0, 1]; ``evaluated_top1`` maps each target
    compression of the evaluated method to its mean top-1 over seeds; ``seeds_per_point`` is the
    fewest seeds at any plotted point, so one under-replicated point is enough to leave "multiple
    runs" open.
    """

    methods: Methods
    targets: Sequence[float]
    seeds_per_point: int
    control_top1: float | None
    evaluated_top1: Mapping[float, float]
    has_top5: bool
    has_speedup: bool
    interval: str
    dataset: str
    model: str
    model_citation: str | None
    finetune: Mapping[str, Any]
    augmentation: str | None
    environment: Mapping[str, str]
    pretrained: str
    figures: int
    initial_models: InitialModelEvidence | None = None
    """Several initial models (params ``initial_models``); None: the run starts from one."""

    @property
    def strategy(self) -> str:
        """The name of the method under evaluation."""
        return self.methods.strategy


def checklist(evidence: RunEvidence) -> list[ChecklistItem]:
    """Every item of Appendix B, in the paper's order, each judged from ``evidence``.

    21 items: the method (4), every experiment (4), every result (5), and the comparisons
    (3 items with 2, 2 and 1 sub-items). A parent comparison is met only when all its sub-items
    are, since the paper asks for both kinds of random and of magnitude baseline.
    """
    return [
        *_method_items(evidence),
        *_experiment_items(evidence),
        *_result_items(evidence),
        *_comparison_items(evidence),
    ]


def render_checklist(items: Sequence[ChecklistItem]) -> list[str]:
    """Markdown lines: a legend line, then per group a bold heading and its items.

    Returned as lines so that the report can place them under its own section heading.
    """
    lines = [LEGEND]
    for group in dict.fromkeys(item.group for item in items):
        lines += ["", f"**{group}**", ""]
        lines += [str(item) for item in items if item.group == group]
    return lines


def _method_items(run: RunEvidence) -> list[ChecklistItem]:
    magnitude = _baselines_of(run, score="magnitude")
    random = _baselines_of(run, score="random")
    compared = [
        f"magnitude pruning ({_names(magnitude)})" if magnitude else "no magnitude baseline",
        f"random pruning ({_names(random)})" if random else "no random baseline",
    ]
    return [
        ChecklistItem(
            METHOD,
            "Set in context: against magnitude pruning, recent methods, and methods older "
            "than 2010",
            "author",
            "the author places the method in the literature; this run supplies part of it: "
            f"`{run.strategy}` is compared here with {' and '.join(compared)}; recent and "
            "pre-2010 methods must be discussed by the author",
        ),
        ChecklistItem(
            METHOD,
            "Algorithm, its parts (scoring, masking, finetuning) and its hyperparameters described "
            "well enough to reimplement it and reproduce the numbers",
            "author",
            "the author describes the method; prunebench records the strategy "
            f"`{run.strategy}` and its hyperparameters in params.yaml and in every cell's "
            f"metrics file, and the finetuning recipe: {recipe_text(run.finetune, 'not recorded')}",
        ),
        ChecklistItem(
            METHOD,
            "Claims kept within what the experiments show (dataset, architecture, task)",
            "author",
            "the author scopes the claims; this report's evidence covers a single benchmark: "
            f"`{run.model}` on `{run.dataset}`, starting from {run.pretrained}",
        ),
        ChecklistItem(
            METHOD,
            "The method's source code can be downloaded from a link",
            "author",
            "the author links the method's code; prunebench "
            f"{run.environment.get('prunebench', '(version not recorded)')} holds the code of "
            "this run, and `dvc repro` regenerates every number from params.yaml",
        ),
    ]


def _experiment_items(run: RunEvidence) -> list[ChecklistItem]:
    if run.model_citation:
        architecture = ChecklistItem(
            EXPERIMENT,
            "Architecture and its hyperparameters described so that a reader can rebuild it and "
            "train it to the reported accuracy",
            "met",
            f"`{run.model}`: {run.model_citation}; built by prunebench's model registry, "
            f"starting weights: {run.pretrained}",
        )
        citation = ChecklistItem(
            EXPERIMENT,
            "For an existing architecture: its source cited, and any change in layers, "
            "hyperparameters or accuracy stated",
            "met",
            f"{run.model_citation}; starting weights: {run.pretrained} (control top-1 "
            f"{percent(run.control_top1)})",
        )
    else:
        architecture = ChecklistItem(
            EXPERIMENT,
            "Architecture and its hyperparameters described so that a reader can rebuild it and "
            "train it to the reported accuracy",
            "not met",
            f"no citation or description is recorded for `{run.model}`: add one to its "
            "benchmark entry",
        )
        citation = ChecklistItem(
            EXPERIMENT,
            "For an existing architecture: its source cited, and any change in layers, "
            "hyperparameters or accuracy stated",
            "author",
            "the author cites where the architecture comes from and states any departure; "
            f"prunebench records the model `{run.model}` and its starting weights: "
            f"{run.pretrained}",
        )
    return [
        architecture,
        citation,
        _data_settings_item(run),
        _environment_item(run),
    ]


def _data_settings_item(run: RunEvidence) -> ChecklistItem:
    text = "Data settings (batch size, augmentation, ...) given in enough detail to reproduce them"
    missing = []
    if "batch_size" not in run.finetune:
        missing.append("the batch size")
    if run.augmentation is None:
        missing.append("the augmentation")
    if missing:
        return ChecklistItem(
            EXPERIMENT, text, "not met", f"{' and '.join(missing)} not recorded for this run"
        )
    return ChecklistItem(
        EXPERIMENT,
        text,
        "met",
        f"batch size {run.finetune['batch_size']}, augmentation: {run.augmentation}; "
        f"full recipe: {recipe_text(run.finetune, 'not recorded')}",
    )


def _environment_item(run: RunEvidence) -> ChecklistItem:
    text = "Software library and hardware named"
    missing = [key for key in ("prunebench", "torch", "device") if not run.environment.get(key)]
    if missing:
        return ChecklistItem(EXPERIMENT, text, "not met", f"not recorded: {', '.join(missing)}")
    described = ", ".join(f"{key} {value}" for key, value in run.environment.items())
    return ChecklistItem(EXPERIMENT, text, "met", described)


def _result_items(run: RunEvidence) -> list[ChecklistItem]:
    return [
        _range_item(run),
        _raw_accuracy_item(run),
        _seeds_item(run),
        _error_bar_item(run),
        ChecklistItem(
            RESULT,
            "Operation counts (FLOPs) given whenever efficiency is argued",
            "met" if run.has_speedup else "not met",
            "multiply-adds and theoretical speedup (dense / nonzero multiply-adds) at every point"
            if run.has_speedup
            else "the theoretical speedup is missing at some point",
        ),
    ]


def _range_item(run: RunEvidence) -> ChecklistItem:
    """Met when the curve spans enough targets and reaches a ratio where top-1 has clearly fallen.

    A curve that stays within a few points of the control says nothing about where the method
    breaks, which is what tells methods apart; hence the 5-point drop at the largest target.
    """
    text = (
        "Results over a range of compression ratios, up to ratios extreme enough that the "
        "pruned accuracy falls clearly"
    )
    targets = sorted(set(run.targets))
    if not targets:
        return ChecklistItem(RESULT, text, "not met", "no target compression in this run")
    span = f"{len(targets)} targets ({', '.join(_ratio(value) for value in targets)})"
    largest = targets[-1]
    top1 = run.evaluated_top1.get(largest)
    problems = []
    if len(targets) < MIN_OPERATING_POINTS:
        problems.append(f"only {span}: use at least {MIN_OPERATING_POINTS}")
    if run.control_top1 is None or not finite(run.control_top1):
        problems.append("no control top-1 to measure the drop against")
        drop_text = ""
    elif top1 is None or not finite(top1):
        problems.append(f"no top-1 of `{run.strategy}` at {_ratio(largest)}")
        drop_text = ""
    else:
        drop = run.control_top1 - top1
        points = abs(100 * drop)
        if drop >= EXTREME_DROP:
            drop_text = f"at {_ratio(largest)}, top-1 is {points:.1f} points below the control"
        elif drop >= 0:
            drop_text = ""
            problems.append(
                f"at {_ratio(largest)}, top-1 is only {points:.1f} points below the control "
                f"(a clear fall is {100 * EXTREME_DROP:.0f} or more): add larger compressions"
            )
        else:
            drop_text = ""
            problems.append(
                f"at {_ratio(largest)}, top-1 is {points:.1f} points above the control: "
                "add larger compressions"
            )
    if problems:
        return ChecklistItem(RESULT, text, "not met", "; ".join(problems))
    return ChecklistItem(RESULT, text, "met", f"{span}; {drop_text}")


def _raw_accuracy_item(run: RunEvidence) -> ChecklistItem:
    text = "Raw accuracy, not only a change in accuracy, given at every point"
    missing = [
        value for value in sorted(set(run.targets)) if not finite(run.evaluated_top1.get(value))
    ]
    if not run.targets or missing or not finite(run.control_top1):
        gaps = [f"top-1 at {_ratio(value)}" for value in missing]
        if not finite(run.control_top1):
            gaps.append("the control's top-1")
        return ChecklistItem(RESULT, text, "not met", f"missing: {', '.join(gaps) or 'points'}")
    metrics = "top-1 and top-5" if run.has_top5 else "top-1 (top-5 missing)"
    return ChecklistItem(
        RESULT,
        text,
        "met",
        f"{metrics} at each of {len(set(run.targets))} targets, beside the unpruned control "
        f"(top-1 {percent(run.control_top1)})",
    )


def _seeds_item(run: RunEvidence) -> ChecklistItem:
    text = "Several runs per point, each from its own initialisation and random seed"
    seeds = run.seeds_per_point
    several = run.initial_models
    if seeds >= MIN_SEEDS and several is not None and len(several.initial_models) >= 2:
        listed = ", ".join(str(k) for k in several.initial_models)
        held = (
            f"the verdict against {len(several.holding)} of {len(several.references)} baselines "
            "holds on every initial model"
            + (
                f" (not: {', '.join(n for n in several.references if n not in several.holding)})"
                if len(several.holding) < len(several.references)
                else ""
            )
        )
        return ChecklistItem(
            RESULT,
            text,
            "met",
            f"{seeds} seeds from each of {len(several.initial_models)} initial models ({listed}), "
            "each pretrained from its own seed; every seed draws its own scoring minibatches, "
            f"random choices and data order; {held} (section Initial models)",
        )
    if seeds >= MIN_SEEDS:
        # Seeds are met, initialisations are not: every method starts from one pretrained
        # model on purpose (the same footing), so the tick would overstate what was varied.
        return ChecklistItem(
            RESULT,
            text,
            "not met",
            f"{seeds} seeds at the least-replicated point, each drawing its own scoring "
            "minibatches, random choices and data order; but every run starts from the one "
            f"pretrained model ({run.pretrained}), fixed so that all methods share it: "
            "separately pretrained models are not compared",
        )
    return ChecklistItem(
        RESULT,
        text,
        "not met",
        f"only {seeds} seed(s) at the least-replicated point; the paper ran {MIN_SEEDS}",
    )


def _error_bar_item(run: RunEvidence) -> ChecklistItem:
    text = (
        "Error bars defined explicitly, with a central value (such as the mean) and a spread "
        "(such as the standard deviation)"
    )
    if run.seeds_per_point < 2:
        return ChecklistItem(
            RESULT, text, "not met", f"{run.seeds_per_point} seed(s) give no spread"
        )
    if not run.interval.strip():
        return ChecklistItem(
            RESULT, text, "not met", "how the error bars are computed is not recorded"
        )
    return ChecklistItem(
        RESULT,
        text,
        "met",
        f"{run.interval}; {run.figures} tradeoff figure(s)",
    )


def _comparison_items(run: RunEvidence) -> list[ChecklistItem]:
    global_random = _baselines_of(run, score="random", allocation=Allocation.GLOBAL)
    plain_magnitude = _baselines_of(run, score="magnitude")
    plain = set(_baselines_of(run, score=None))
    others = [
        name
        for name in dict.fromkeys(run.methods.baselines)
        if name != run.strategy and name not in plain
    ]
    random_subs = [
        _present(
            "Random pruning with one global threshold over all layers",
            global_random,
            f"no global random baseline: add `random` to the baselines of `{run.strategy}`",
        ),
        _matched(run, "random", MATCHED_RANDOM, "at random"),
    ]
    magnitude_subs = [
        _present(
            "Magnitude pruning, either global or with an equal fraction in each layer",
            plain_magnitude,
            "no global or uniform-layerwise magnitude baseline: add `global_mag` or `layer_mag`",
        ),
        _matched(run, "magnitude", MATCHED_MAGNITUDE, "by magnitude"),
    ]
    how = ChecklistItem(
        COMPARED,
        "How those comparisons were obtained (numbers from papers, reimplementation, or the "
        "authors' code), and how their setting differs from the main one",
        "met" if others else "not met",
        "every baseline is reimplemented in prunebench and run by this same pipeline: same "
        f"pretrained model ({run.pretrained}), same finetuning recipe, seeds and targets as "
        f"`{run.strategy}`; no number is taken from a paper. Not measured here: how far each "
        "reimplementation departs from its original paper's own setting"
        if others
        else "no other technique is compared in this run",
        level=1,
    )
    return [
        _parent("A random-pruning baseline", random_subs),
        *random_subs,
        _parent("A magnitude-pruning baseline", magnitude_subs),
        *magnitude_subs,
        ChecklistItem(
            COMPARED,
            "Other relevant state-of-the-art methods",
            "author",
            "which recent methods are relevant is the author's to say; this run also compares "
            f"with {_names(others)} (reimplemented here, e.g. the paper's own gradient baselines)"
            if others
            else "which recent methods are relevant is the author's to say; this run has only "
            "random and magnitude baselines (add e.g. `global_grad`)",
        ),
        how,
    ]


def _present(text: str, names: Sequence[str], missing: str) -> ChecklistItem:
    if names:
        noun = "baseline" if len(names) == 1 else "baselines"
        return ChecklistItem(COMPARED, text, "met", f"{noun} {_names(names)}", level=1)
    return ChecklistItem(COMPARED, text, "not met", missing, level=1)


def _matched(run: RunEvidence, score: str, usual_name: str, chosen: str) -> ChecklistItem:
    """The sub-item met by a matched control that chooses within each layer by ``score``."""
    text = f"{score.capitalize()} pruning with the evaluated method's own per-layer proportions"
    found = run.methods.with_parts(run.methods.matched, score=score)
    if found:
        return ChecklistItem(
            COMPARED,
            text,
            "met",
            f"`{found[0]}` keeps exactly `{run.strategy}`'s number of weights in every layer, "
            f"chosen {chosen}",
            level=1,
        )
    return ChecklistItem(
        COMPARED, text, "not met", f"no `{usual_name}` control in this run", level=1
    )


def _parent(text: str, subs: Sequence[ChecklistItem]) -> ChecklistItem:
    """Met only if every sub-item is: the paper asks for each kind of baseline, not either."""
    open_subs = [sub.text[0].lower() + sub.text[1:] for sub in subs if sub.status != "met"]
    if open_subs:
        return ChecklistItem(COMPARED, text, "not met", f"missing: {'; '.join(open_subs)}")
    return ChecklistItem(COMPARED, text, "met", "both kinds, below")


def _baselines_of(run: RunEvidence, score: str | None, allocation: str | None = None) -> list[str]:
    """This run's plain random or magnitude baselines, the method itself excluded.

    Plain: unstructured and one-shot, as the paper's baselines are. ``score`` (random or
    magnitude) and ``allocation`` (global or layerwise) narrow them; None allows either. A method
    is not its own baseline: with ``strategy=layer_mag`` the listed ``layer_mag`` is the method,
    so it does not count as a magnitude comparison.
    """
    methods = run.methods
    return [
        name
        for name in methods.with_parts(
            methods.baselines, structure=Structure.UNSTRUCTURED, schedule=PruningSchedule.ONE_SHOT
        )
        if name != run.strategy
        and methods.part(name, "score") in ((score,) if score else PLAIN_SCORES)
        and methods.part(name, "allocation") in ((allocation,) if allocation else PLAIN_ALLOCATIONS)
    ]


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"


def _ratio(value: float) -> str:
    return f"{value:g}×"
