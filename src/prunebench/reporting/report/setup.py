"""The run's setup as the report and its figures describe it, and the report's Setup section.

:class:`ReportSetup` is what was run, from what, with which recipe and on what machine; the
aggregate step builds it from the resolved config, the control's record, the pretrained model's
source and the dataset's description.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prunebench.foundations.typed import Record
from prunebench.reporting.budget import EQUALISE
from prunebench.reporting.tables import percent, recipe_text


@dataclass(frozen=True)
class Pretrained(Record):
    """The model every method starts from."""

    described_as = "pretrained model"

    source: str
    """Where it comes from, in the report's words (published weights or trained here)."""
    top1: float
    """Its top-1 accuracy (a fraction) on the test split: the control's."""


@dataclass(frozen=True)
class ReportSetup(Record):
    """What a run was: the benchmark, its starting model, recipe, grid and machine.

    Example::

        >>> setup = ReportSetup(
        ...     benchmark="fashion_mnist_sample_lenet5", dataset="fashion_mnist_sample",
        ...     model="lenet5", pretrained=Pretrained("trained in the pipeline", 0.9012),
        ...     finetune={"optimizer": "adam", "batch_size": 64}, augmentation="none",
        ...     seeds=[0, 1], compressions=[2.0, 4.0], equal_budget=False,
        ...     environment={"prunebench": "0.1.0", "device": "cpu"},
        ... )
        >>> setup.to_json()["pretrained"]
        {'source': 'trained in the pipeline', 'top1': 0.9012}
    """

    described_as = "report setup"

    benchmark: str
    """The benchmark's registry key."""
    dataset: str
    """The dataset's registry name."""
    model: str
    """The architecture's registry name."""
    pretrained: Pretrained
    finetune: dict[str, Any]
    """The finetuning recipe every method was finetuned with, ``{field: value}``."""
    augmentation: str
    """The name of the training augmentation (``prunebench.data.augment``)."""
    seeds: list[int]
    """The grid's seeds (params.yaml)."""
    compressions: list[float]
    """The grid's target compressions (params.yaml)."""
    equal_budget: bool
    """Whether one-shot methods were finetuned for as many rounds of the recipe as the run's
    iterative method."""
    environment: dict[str, str]
    """The software and machine that evaluated the control: ``{"prunebench": version, "torch":
    version, "device": str, ...}``."""


def setup_lines(
    setup: ReportSetup, control: Mapping[str, Any], controls: Mapping[int, float] | None = None
) -> list[str]:
    """The Setup section's list: data and model, starting point, recipe, grid, budget, machine.

    ``controls``: each initial model's control top-1, in a run of several initial models.
    """
    seeds = ", ".join(str(seed) for seed in setup.seeds)
    runs = ""
    if controls:
        runs = (
            f"; from each of {len(controls)} initial models, "
            + ", ".join(f"{k} (control top-1 {percent(t)})" for k, t in sorted(controls.items()))
            + ": initial model k is the benchmark's model pretrained from seed k "
            f"(n = {len(setup.seeds) * len(controls)} runs per point)"
        )
    compressions = ", ".join(f"{value:g}" for value in setup.compressions)
    environment = ", ".join(f"{key} {value}" for key, value in setup.environment.items())
    return [
        f"- Dataset: `{setup.dataset}`; model: `{setup.model}`",
        f"- Pretrained model: {setup.pretrained.source} (top-1 "
        f"{percent(setup.pretrained.top1)}); the control is this model evaluated on the test "
        f"split: top-1 {percent(control.get('top1'))}, top-5 {percent(control.get('top5'))}",
        f"- Finetuning (same for every method): {recipe_text(setup.finetune)}; "
        f"augmentation: {setup.augmentation}",
        f"- Seeds: {seeds or 'n/a'} (n = {len(setup.seeds)}){runs}; "
        f"target compressions: {compressions or 'n/a'}",
        _equal_budget_line(setup.equal_budget),
        f"- Environment: {environment or 'n/a'}",
        "- Definitions: compression = all parameters / nonzero parameters; theoretical speedup "
        "= dense multiply-adds / multiply-adds of nonzero weights",
    ]


def _equal_budget_line(equal_budget: bool) -> str:
    """Whether one-shot methods were given the iterative method's number of finetuning rounds."""
    if equal_budget:
        return (
            "- Training budget: equalised (`equal_budget` true): one-shot methods are finetuned "
            "for as many rounds of the recipe as the run's iterative method"
        )
    return (
        "- Training budget: not equalised (`equal_budget` false): each method is finetuned as "
        f"its schedule requires (one round of the recipe for one-shot methods; `{EQUALISE}` "
        "gives them the iterative method's number of rounds)"
    )
