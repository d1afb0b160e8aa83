"""Stage prune: a mask file and a per-layer table per (compression, seed) cell of a method.

A cell of initial model k (``i<k>-c2-s0``) is pruned from that initial model, which is in its
fingerprint by its sha256; its seed draws the same scoring minibatches as from initial model 0.

Two kinds of method are pruned here, each by its own loop over a shared helper:

- a strategy (:func:`prune_strategy_cells`, the work on one cell :func:`prune_cell`): the
  method under evaluation or a baseline; a scheduled strategy's masks are its first ones;
- a matched control (:func:`prune_matched_cells`, one cell :func:`matched_cell`): the method
  under evaluation's own per-layer counts at the same cell, filled at random or by magnitude
  (``prunebench.strategies.matched``); its cells change whenever the method's masks do.

Every cell is held to its target before it is written (:func:`check_on_target`, and the
strategy contract inside ``Strategy.masks``): a strategy whose masks miss it is refused in one
line naming the strategy and the cell, never reported.
"""

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from prunebench.data import Dataset, open_materialized
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import (
    load_state_dict,
    prepare_outputs,
    sha256_file,
    write_csv_rows,
)
from prunebench.foundations.seeding import seed_everything
from prunebench.foundations.taxonomy import PruningSchedule, Structure
from prunebench.foundations.typed import as_mapping
from prunebench.measurement.cost import layer_table, mask_compression
from prunebench.models import create_model
from prunebench.pipeline.cells import (
    Cell,
    CellStore,
    Runner,
    fingerprint,
    grid,
    run_cells,
    tree_digest,
)
from prunebench.pipeline.configs import PruneConfig, grid_initial_models
from prunebench.pipeline.layout import LAYERS_FILE, MASKS_FILE, initial_model_file
from prunebench.pipeline.records import MaskMetadata
from prunebench.pipeline.sources import SOURCE_ROOT, files_digest
from prunebench.sparsity.masks import MaskSet, apply_masks, load_masks, save_masks
from prunebench.strategies import find_strategy, is_external, source_files
from prunebench.strategies.matched import MATCHED_CONTROLS, matched_masks


@dataclass(frozen=True)
class PrunedCell:
    """A cell's masks, what they are, and the per-layer table of the masked model."""

    masks: MaskSet
    metadata: MaskMetadata
    layers: list[dict]


@dataclass(frozen=True)
class PruneInputs:
    """What every cell of one prune stage reads: its config, data and initial weights."""

    config: PruneConfig
    dataset: Dataset
    pretrained: Mapping[str, torch.Tensor]
    device: torch.device

    def model(self) -> torch.nn.Module:
        """The initial model on the stage's device."""
        model = create_model(self.config.model, self.dataset.info.num_classes)
        model.load_state_dict(self.pretrained)
        return model.to(self.device)


def prune_cell(
    method: str, cell: Cell, inputs: PruneInputs, options: Mapping[str, Any] | None = None
) -> PrunedCell:
    """Masks of strategy ``method`` at ``cell``'s compression, scored on batches from its seed.

    Args:
        method: a registry name or ``package.module:attribute``.
        cell: the target compression and the seed.
        inputs: the stage's config, data, initial weights and device.
        options: the strategy's hyperparameters (its defaults where absent).

    The scoring minibatches are the first ``score_batches`` of the train split shuffled by the
    seed alone, so every method sees the same images at one seed (comparisons are paired). A
    scheduled strategy's masks are its first (``Strategy.first_masks``); the finetune stage runs
    the rest.
    """
    strategy = find_strategy(method)
    parsed = strategy.parse_options(options)
    config, dataset = inputs.config, inputs.dataset
    model = inputs.model()
    batches = dataset.batches(
        "train",
        batch_size=config.score_batch_size,
        shuffle=True,
        generator=seed_everything(cell.seed),
        device=inputs.device,
    )
    masks = strategy.first_masks(
        model,
        cell.compression,
        seed=cell.seed,
        options=parsed,
        input_shape=tuple(dataset.info.input_shape),
        batches=list(islice(batches, config.score_batches)),
        include_classifier=config.include_classifier,
    )
    scheduled = strategy.pruning_schedule is not PruningSchedule.ONE_SHOT
    return _pruned(
        model,
        masks,
        inputs,
        method=method,
        cell=cell,
        options=as_mapping(parsed),
        schedule=strategy.pruning_schedule,
        # The finetune stage runs a schedule's code; its digest in the masks is in every
        # finetune cell's fingerprint (see prunebench.stages.finetune).
        strategy_source=strategy_source_digest(method) if scheduled else None,
    )


def matched_cell(control: str, cell: Cell, inputs: PruneInputs, reference: Path) -> PrunedCell:
    """Masks of the matched ``control`` at ``cell``: the per-layer counts of the method's mask
    file ``reference`` (the same cell), filled at random (seeded by the cell) or by magnitude."""
    model = inputs.model()
    reference_masks, reference_metadata = load_masks(reference, model)
    masks = matched_masks(
        model,
        control,
        reference_masks,
        seed=cell.seed,
        include_classifier=inputs.config.include_classifier,
    )
    for name, mask in masks.items():
        if name in reference_masks and int(mask.sum()) != int(reference_masks[name].sum()):
            raise PrunebenchError(
                f"the masks keep {int(mask.sum())} weights of {name!r}, the method's "
                f"{int(reference_masks[name].sum())}"
            )
    return _pruned(
        model, masks, inputs, method=control, cell=cell, matched_to=reference_metadata["strategy"]
    )


def check_on_target(pruned: PrunedCell, total: int, *, slack: int, scheduled: bool) -> None:
    """Refuse a strategy's cell whose masks miss its target compression.

    The target leaves ``round(total / compression)`` of the model's ``total`` parameters
    nonzero (``allocation.keep_count``): exactly that many for unstructured masks, within
    ``slack`` (one channel group, the largest) for channel masks. A scheduled strategy's first
    masks prune less than the target (its schedule reaches the target while finetuning), never
    more.
    """
    metadata = pruned.metadata
    nonzero = round(total / metadata.achieved_compression)
    target = round(total / metadata.target_compression)
    low, high = target - slack, total if scheduled else target + slack
    if not low <= nonzero <= high:
        allowed = f"{target}" if low == high else f"{low} to {high}"
        raise PrunebenchError(
            f"achieved compression {metadata.achieved_compression:.4g} is off the target "
            f"{metadata.target_compression:g}: the masks leave {nonzero} of {total} parameters "
            f"nonzero, the target {allowed}"
        )


def _pruned(
    model: torch.nn.Module,
    masks: MaskSet,
    inputs: PruneInputs,
    *,
    method: str,
    cell: Cell,
    **described: Any,
) -> PrunedCell:
    apply_masks(model, masks)
    metadata = MaskMetadata(
        strategy=method,
        target_compression=cell.compression,
        achieved_compression=mask_compression(model, masks),
        seed=cell.seed,
        # What the masks came from, passed down to the cell's metrics file.
        prune=inputs.config.cell_inputs(),
        **described,
    )
    return PrunedCell(masks, metadata, layer_table(model, inputs.dataset.info.input_shape))


def strategy_source_digest(method: str) -> str:
    """Digest of the files that decide what strategy ``method`` computes (``source_files``)."""
    return files_digest(source_files(method), relative_to=SOURCE_ROOT.parent)


def prune_strategy_cells(
    method: str,
    config: PruneConfig,
    *,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
    options: Mapping[str, Any] | None = None,
    runner: Runner | None = None,
) -> int:
    """Bring ``out`` to exactly the grid's cells of strategy ``method``; return how many ran.

    ``options`` are its hyperparameters (params ``prune.options`` for the method under
    evaluation; None: its defaults), refused in one line if it has no such option. Everything
    that can be refused is refused before the first cell is touched: the name, the options,
    every target compression against the model, an unwritable ``out``.
    """
    strategy = find_strategy(method)
    parsed = strategy.parse_options(options)
    inputs = _load(config, data, pretrained, device)
    first = inputs[0]
    # Only a channel structure traces the model; counting parameters needs no weights.
    traced = strategy.structure == Structure.CHANNEL
    with nullcontext() if traced else torch.device("meta"):
        skeleton = create_model(config.model, first.dataset.info.num_classes)
    input_shape = tuple(first.dataset.info.input_shape)
    strategy.check_reachable(
        skeleton,
        config.compressions,
        input_shape=input_shape,
        include_classifier=config.include_classifier,
        options=parsed,
    )
    total = sum(parameter.numel() for parameter in skeleton.parameters())
    slack = _largest_group(skeleton, input_shape) if traced else 0
    scheduled = strategy.pruning_schedule is not PruningSchedule.ONE_SHOT

    def prune(cell: Cell) -> PrunedCell:
        pruned = prune_cell(method, cell, inputs[cell.initial_model], as_mapping(parsed))
        check_on_target(pruned, total, slack=slack, scheduled=scheduled)
        return pruned

    # Outside the stage's code digest: a researcher's strategy, and the schedule code the
    # finetune stage runs (which the first masks then carry into finetune's fingerprint).
    outside = is_external(method) or scheduled
    common = _fingerprint_inputs(
        method,
        first,
        data,
        code,
        options=as_mapping(parsed),
        strategy_source=strategy_source_digest(method) if outside else None,
    )
    digests = _initial_model_digests(config, pretrained)
    return _prune_grid(
        out,
        config,
        lambda cell: fingerprint(cell=cell.name, pretrained=digests[cell.initial_model], **common),
        prune,
        described_as=f"strategy {method!r}",
        description=f"prune {method}",
        device=device,
        runner=runner,
    )


def prune_matched_cells(
    control: str,
    config: PruneConfig,
    *,
    reference: Path,
    out: Path,
    data: Path,
    pretrained: Path,
    device: torch.device,
    code: str,
    runner: Runner | None = None,
) -> int:
    """Bring ``out`` to exactly the grid's cells of matched control ``control``, each matched to
    the method's cell of the same name under ``reference``; return how many ran.

    Refused before any work: an unknown control, a missing or damaged cell of the method, an
    unwritable ``out``.
    """
    MATCHED_CONTROLS[control]
    references = CellStore(reference)
    missing = sorted(set(_grid(config)) - set(references.require_intact()))
    if missing:
        raise PrunebenchError(
            f"{control}: the method's masks lack cell {missing[0].name} under {reference}; "
            "run its prune stage first"
        )
    inputs = _load(config, data, pretrained, device)
    common = _fingerprint_inputs(control, inputs[0], data, code, options=None, strategy_source=None)
    digests = _initial_model_digests(config, pretrained)

    def reference_file(cell: Cell) -> Path:
        return references.path(cell) / MASKS_FILE

    return _prune_grid(
        out,
        config,
        lambda cell: fingerprint(
            cell=cell.name,
            reference=sha256_file(reference_file(cell)),
            pretrained=digests[cell.initial_model],
            **common,
        ),
        lambda cell: matched_cell(control, cell, inputs[cell.initial_model], reference_file(cell)),
        described_as=f"matched control {control!r}",
        description=f"prune {control}",
        device=device,
        runner=runner,
    )


def _largest_group(model: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """Parameters the largest channel group removes: how far whole groups may miss a target."""
    from prunebench.sparsity.channels.dependencies import channel_groups  # channels only

    return max(group.size for group in channel_groups(model, input_shape))


def _grid(config: PruneConfig) -> list[Cell]:
    return grid(config.compressions, config.seeds, grid_initial_models(config))


def _load(
    config: PruneConfig, data: Path, pretrained: Path, device: torch.device
) -> dict[int, PruneInputs]:
    """Each initial model's inputs (``pretrained``: initial model 0's file), sharing the data."""
    dataset = open_materialized(data)
    return {
        initial_model: PruneInputs(
            config, dataset, load_state_dict(initial_model_file(pretrained, initial_model)), device
        )
        for initial_model in grid_initial_models(config)
    }


def _initial_model_digests(config: PruneConfig, pretrained: Path) -> dict[int, str]:
    """The sha256 of each initial model's weights: in the fingerprint of every cell pruned from
    it (``pretrained``: initial model 0's file)."""
    return {
        initial_model: sha256_file(initial_model_file(pretrained, initial_model))
        for initial_model in grid_initial_models(config)
    }


def _fingerprint_inputs(
    method: str, inputs: PruneInputs, data: Path, code: str, **extra: Any
) -> dict[str, Any]:
    """What every cell of the method depends on, besides the cell and its initial model."""
    return dict(
        method=method,
        prune=inputs.config.cell_inputs(),
        **extra,
        data=tree_digest([data]),
        code=code,
    )


def _prune_grid(
    out: Path,
    config: PruneConfig,
    fingerprint_of: Callable[[Cell], str],
    prune: Callable[[Cell], PrunedCell],
    *,
    described_as: str,
    description: str,
    device: torch.device,
    runner: Runner | None,
) -> int:
    prepare_outputs(out)

    def compute(cell: Cell, staging: Path) -> None:
        try:
            pruned = prune(cell)
        except PrunebenchError as error:
            raise PrunebenchError(f"{described_as}, cell {cell.name}: {error}") from None
        save_masks(staging / MASKS_FILE, pruned.masks, pruned.metadata.to_json())
        write_csv_rows(staging / LAYERS_FILE, pruned.layers)

    cells = _grid(config)
    return run_cells(
        CellStore(out), cells, fingerprint_of, compute, description, runner=runner, device=device
    )
