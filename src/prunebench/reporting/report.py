"""The Markdown report: setup, results, figures, metric disagreement and the paper's checklist.

The checklist follows Appendix B of Blalock et al. (2020), "What is the State of Neural Network
Pruning?" (items paraphrased). Each tick is computed from this run's results and setup, so a run
with one seed or three compressions says so in its own report instead of inheriting a claim.

``setup`` describes the run; keys read here (missing optional ones print as "n/a"):

- ``benchmark``: registry key; ``dataset``, ``model``: registry names;
- ``pretrained``: ``{"source": str, "top1": float}`` (accuracy of the starting model as published
  or as trained; optional);
- ``finetune``: the finetuning recipe, ``{field: value}``;
- ``seeds``, ``compressions``: the grid of params.yaml;
- ``environment``: ``{"prunebench": version, "torch": version, "device": str, ...}``.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from prunebench.reporting.disagreement import metric_disagreement
from prunebench.reporting.tables import methods_in_order, select_methods

STANDARD_DATASETS = ("mnist", "cifar10", "imagenet")
MIN_OPERATING_POINTS = 5
MIN_SEEDS = 2


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the paper's checklist, ticked or not for this run, with the reason."""

    section: str
    text: str
    ticked: bool
    why: str

    def __str__(self) -> str:
        return f"- [{'x' if self.ticked else ' '}] {self.text} — {self.why}"


def checklist(
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    strategy: str,
    baselines: Sequence[str],
    figures: Mapping[str, str],
) -> list[ChecklistItem]:
    """Appendix B's items that a benchmark run can satisfy, each judged from this run's data."""
    rows = select_methods(grouped, methods_in_order(strategy, baselines))
    others = [name for name in baselines if name != strategy]
    magnitude = [name for name in others if name.endswith("_mag")]
    random = [name for name in others if name == "random"]
    targets = sorted(rows.loc[rows["strategy"] == strategy, "target_compression"])
    missing_points = {
        name: sorted(set(targets) - set(rows.loc[rows["strategy"] == name, "target_compression"]))
        for name in others
    }
    missing_points = {name: gaps for name, gaps in missing_points.items() if gaps}
    fewest_seeds = int(rows["n_seeds"].min())
    environment = setup.get("environment", {})
    dataset, model = setup.get("dataset"), setup.get("model")
    finetune = setup.get("finetune") or {}
    pretrained = setup.get("pretrained", {}).get("source")
    control_top1 = _finite(control.get("top1"))
    has_top5 = _all_finite(rows["top5_mean"]) and _finite(control.get("top5"))

    method, experiments, results = "The method", "The experiments", "The reported results"
    return [
        ChecklistItem(
            method,
            "Compared with magnitude pruning and with random pruning",
            bool(magnitude and random),
            f"baselines beside `{strategy}`: {_names(others)}",
        ),
        ChecklistItem(
            method,
            "Algorithm, its parts (score, allocation, finetuning) and hyperparameters given in "
            "enough detail to reimplement",
            bool(finetune) and strategy in rows["strategy"].values,
            f"`{strategy}` is a registered strategy; finetuning recipe: {_recipe(finetune)}",
        ),
        ChecklistItem(
            method,
            "Claims restricted to the experiments presented",
            bool(dataset and model),
            f"this report covers one benchmark only: {model} on {dataset}",
        ),
        ChecklistItem(
            method,
            "Source code that reproduces every result",
            "prunebench" in environment,
            f"prunebench {environment.get('prunebench', 'n/a')}; `dvc repro` regenerates every "
            "number from params.yaml",
        ),
        ChecklistItem(
            experiments,
            "A dataset in wide use for pruning results (MNIST, CIFAR-10, ImageNet)",
            dataset in STANDARD_DATASETS,
            f"dataset `{dataset}`"
            if dataset in STANDARD_DATASETS
            else f"dataset `{dataset}`: a development benchmark, not comparable with published "
            "numbers",
        ),
        ChecklistItem(
            experiments,
            "Every method starts from the same pretrained model and uses the same finetuning",
            bool(pretrained and finetune),
            f"one pretrained model ({pretrained or 'n/a'}) and one recipe for all methods",
        ),
        ChecklistItem(
            experiments,
            f"Several operating points (at least {MIN_OPERATING_POINTS} compression ratios)",
            len(targets) >= MIN_OPERATING_POINTS,
            f"{len(targets)} target compressions: {', '.join(f'{value:g}' for value in targets)}",
        ),
        ChecklistItem(
            experiments,
            "Baselines evaluated at the same operating points as the method",
            bool(others) and not missing_points,
            "all baselines cover every target"
            if others and not missing_points
            else f"missing points: {missing_points or 'no baselines'}",
        ),
        ChecklistItem(
            results,
            "Both compression ratio and theoretical speedup reported",
            _all_finite(rows["compression"]) and _all_finite(rows["speedup"]),
            "achieved compression (all parameters / nonzero) and speedup (dense / nonzero "
            "multiply-adds) for every point",
        ),
        ChecklistItem(
            results,
            f"Several runs per point (at least {MIN_SEEDS} seeds), reported as mean and sample "
            "standard deviation",
            fewest_seeds >= MIN_SEEDS,
            f"{fewest_seeds} seed(s) at the least-replicated point",
        ),
        ChecklistItem(
            results,
            "The unpruned control's accuracy reported beside the pruned results",
            control_top1,
            f"control top-1 {_percent(control.get('top1'))}",
        ),
        ChecklistItem(
            results,
            "Top-1 and top-5 accuracy reported",
            _all_finite(rows["top1_mean"]) and has_top5,
            "both for every point and the control" if has_top5 else "top-5 missing",
        ),
        ChecklistItem(
            results,
            "Tradeoff curves plotted (accuracy vs. compression and vs. speedup)",
            len(figures) >= 2,
            f"{len(figures)} figure(s) below",
        ),
    ]


def render_report(
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    setup: Mapping[str, Any],
    strategy: str,
    baselines: Sequence[str],
    figures: Mapping[str, str],
) -> str:
    """The run's Markdown report; ``figures`` maps a caption to a path relative to the report."""
    methods = methods_in_order(strategy, baselines)
    rows = select_methods(grouped, methods)
    disagreements = metric_disagreement(rows)
    items = checklist(grouped, control, setup, strategy, baselines, figures)
    lines = [
        f"# Pruning benchmark: `{strategy}` on `{setup.get('benchmark', 'n/a')}`",
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
        "## Figures",
        "",
        *([f"![{caption}]({path})\n" for caption, path in figures.items()] or ["None.\n"]),
        "## Metric disagreement",
        "",
        "Does the ranking by top-1 at fixed compression agree with the ranking at matched "
        "theoretical speedup?",
        "",
        *([f"- {sentence}" for sentence in disagreements] or ["- No disagreement in this run."]),
        "",
        "## Checklist (Blalock et al. 2020, Appendix B)",
    ]
    for section in dict.fromkeys(item.section for item in items):
        lines += ["", f"{section}:", ""]
        lines += [str(item) for item in items if item.section == section]
    return "\n".join(lines) + "\n"


def _setup_lines(setup: Mapping[str, Any], control: Mapping[str, Any]) -> list[str]:
    pretrained = setup.get("pretrained", {})
    environment = setup.get("environment", {})
    seeds = list(setup.get("seeds", []))
    compressions = ", ".join(f"{value:g}" for value in setup.get("compressions", []))
    return [
        f"- Dataset: `{setup.get('dataset', 'n/a')}`; model: `{setup.get('model', 'n/a')}`",
        f"- Pretrained model: {pretrained.get('source', 'n/a')} (top-1 "
        f"{_percent(pretrained.get('top1'))}); the control is this model evaluated on the test "
        f"split: top-1 {_percent(control.get('top1'))}, top-5 {_percent(control.get('top5'))}",
        f"- Finetuning (same for every method): {_recipe(setup.get('finetune') or {})}",
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
        f"| control (unpruned) | 1 | 1.00 | 1.00 | {_percent(control.get('top1'), '')} | "
        f"{_percent(control.get('top5'), '')} | — |",
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
    return f"**{method}** (evaluated)" if method == strategy else method


def _mean_std(mean: float, std: float) -> str:
    """``"85.12 ± 0.31"`` in percent; ``"± n/a"`` where one seed gives no spread."""
    spread = f"{100 * std:.2f}" if math.isfinite(std) else "n/a"
    return f"{100 * mean:.2f} ± {spread}"


def _percent(value: Any, suffix: str = "%") -> str:
    return f"{100 * float(value):.2f}{suffix}" if _finite(value) else "n/a"


def _recipe(recipe: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in recipe.items()) or "n/a"


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _all_finite(values: pd.Series) -> bool:
    return bool(len(values)) and bool(values.notna().all())
