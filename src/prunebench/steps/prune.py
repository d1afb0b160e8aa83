"""Step prune: one mask file and per-layer sparsity table per (compression, seed) of a method."""

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from prunebench.data import Dataset, open_materialized
from prunebench.files import check_writable, load_state_dict, sha256_file, write_csv_rows
from prunebench.grid import Cell, CellStore, fingerprint, grid, run_cells, tree_digest
from prunebench.masks import MaskSet, apply_masks, prunable_parameters, save_masks
from prunebench.metrics import layer_table, mask_compression
from prunebench.models import create_model
from prunebench.seeding import seed_everything
from prunebench.strategies import STRATEGIES, compute_masks, keep_count

MASK_FILE = "masks.safetensors"
LAYER_FILE = "layers.csv"


@dataclass
class PrunedCell:
    """A cell's masks, their metadata (strategy, target and achieved compression, seed, params)
    and the per-layer table of the masked model."""

    masks: MaskSet
    metadata: dict[str, Any]
    layers: list[dict]


def cell_inputs(config: Mapping[str, Any]) -> dict[str, Any]:
    """What one cell depends on: the prune inputs less the grid (the cell is its own point)."""
    return {key: value for key, value in config.items() if key not in ("compressions", "seeds")}


def prune_cell(
    method: str,
    cell: Cell,
    pretrained: Mapping[str, torch.Tensor],
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    device: torch.device,
) -> PrunedCell:
    """Masks of ``method`` at ``cell``'s compression, scored on batches drawn from its seed.

    The scoring minibatches are the first ``score_batches`` of the train split shuffled by the
    seed alone, so every method sees the same images at one seed (comparisons are paired).
    """
    model = create_model(config["model"], dataset.info.num_classes)
    model.load_state_dict(pretrained)
    model.to(device)
    data_order = seed_everything(cell.seed)
    batches = dataset.batches(
        "train",
        batch_size=config["score_batch_size"],
        shuffle=True,
        generator=data_order,
        device=device,
    )
    masks = compute_masks(
        model,
        method,
        cell.compression,
        seed=cell.seed,
        batches=list(islice(batches, config["score_batches"])),
        include_classifier=config["include_classifier"],
    )
    apply_masks(model, masks)
    metadata = {
        "strategy": method,
        "target_compression": cell.compression,
        "achieved_compression": mask_compression(model, masks),
        "seed": cell.seed,
        # What the masks came from, passed down to the cell's metrics file.
        "prune": cell_inputs(config),
    }
    return PrunedCell(masks, metadata, layer_table(model, dataset.info.input_shape))


def prune_cells(
    method: str,
    config: Mapping[str, Any],
    *,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
) -> int:
    """Bring ``out`` to exactly the grid's cells of ``method``; return how many were computed.

    Everything that can be refused is refused before the first cell is touched: the method's
    name, every target compression against the model, an unwritable ``out``.
    """
    STRATEGIES[method]
    dataset = open_materialized(data)
    state_dict = load_state_dict(pretrained)
    with torch.device("meta"):
        skeleton = create_model(config["model"], dataset.info.num_classes)
    prunable = prunable_parameters(skeleton, include_classifier=config["include_classifier"])
    for compression in config["compressions"]:
        keep_count(skeleton, prunable, compression)
    check_writable(out)
    inputs = dict(
        method=method,
        prune=cell_inputs(config),
        pretrained=sha256_file(pretrained),
        data=tree_digest([data]),
        code=code,
    )

    def compute(cell: Cell, staging: Path) -> None:
        pruned = prune_cell(method, cell, state_dict, dataset, config, device=device)
        save_masks(staging / MASK_FILE, pruned.masks, pruned.metadata)
        write_csv_rows(staging / LAYER_FILE, pruned.layers)

    return run_cells(
        CellStore(out),
        grid(config["compressions"], config["seeds"]),
        lambda cell: fingerprint(cell=cell.name, **inputs),
        compute,
        description=f"prune {method}",
    )
