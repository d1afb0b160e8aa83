"""Step prune: one mask file and per-layer sparsity table per (compression, seed) of a method.

A matched control (``prunebench.strategies.matched``) is pruned the same way from the method's
own masks at each cell (``reference``): its cells change whenever the method's masks do.
"""

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from prunebench.data import Dataset, open_materialized
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import (
    check_writable,
    load_state_dict,
    sha256_file,
    write_csv_rows,
)
from prunebench.foundations.seeding import seed_everything
from prunebench.foundations.typed import as_mapping
from prunebench.measurement.cost import layer_table, mask_compression
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, fingerprint, grid, run_cells, tree_digest
from prunebench.pipeline.sources import SOURCE_ROOT, files_digest
from prunebench.sparsity.masks import MaskSet, apply_masks, load_masks, save_masks
from prunebench.strategies import find_strategy, is_external, source_files
from prunebench.strategies.matched import MATCHED_CONTROLS, matched_masks

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
    options: Mapping[str, Any] | None = None,
) -> PrunedCell:
    """Masks of ``method`` at ``cell``'s compression, scored on batches drawn from its seed.

    ``options`` are the strategy's hyperparameters (its defaults where absent). A scheduled
    strategy's masks are its first (``Strategy.first_masks``); the finetune step runs the rest.

    The scoring minibatches are the first ``score_batches`` of the train split shuffled by the
    seed alone, so every method sees the same images at one seed (comparisons are paired).
    """
    strategy = find_strategy(method)
    options = strategy.parse_options(options)
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
    masks = strategy.first_masks(
        model,
        cell.compression,
        seed=cell.seed,
        options=options,
        input_shape=tuple(dataset.info.input_shape),
        batches=list(islice(batches, config["score_batches"])),
        include_classifier=config["include_classifier"],
    )
    pruned = _pruned(model, masks, method, cell, config, dataset)
    pruned.metadata["options"] = as_mapping(options)
    pruned.metadata["schedule"] = strategy.pruning_schedule
    if strategy.pruning_schedule != "one_shot":
        # The finetune step runs this code; its digest in the masks is in every finetune cell's
        # fingerprint (see prunebench.stages.finetune).
        pruned.metadata["strategy_source"] = strategy_source_digest(method)
    return pruned


def matched_cell(
    control: str,
    cell: Cell,
    pretrained: Mapping[str, torch.Tensor],
    reference: Path,
    dataset: Dataset,
    config: Mapping[str, Any],
    *,
    device: torch.device,
) -> PrunedCell:
    """Masks of the matched ``control`` at ``cell``: the per-layer counts of the method's mask
    file ``reference`` (the same cell), filled at random (seeded by the cell) or by magnitude."""
    model = create_model(config["model"], dataset.info.num_classes)
    model.load_state_dict(pretrained)
    model.to(device)
    reference_masks, reference_metadata = load_masks(reference, model)
    masks = matched_masks(
        model,
        control,
        reference_masks,
        seed=cell.seed,
        include_classifier=config["include_classifier"],
    )
    pruned = _pruned(model, masks, control, cell, config, dataset)
    pruned.metadata["matched_to"] = reference_metadata["strategy"]
    return pruned


def _pruned(
    model: torch.nn.Module,
    masks: MaskSet,
    method: str,
    cell: Cell,
    config: Mapping[str, Any],
    dataset: Dataset,
) -> PrunedCell:
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


def strategy_source_digest(method: str) -> str:
    """Digest of the files that decide what strategy ``method`` computes (``source_files``)."""
    return files_digest(source_files(method), relative_to=SOURCE_ROOT.parent)


def prune_cells(
    method: str,
    config: Mapping[str, Any],
    *,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
    reference: Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> int:
    """Bring ``out`` to exactly the grid's cells of ``method``; return how many were computed.

    ``options`` are the strategy's hyperparameters (params ``prune.options`` for the method
    under evaluation; None: its defaults), refused in one line if it has no such option.

    ``method`` is a strategy, or with ``reference`` (the method's mask cells) a matched control.
    Everything that can be refused is refused before the first cell is touched: the method's
    name, every target compression against the model, missing or damaged reference cells, an
    unwritable ``out``.
    """
    cells = grid(config["compressions"], config["seeds"])
    dataset = open_materialized(data)
    input_shape = tuple(dataset.info.input_shape)
    if reference is None:
        strategy = find_strategy(method)
        parsed_options = strategy.parse_options(options)
        options = as_mapping(parsed_options)
    else:
        MATCHED_CONTROLS[method]
        references = CellStore(reference)
        missing = sorted(set(cells) - set(references.require_intact()))
        if missing:
            raise PrunebenchError(
                f"{method}: the method's masks lack cell {missing[0].name} under {reference}; "
                "run its prune stage first"
            )
    state_dict = load_state_dict(pretrained)
    if reference is None:
        # Only a channel structure traces the model; counting parameters needs no weights.
        with nullcontext() if strategy.structure == "channel" else torch.device("meta"):
            skeleton = create_model(config["model"], dataset.info.num_classes)
        strategy.check_reachable(
            skeleton,
            config["compressions"],
            input_shape=input_shape,
            include_classifier=config["include_classifier"],
            options=parsed_options,
        )
    check_writable(out)
    inputs = dict(
        method=method,
        prune=cell_inputs(config),
        options=options,
        # Outside the stage's code digest: a researcher's strategy, and the schedule code the
        # finetune step runs (which the first masks then carry into finetune's fingerprint).
        strategy_source=strategy_source_digest(method)
        if reference is None and (is_external(method) or strategy.pruning_schedule != "one_shot")
        else None,
        pretrained=sha256_file(pretrained),
        data=tree_digest([data]),
        code=code,
    )

    def fingerprint_of(cell: Cell) -> str:
        if reference is None:
            return fingerprint(cell=cell.name, **inputs)
        reference_masks = sha256_file(references.path(cell) / MASK_FILE)
        return fingerprint(cell=cell.name, reference=reference_masks, **inputs)

    def compute(cell: Cell, staging: Path) -> None:
        if reference is None:
            pruned = prune_cell(
                method, cell, state_dict, dataset, config, device=device, options=options
            )
        else:
            reference_file = references.path(cell) / MASK_FILE
            pruned = matched_cell(
                method, cell, state_dict, reference_file, dataset, config, device=device
            )
        save_masks(staging / MASK_FILE, pruned.masks, pruned.metadata)
        write_csv_rows(staging / LAYER_FILE, pruned.layers)

    description = f"prune {method}"
    return run_cells(CellStore(out), cells, fingerprint_of, compute, description, device=device)
