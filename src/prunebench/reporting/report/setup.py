"""The report's Setup section: what was run, from what, with which recipe and on what machine.

``setup`` describes the run; keys read here (missing optional ones print as "n/a"):

- ``benchmark``: registry key; ``dataset``, ``model``: registry names;
- ``pretrained``: ``{"source": str, "top1": float}`` (accuracy of the starting model as published
  or as trained; optional);
- ``finetune``: the finetuning recipe, ``{field: value}``; ``augmentation``: its name;
- ``seeds``, ``compressions``: the grid of params.yaml;
- ``equal_budget``: whether one-shot methods were finetuned for as many rounds of the recipe as
  the run's iterative method (optional; not stated when absent);
- ``environment``: ``{"prunebench": version, "torch": version, "device": str, ...}``.
"""

from collections.abc import Mapping
from typing import Any

from prunebench.reporting.budget import EQUALISE
from prunebench.reporting.tables import percent, recipe_text


def setup_lines(setup: Mapping[str, Any], control: Mapping[str, Any]) -> list[str]:
    """The Setup section's list: data and model, starting point, recipe, grid, budget, machine."""
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
