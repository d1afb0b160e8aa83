"""The report's hookup to the checklist (Appendix B of Blalock et al. 2020): this run's evidence.

The checklist itself (:mod:`prunebench.reporting.checklist`) knows nothing of tables: here the
run's rows, control, setup and figures become its :class:`RunEvidence`.
"""

from collections.abc import Mapping
from typing import Any

import pandas as pd

from prunebench.reporting.checklist import InitialModelEvidence, RunEvidence
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import INTERVAL
from prunebench.reporting.report.initial_models import InitialModelVerdicts
from prunebench.reporting.report.setup import ReportSetup
from prunebench.reporting.speed import FIGURE_NAME
from prunebench.reporting.tables import finite

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


def run_evidence(
    rows: pd.DataFrame,
    control: Mapping[str, Any],
    setup: ReportSetup,
    methods: Methods,
    figures: Mapping[str, str],
    initial_models: InitialModelVerdicts | None = None,
) -> RunEvidence:
    """What the checklist needs to know of the run (``rows``: the grouped table of its methods;
    ``initial_models``: the comparisons on each initial model, in a run of several)."""
    evaluated = rows[rows["strategy"] == methods.strategy]
    seeds = int(rows["n_runs"].min()) if len(rows) else 0
    if initial_models is not None:
        # n_runs counts the runs of a point: every seed from every initial model.
        seeds //= len(initial_models.controls)
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
        dataset=setup.dataset,
        model=setup.model,
        model_citation=MODEL_CITATIONS.get(setup.model),
        finetune=setup.finetune,
        augmentation=setup.augmentation,
        environment=setup.environment,
        pretrained=setup.pretrained.source,
        # The measured-speed figure is not a tradeoff curve of accuracy.
        figures=sum(1 for path in figures.values() if not str(path).endswith(FIGURE_NAME)),
        initial_models=_initial_model_evidence(methods, initial_models),
    )


def _initial_model_evidence(
    methods: Methods, verdicts: InitialModelVerdicts | None
) -> InitialModelEvidence | None:
    """How many initial models, and on how many of them each baseline verdict holds."""
    if verdicts is None:
        return None
    initial_models = sorted(verdicts.controls)
    references = [name for name in methods.baselines if name != methods.strategy]
    return InitialModelEvidence(
        initial_models=initial_models,
        references=references,
        holding=[name for name in references if verdicts.holds(name)],
    )


def _all_finite(values: pd.Series) -> bool:
    return bool(len(values)) and bool(values.notna().all())
