"""Stage fetch_pretrained: the models every cell starts from, and the control's metrics.

Every initial model of the grid (params ``initial_models``; initial model k is the benchmark's
model pretrained from its own seed) is written with its control's metrics: initial model 0 where
the single initial model always was, the others beside it (``pipeline.layout``). Published
weights (ShrinkBench's, torchvision's, or ours, shipped in the package) are verified by sha256
and loaded strictly. With ``pretrained.train`` (or for a benchmark without published weights)
the model is trained instead, with the benchmark's pretraining recipe and seed: the same function
made the weights we publish (``scripts/publish_pretrained.py``).
"""

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunebench.benchmarks.pretrained import (
    PRETRAINED,
    fetch_published,
    initial_model_source,
    load_state_dict_strict,
)
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
from prunebench.pipeline.configs import FetchPretrainedConfig, grid_initial_models
from prunebench.pipeline.layout import (
    CURVES_FOLDER,
    INITIAL_CONTROL,
    MODEL_FILE,
    PRETRAINED_SOURCE,
    initial_model_folder,
)
from prunebench.pipeline.records import ControlInputs, ControlMetrics, PretrainedSource
from prunebench.training.loop import pretrain


def pretrained_model(
    config: FetchPretrainedConfig,
    dataset: Dataset,
    *,
    device: torch.device,
    cache: Path,
    on_epoch: Callable[[dict], None] | None = None,
    initial_model: int = 0,
) -> tuple[nn.Module, PretrainedSource]:
    """The benchmark's initial model ``initial_model`` and a description of where it came from.

    Initial model k is the published one of that number, or our own pretraining from seed
    ``config.seed + k``: the same recipe and data from another initialisation and data order.
    """
    if config.published is not None:
        name = initial_model_source(config.published, initial_model)
        model = create_model(config.model, dataset.info.num_classes)
        mirror = Path(config.mirror) if config.mirror else None
        load_state_dict_strict(model, fetch_published(name, mirror, cache))
        return model, PretrainedSource(kind="published", name=name, sha256=PRETRAINED[name].sha256)
    seed = config.seed + initial_model
    model, result = pretrain(
        config.model, dataset, config.recipe, seed=seed, device=device, on_epoch=on_epoch
    )
    return model, PretrainedSource(
        kind="trained in the pipeline",
        recipe=config.recipe,
        seed=seed,
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
    """Write ``out/model.safetensors``, ``out/source.json`` and the control's metrics, for
    initial model 0; for each further initial model k of the grid, the same three files under
    ``out/i<k>/`` (its control's metrics as ``control.json`` there).

    Nothing is replaced unless all of it was computed: the model directory is swapped in whole.
    """
    prepare_outputs(out, control)
    dataset = open_materialized(data)
    # Which other initial models the grid has changes no control: adding one leaves initial model
    # 0's record byte for byte as it was.
    produced_from = {k: v for k, v in config.to_json().items() if k != "initial_models"}
    with atomic_directory(out) as staging:
        records = {}
        for initial_model in grid_initial_models(config):
            folder = initial_model_folder(initial_model, staging)
            folder.mkdir(parents=True, exist_ok=True)
            trains = config.published is None
            curves = epoch_logger(folder / CURVES_FOLDER) if epoch_logger and trains else None
            with curves or nullcontext(None) as on_epoch:
                model, source = pretrained_model(
                    config,
                    dataset,
                    device=device,
                    cache=cache,
                    on_epoch=on_epoch,
                    initial_model=initial_model,
                )
            save_state_dict(folder / MODEL_FILE, model.state_dict())
            source.write(folder / PRETRAINED_SOURCE.name)
            metrics = measure(model, None, dataset, device=device, params=produced_from)
            records[initial_model] = ControlMetrics.extend(
                metrics,
                strategy="control",
                target_compression=1,
                seed=config.seed or 0,
                pretrained=source,
                inputs=ControlInputs(
                    pretrained_sha256=sha256_file(folder / MODEL_FILE),
                    data_sha256=tree_digest([data]),
                ),
                initial_model=initial_model or None,
            )
            if initial_model != 0:
                records.pop(initial_model).write(folder / INITIAL_CONTROL)
    records[0].write(control)
