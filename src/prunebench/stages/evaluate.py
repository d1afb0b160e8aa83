"""Stage evaluate: one metrics record per finetuned cell of a method, on the test split."""

from pathlib import Path

import torch
from torch import nn

from prunebench.data import Dataset, open_materialized
from prunebench.foundations.files import load_state_dict, prepare_outputs
from prunebench.measurement.measure import measure
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, Runner, fingerprint, run_cells, tree_digest
from prunebench.pipeline.configs import EvaluateConfig
from prunebench.pipeline.layout import MASKS_FILE, METRICS_FILE, MODEL_FILE, TRAINING_FILE
from prunebench.pipeline.records import CellInputs, CellMetrics, MaskMetadata, TrainingSummary
from prunebench.sparsity.masks import MaskSet, load_masks


def evaluate_cell(
    model: nn.Module,
    masks: MaskSet,
    dataset: Dataset,
    cell: Cell,
    *,
    metadata: MaskMetadata,
    training: TrainingSummary,
    config: EvaluateConfig,
    device: torch.device,
) -> CellMetrics:
    """The cell's metrics record, with what produced it.

    Args:
        model: the finetuned model (masks folded in).
        masks: its final masks (for a scheduled strategy, not the prune stage's first ones).
        dataset: the materialised dataset; the test split is measured.
        cell: the cell's target compression, seed and initial model.
        metadata: what its masks are (the prune stage's record).
        training: how it was finetuned (the finetune stage's record).
        config: the evaluate stage's config.
        device: where to run.
    """
    # Each stage's params come from its own output, so that none is read here undeclared.
    produced_from = {
        "benchmark": config.benchmark,
        "prune": metadata.prune,
        "finetune": training.recipe.to_json(),
        "evaluate": config.to_json(),
    }
    metrics = measure(
        model, masks, dataset, device=device, batch_size=config.batch_size, params=produced_from
    )
    return CellMetrics.extend(
        metrics,
        strategy=training.strategy,
        target_compression=cell.compression,
        seed=cell.seed,
        finetune=training.outcome(),
        budget=training.budget,
        schedule=metadata.pruning_schedule,
        inputs=CellInputs(
            recipe=training.recipe,
            pretrained_sha256=training.pretrained_sha256,
            data_sha256=training.data_sha256,
        ),
        initial_model=cell.initial_model or None,
    )


def evaluate_cells(
    config: EvaluateConfig,
    *,
    finetuned: Path,
    out: Path,
    data: Path,
    device: torch.device,
    code: str,
    runner: Runner | None = None,
) -> int:
    """Evaluate every finetuned cell under ``finetuned`` into ``out``; return how many ran.

    Each cell is measured with its final masks, written by the finetune stage beside the model.
    """
    trained = CellStore(finetuned)
    cells = trained.require_intact()
    prepare_outputs(out)
    dataset = open_materialized(data)
    common = dict(evaluate=config.to_json(), data=tree_digest([data]), code=code)

    def fingerprint_of(cell: Cell) -> str:
        return fingerprint(cell=cell.name, cell_files=tree_digest([trained.path(cell)]), **common)

    def compute(cell: Cell, staging: Path) -> None:
        model = create_model(config.model, dataset.info.num_classes)
        with trained.reading(cell) as folder:
            model.load_state_dict(load_state_dict(folder / MODEL_FILE))
            masks, metadata = load_masks(folder / MASKS_FILE, model)
            metadata = MaskMetadata.from_json(metadata, str(folder / MASKS_FILE))
            training = TrainingSummary.read(folder / TRAINING_FILE)
        evaluate_cell(
            model,
            masks,
            dataset,
            cell,
            metadata=metadata,
            training=training,
            config=config,
            device=device,
        ).write(staging / METRICS_FILE)

    return run_cells(
        CellStore(out),
        cells,
        fingerprint_of,
        compute,
        f"evaluate {out.name}",
        runner=runner,
        device=device,
    )
