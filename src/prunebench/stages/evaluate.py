"""Step evaluate: one metrics record per finetuned cell of a method, on the test split."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from prunebench.data import Dataset, open_materialized
from prunebench.foundations.files import check_writable, load_state_dict, read_json, write_json
from prunebench.measurement.record import measure
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, fingerprint, run_cells, tree_digest
from prunebench.sparsity.masks import MaskSet, load_masks

METRICS_FILE = "metrics.json"


def evaluate_cell(
    model: nn.Module,
    masks: MaskSet,
    dataset: Dataset,
    cell: Cell,
    *,
    mask_metadata: Mapping[str, Any],
    training: Mapping[str, Any],
    config: Mapping[str, Any],
    device: torch.device,
) -> dict:
    """The cell's metrics record (schema: docs/design.md), with what produced it."""
    # Each step's params come from its own output, so that none is read here undeclared.
    produced_from = {
        "benchmark": config["benchmark"],
        "prune": mask_metadata["prune"],
        "finetune": training["recipe"],
        "evaluate": dict(config),
    }
    metrics = measure(
        model, masks, dataset, device=device, batch_size=config["batch_size"], params=produced_from
    )
    metrics.update(
        strategy=training["strategy"],
        target_compression=cell.compression,
        seed=cell.seed,
        finetune={
            key: training[key]
            for key in ("epochs_run", "best_epoch", "best_validation_top1", "history")
        },
        budget=training["budget"],
        schedule=mask_metadata.get("schedule", "one_shot"),
        inputs={
            "recipe": training["recipe"],
            "pretrained_sha256": training["pretrained_sha256"],
            "data_sha256": training["data_sha256"],
        },
    )
    return metrics


def evaluate_cells(
    config: Mapping[str, Any],
    *,
    finetuned: Path,
    out: Path,
    data: Path,
    device: torch.device,
    code: str,
) -> int:
    """Evaluate every finetuned cell under ``finetuned`` into ``out``; return how many ran.

    Each cell is measured with its final masks, written by the finetune step beside the model
    (for a scheduled strategy they are not the prune step's first masks).
    """
    trained = CellStore(finetuned)
    cells = trained.require_intact()
    check_writable(out)
    dataset = open_materialized(data)
    inputs = dict(evaluate=dict(config), data=tree_digest([data]), code=code)

    def fingerprint_of(cell: Cell) -> str:
        sources = tree_digest([trained.path(cell)])
        return fingerprint(cell=cell.name, cell_files=sources, **inputs)

    def compute(cell: Cell, staging: Path) -> None:
        model = create_model(config["model"], dataset.info.num_classes)
        model.load_state_dict(load_state_dict(trained.path(cell) / "model.safetensors"))
        cell_masks, mask_metadata = load_masks(trained.path(cell) / "masks.safetensors", model)
        metrics = evaluate_cell(
            model,
            cell_masks,
            dataset,
            cell,
            mask_metadata=mask_metadata,
            training=read_json(trained.path(cell) / "training.json"),
            config=config,
            device=device,
        )
        write_json(staging / METRICS_FILE, metrics)

    return run_cells(
        CellStore(out), cells, fingerprint_of, compute, f"evaluate {out.name}", device=device
    )
