"""Stage fetch_pretrained: the model every cell starts from, and the control's metrics.

Published weights (ShrinkBench's, torchvision's, or ours, shipped in the package) are verified by
sha256 and loaded strictly. With ``pretrained.train`` (or for a benchmark without published
weights) the model is trained instead, with the benchmark's pretraining recipe and seed: the same
function made the weights we publish (``scripts/publish_pretrained.py``).
"""

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunebench.benchmarks.pretrained import PRETRAINED, fetch_published, load_state_dict_strict
from prunebench.data import Dataset, open_materialized
from prunebench.foundations.files import (
    atomic_directory,
    prepare_outputs,
    save_state_dict,
    sha256_file,
)
from prunebench.measurement.measure import measure
from prunebench.models import create_model
from prunebench.pipeline.cells import tree_digest
from prunebench.pipeline.configs import FetchPretrainedConfig
from prunebench.pipeline.layout import CURVES_FOLDER, MODEL_FILE, PRETRAINED_SOURCE
from prunebench.pipeline.records import ControlInputs, ControlMetrics, PretrainedSource
from prunebench.training.loop import pretrain


def pretrained_model(
    config: FetchPretrainedConfig,
    dataset: Dataset,
    *,
    device: torch.device,
    cache: Path,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[nn.Module, PretrainedSource]:
    """The benchmark's initial model and a description of where it came from."""
    if config.published is not None:
        model = create_model(config.model, dataset.info.num_classes)
        mirror = Path(config.mirror) if config.mirror else None
        load_state_dict_strict(model, fetch_published(config.published, mirror, cache))
        weights = PRETRAINED[config.published]
        return model, PretrainedSource(
            kind="published", name=config.published, sha256=weights.sha256
        )
    model, result = pretrain(
        config.model, dataset, config.recipe, seed=config.seed, device=device, on_epoch=on_epoch
    )
    return model, PretrainedSource(
        kind="trained in the pipeline",
        recipe=config.recipe,
        seed=config.seed,
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        best_validation_top1=result.best_validation_top1,
    )


def fetch_pretrained(
    config: FetchPretrainedConfig,
    *,
    data: Path,
    out: Path,
    control: Path,
    device: torch.device,
    cache: Path,
    epoch_logger: Callable[[Path], Any] | None = None,
) -> None:
    """Write ``out/model.safetensors``, ``out/source.json`` and the control's metrics.

    Nothing is replaced unless all of it was computed: the model directory is swapped in whole.
    """
    prepare_outputs(out, control)
    dataset = open_materialized(data)
    with atomic_directory(out) as staging:
        trains = config.published is None
        curves = epoch_logger(staging / CURVES_FOLDER) if epoch_logger and trains else None
        with curves or nullcontext(None) as on_epoch:
            model, source = pretrained_model(
                config, dataset, device=device, cache=cache, on_epoch=on_epoch
            )
        save_state_dict(staging / MODEL_FILE, model.state_dict())
        source.write(staging / PRETRAINED_SOURCE.name)
        metrics = measure(model, None, dataset, device=device, params=config.to_json())
        record = ControlMetrics.extend(
            metrics,
            strategy="control",
            target_compression=1,
            seed=config.seed or 0,
            pretrained=source,
            inputs=ControlInputs(
                pretrained_sha256=sha256_file(staging / MODEL_FILE),
                data_sha256=tree_digest([data]),
            ),
        )
    record.write(control)
