"""Stage finetune: train every pruned cell of a method; a scheduled strategy prunes as it trains.

Each cell gets the finetuned model (masks folded in: pruned weights are plain zeros), its final
masks, its training summary (``TrainingSummary``: what it was trained from and the budget it
used: epochs, optimizer steps, rounds), and, when the caller passes an epoch logger, per-epoch
curves. A cell of initial model k is finetuned from that initial model (its sha256 is in the
cell's fingerprint and training summary), with its seed's data order.
"""

import importlib
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunebench.data import Dataset, open_materialized
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import (
    load_state_dict,
    prepare_outputs,
    save_state_dict,
    sha256_file,
)
from prunebench.foundations.taxonomy import PruningSchedule
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, Runner, fingerprint, run_cells, tree_digest
from prunebench.pipeline.configs import FinetuneConfig
from prunebench.pipeline.layout import (
    CURVES_FOLDER,
    MASKS_FILE,
    MODEL_FILE,
    TRAINING_FILE,
    initial_model_file,
)
from prunebench.pipeline.records import Budget, MaskMetadata, TrainingSummary
from prunebench.sparsity.masks import (
    MaskSet,
    fold_masks,
    load_mask_metadata,
    load_masks,
    mask_compression,
    save_masks,
)
from prunebench.training.loop import TrainingResult, train
from prunebench.training.recipe import Recipe

EpochLogger = Callable[[Path], Any]
"""``directory -> context manager yielding an on_epoch(row) callback`` (e.g. dvclive's)."""


@dataclass
class FinetunedCell:
    """A finetuned cell: the model (masks folded in), its final masks and how it was trained."""

    model: nn.Module
    masks: MaskSet
    result: TrainingResult
    rounds: int

    @property
    def budget(self) -> Budget:
        """The training budget used: epochs and optimizer steps (all rounds), and rounds."""
        return Budget(epochs=self.result.epochs_run, steps=self.result.steps, rounds=self.rounds)


def finetune_cell(
    model_name: str,
    pretrained: Mapping[str, torch.Tensor],
    masks: MaskSet,
    metadata: MaskMetadata,
    dataset: Dataset,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    one_shot_rounds: int = 1,
    on_epoch: Callable[[dict], None] | None = None,
    description: str = "finetune",
) -> FinetunedCell:
    """The pretrained model with the prune stage's ``masks``, finetuned by ``recipe`` from ``seed``.

    A one-shot strategy's masks are held fixed, for ``one_shot_rounds`` times the recipe's epochs
    (params ``equal_budget``). A scheduled strategy (``metadata.schedule``) runs its schedule
    from these first masks (``prunebench.strategies.schedules``) and ends with its final masks.
    """
    model = create_model(model_name, dataset.info.num_classes)
    model.load_state_dict(pretrained)
    if metadata.pruning_schedule is PruningSchedule.ONE_SHOT:
        budget = replace(recipe, epochs=recipe.epochs * one_shot_rounds)
        result = train(
            model,
            dataset,
            budget,
            seed=seed,
            device=device,
            masks=masks,
            on_epoch=on_epoch,
            description=description,
        )
        rounds = 1
    else:
        # Imported by name, not statically: the finetune stage's code fingerprint then holds no
        # strategy code, so editing a strategy never re-finetunes one-shot cells. A scheduled
        # cell is covered instead by its strategy's source digest, which the prune stage records
        # in its first masks (``strategy_source``), and those masks are in its fingerprint.
        schedules = importlib.import_module("prunebench.strategies.schedules")
        try:
            masks, result, rounds = schedules.run_schedule(
                metadata.strategy,
                model,
                masks,
                dataset,
                recipe,
                target=metadata.target_compression,
                options=metadata.options,
                include_classifier=metadata.prune["include_classifier"],
                seed=seed,
                device=device,
                on_epoch=on_epoch,
                description=description,
            )
        except PrunebenchError as error:  # its masks broke the strategy contract, say
            raise PrunebenchError(f"{description}: {error}") from None
    fold_masks(model, masks)
    return FinetunedCell(model, masks, result, rounds)


def finetune_cells(
    config: FinetuneConfig,
    *,
    masks: Path,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
    epoch_logger: EpochLogger | None = None,
    runner: Runner | None = None,
) -> int:
    """Finetune every pruned cell under ``masks`` into ``out``; return how many were computed.

    ``pretrained`` is initial model 0's file; a cell of initial model k starts from k's, beside it
    (``pipeline.layout.initial_model_file``).
    """
    pruned = CellStore(masks)
    cells = pruned.require_intact()
    prepare_outputs(out)
    dataset = open_materialized(data)
    files = {k: initial_model_file(pretrained, k) for k in {cell.initial_model for cell in cells}}
    state_dicts = {k: load_state_dict(file) for k, file in files.items()}
    pretrained_sha256 = {k: sha256_file(file) for k, file in files.items()}
    data_sha256 = tree_digest([data])
    # The budget is a separate input: equal_budget changes one-shot cells only.
    without_budget = {k: v for k, v in config.to_json().items() if k != "one_shot_rounds"}
    common = dict(finetune=without_budget, code=code, data_sha256=data_sha256)

    def fingerprint_of(cell: Cell) -> str:
        mask_file = pruned.path(cell) / MASKS_FILE
        # equal_budget changes what a one-shot cell trains for, never a scheduled one.
        with pruned.reading(cell):
            metadata = MaskMetadata.from_json(load_mask_metadata(mask_file), str(mask_file))
        one_shot = metadata.pruning_schedule is PruningSchedule.ONE_SHOT
        rounds = config.one_shot_rounds if one_shot else None
        return fingerprint(
            cell=cell.name,
            masks=sha256_file(mask_file),
            one_shot_rounds=rounds,
            pretrained_sha256=pretrained_sha256[cell.initial_model],
            **common,
        )

    def compute(cell: Cell, staging: Path) -> None:
        model = create_model(config.model, dataset.info.num_classes)
        mask_file = pruned.path(cell) / MASKS_FILE
        with pruned.reading(cell):
            cell_masks, raw_metadata = load_masks(mask_file, model)
            metadata = MaskMetadata.from_json(raw_metadata, str(mask_file))
        curves = epoch_logger(staging / CURVES_FOLDER) if epoch_logger else nullcontext(None)
        with curves as on_epoch:
            finetuned = finetune_cell(
                config.model,
                state_dicts[cell.initial_model],
                cell_masks,
                metadata,
                dataset,
                config.recipe,
                seed=cell.seed,
                device=device,
                one_shot_rounds=config.one_shot_rounds,
                on_epoch=on_epoch,
                description=f"finetune {metadata.strategy} {cell.name}",
            )
        save_state_dict(staging / MODEL_FILE, finetuned.model.state_dict())
        # The final masks, which evaluate measures (a one-shot cell's are the prune stage's).
        final = replace(metadata, achieved_compression=mask_compression(model, finetuned.masks))
        save_masks(staging / MASKS_FILE, finetuned.masks, final.to_json())
        result = finetuned.result
        TrainingSummary(
            strategy=metadata.strategy,
            target_compression=cell.compression,
            seed=cell.seed,
            recipe=config.recipe,
            pretrained_sha256=pretrained_sha256[cell.initial_model],
            data_sha256=data_sha256,
            budget=finetuned.budget,
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            best_validation_top1=result.best_validation_top1,
            history=result.history,
        ).write(staging / TRAINING_FILE)

    description = f"finetune {masks.parent.name}"
    return run_cells(
        CellStore(out), cells, fingerprint_of, compute, description, runner=runner, device=device
    )
