"""Step finetune: train every pruned cell of a method with its masks held fixed.

Each cell gets the finetuned model (masks folded in: pruned weights are plain zeros), its
training summary with what it was trained from (recipe, pretrained and data digests), and, when
the caller passes an epoch logger, per-epoch curves.
"""

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunebench.data import Dataset, open_materialized
from prunebench.files import (
    check_writable,
    load_state_dict,
    save_state_dict,
    sha256_file,
    write_json,
)
from prunebench.grid import Cell, CellStore, fingerprint, run_cells, tree_digest
from prunebench.masks import MaskSet, fold_masks, load_masks
from prunebench.models import create_model
from prunebench.training import Recipe, TrainingResult, train

MODEL_FILE = "model.safetensors"
TRAINING_FILE = "training.json"
MASK_FILE = "masks.safetensors"

EpochLogger = Callable[[Path], Any]
"""``directory -> context manager yielding an on_epoch(row) callback`` (e.g. dvclive's)."""


def finetune_cell(
    model_name: str,
    pretrained: Mapping[str, torch.Tensor],
    masks: MaskSet,
    dataset: Dataset,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[dict], None] | None = None,
    description: str = "finetune",
) -> tuple[nn.Module, TrainingResult]:
    """The pretrained model with ``masks`` applied, finetuned by ``recipe`` from ``seed``."""
    model = create_model(model_name, dataset.info.num_classes)
    model.load_state_dict(pretrained)
    result = train(
        model,
        dataset,
        recipe,
        seed=seed,
        device=device,
        masks=masks,
        on_epoch=on_epoch,
        description=description,
    )
    fold_masks(model, masks)
    return model, result


def finetune_cells(
    config: Mapping[str, Any],
    *,
    masks: Path,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
    epoch_logger: EpochLogger | None = None,
) -> int:
    """Finetune every pruned cell under ``masks`` into ``out``; return how many were computed."""
    recipe = Recipe(**config["recipe"])
    pruned = CellStore(masks)
    cells = pruned.require_intact()
    check_writable(out)
    dataset = open_materialized(data)
    state_dict = load_state_dict(pretrained)
    trained_from = {
        "pretrained_sha256": sha256_file(pretrained),
        "data_sha256": tree_digest([data]),
    }
    inputs = dict(finetune=dict(config), code=code, **trained_from)

    def fingerprint_of(cell: Cell) -> str:
        mask_digest = sha256_file(pruned.path(cell) / MASK_FILE)
        return fingerprint(cell=cell.name, masks=mask_digest, **inputs)

    def compute(cell: Cell, staging: Path) -> None:
        model = create_model(config["model"], dataset.info.num_classes)
        cell_masks, metadata = load_masks(pruned.path(cell) / MASK_FILE, model)
        logging = epoch_logger(staging / "live") if epoch_logger else nullcontext(None)
        with logging as on_epoch:
            model, result = finetune_cell(
                config["model"],
                state_dict,
                cell_masks,
                dataset,
                recipe,
                seed=cell.seed,
                device=device,
                on_epoch=on_epoch,
                description=f"finetune {metadata['strategy']} {cell.name}",
            )
        save_state_dict(staging / MODEL_FILE, model.state_dict())
        write_json(
            staging / TRAINING_FILE,
            {
                "strategy": metadata["strategy"],
                "target_compression": cell.compression,
                "seed": cell.seed,
                "recipe": recipe.as_dict(),
                **trained_from,
                "epochs_run": result.epochs_run,
                "best_epoch": result.best_epoch,
                "best_validation_top1": result.best_validation_top1,
                "history": result.history,
            },
        )

    return run_cells(
        CellStore(out), cells, fingerprint_of, compute, description=f"finetune {masks.parent.name}"
    )
