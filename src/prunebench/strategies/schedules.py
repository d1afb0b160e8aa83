"""Pruning while finetuning: the iterative and gradual schedules.

A scheduled strategy's cell starts from the first masks the prune step wrote
(:meth:`Strategy.first_masks`); the finetune step hands it here, and its final masks are what
the finetune step writes beside the checkpoint and what evaluate measures.

- ``"iterative"`` (``imp``): ``rounds`` rounds. Round ``r`` prunes to ``target ** (r / rounds)``
  (the same compression factor each round; round 1 is the prune step's mask) with the strategy's
  score and allocation on the weights as trained so far, the weights pruned before staying pruned,
  then runs the benchmark's finetuning recipe in full (early stopping included). The budget is
  the sum over rounds.
- ``"gradual"`` (``gmp``): one run of the recipe during which the sparsity of the prunable weights
  follows Zhu & Gupta's cubic schedule, ``s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (t_1 - t_0))^3``
  for the mask updates at ``t = t_0, t_0 + frequency, ...`` and at ``t_1``, then held. Only
  epochs at the final sparsity count for early stopping and the best epoch.

Both end with exactly the target's number of kept weights (``allocation.keep_count``), so the
achieved compression is the target's to within one weight, as for a one-shot strategy.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import PruningSchedule
from prunebench.sparsity.masks import MaskSet, prunable_parameters
from prunebench.strategies import find_strategy
from prunebench.strategies.allocation import keep_count
from prunebench.strategies.options import GradualOptions
from prunebench.strategies.strategy import Strategy
from prunebench.training.loop import Recipe, TrainingResult, train


def cubic_keep_counts(
    prunable_total: int,
    initial_keep: int,
    final_keep: int,
    planned_steps: int,
    options: GradualOptions,
) -> dict[int, int]:
    """``{optimizer steps taken: prunable weights kept from then on}`` of the cubic schedule.

    Updates at ``t_0 = round(start * planned_steps)``, every ``frequency`` steps after, and at
    ``t_1 = round(end * planned_steps)`` (at least 1), where the count is ``final_keep`` exactly.
    Counts never increase. An update at step 0 is the first mask itself and is left out.
    """
    if initial_keep < final_keep:
        raise PrunebenchError(
            f"initial_sparsity {options.initial_sparsity:g} already prunes more than the target "
            "does; lower it"
        )
    start_step = round(options.start * planned_steps)
    # At least one step, or an update at step 0 (the first mask itself) would be all there is.
    end_step = max(round(options.end * planned_steps), start_step, 1)
    initial_sparsity = 1 - initial_keep / prunable_total
    final_sparsity = 1 - final_keep / prunable_total
    points = list(range(start_step, end_step, options.frequency)) + [end_step]
    counts, previous = {}, initial_keep
    for step in points:
        progress = 1.0 if end_step == start_step else (step - start_step) / (end_step - start_step)
        sparsity = final_sparsity + (initial_sparsity - final_sparsity) * (1 - progress) ** 3
        count = prunable_total - round(prunable_total * sparsity)
        previous = min(max(count, final_keep), previous)
        counts[step] = previous
    counts[end_step] = final_keep
    counts.pop(0, None)
    return counts


@dataclass(frozen=True)
class _ScheduledCell:
    """What a schedule reads of the cell it finetunes, besides its current masks."""

    strategy: Strategy
    options: Any
    target: float
    model: nn.Module
    include_classifier: bool
    prunable: dict[str, nn.Parameter]
    dataset: Any
    recipe: Recipe
    seed: int
    device: torch.device
    on_epoch: Callable[[dict], None] | None
    description: str

    def tightened(self, masks: MaskSet, count: int) -> MaskSet:
        """The strategy's masks keeping ``count`` weights, none that ``masks`` pruned."""
        return self.strategy.masks(
            self.model,
            keep=count,
            current=masks,
            seed=self.seed,
            options=self.options,
            input_shape=tuple(self.dataset.info.input_shape),
            include_classifier=self.include_classifier,
        )


def run_schedule(
    method: str,
    model: nn.Module,
    masks: MaskSet,
    dataset,
    recipe: Recipe,
    *,
    target: float,
    options: Mapping[str, Any] | None,
    include_classifier: bool,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[dict], None] | None = None,
    description: str = "finetune",
) -> tuple[MaskSet, TrainingResult, int]:
    """Finetune ``model`` from its first ``masks`` by the schedule of strategy ``method``.

    Args:
        method: the cell's strategy (a registry name or ``package.module:attribute``).
        model: the initial model; trained in place.
        masks: the first masks (what the prune stage wrote).
        dataset: the materialised dataset.
        recipe: the finetuning recipe, run once per round (iterative) or once (gradual).
        target: the cell's target compression.
        options: the strategy's hyperparameters as the prune stage recorded them.
        include_classifier: whether the classifier layer is prunable.

    Returns the final masks, the training result (history rows tagged with their round; epochs
    and steps summed over rounds) and the number of rounds the recipe ran.
    """
    strategy = find_strategy(method)
    cell = _ScheduledCell(
        strategy=strategy,
        options=strategy.parse_options(options),
        target=target,
        model=model,
        include_classifier=include_classifier,
        prunable=prunable_parameters(model, include_classifier=include_classifier),
        dataset=dataset,
        recipe=recipe,
        seed=seed,
        device=device,
        on_epoch=on_epoch,
        description=description,
    )
    if strategy.pruning_schedule == PruningSchedule.GRADUAL:
        return _gradual(cell, masks)
    return _iterative(cell, masks)


def _iterative(cell: _ScheduledCell, masks: MaskSet) -> tuple[MaskSet, TrainingResult, int]:
    """Round ``r`` of ``rounds`` prunes to ``target ** (r / rounds)``, then runs the recipe."""
    rounds = cell.strategy.training_rounds(cell.options)
    combined = TrainingResult()
    for round_index in range(1, rounds + 1):
        if round_index > 1:
            compression = cell.target ** (round_index / rounds)
            masks = cell.tightened(masks, keep_count(cell.model, cell.prunable, compression))
        result = train(
            cell.model,
            cell.dataset,
            cell.recipe,
            seed=cell.seed,
            device=cell.device,
            masks=masks,
            on_epoch=_tagged(cell.on_epoch, round_index),
            description=f"{cell.description} round {round_index}/{rounds}",
        )
        combined.history += [{**row, "round": round_index} for row in result.history]
        combined.steps += result.steps
        # The final model is the last round's best epoch: its index in the whole history.
        combined.best_epoch = len(combined.history) - len(result.history) + result.best_epoch
        combined.best_validation_top1 = result.best_validation_top1
    return masks, combined, rounds


def _gradual(cell: _ScheduledCell, masks: MaskSet) -> tuple[MaskSet, TrainingResult, int]:
    """One run of the recipe, the masks tightened on the cubic schedule (one round)."""
    prunable = cell.prunable
    total = sum(weight.numel() for weight in prunable.values())
    initial = sum(
        int(masks[name].sum()) if name in masks else prunable[name].numel() for name in prunable
    )
    planned = cell.recipe.epochs * cell.recipe.steps_per_epoch_on(len(cell.dataset.split("train")))
    final = keep_count(cell.model, prunable, cell.target)
    updates = cubic_keep_counts(total, initial, final, planned, cell.options)
    current = {"masks": masks}

    def update(steps_taken: int) -> MaskSet | None:
        count = updates.get(steps_taken)
        if count is None:
            return None
        current["masks"] = cell.tightened(current["masks"], count)
        return current["masks"]

    result = train(
        cell.model,
        cell.dataset,
        cell.recipe,
        seed=cell.seed,
        device=cell.device,
        masks=masks,
        mask_schedule=update,
        settle_step=max(updates, default=0),
        on_epoch=cell.on_epoch,
        description=cell.description,
    )
    if updates and max(updates) > result.steps:
        # Unreachable with end <= 1 of the planned steps; guarded because it would be silent.
        raise AssertionError("the gradual schedule ended before its last mask update")
    return current["masks"], result, 1


def _tagged(
    on_epoch: Callable[[dict], None] | None, round_index: int
) -> Callable[[dict], None] | None:
    if on_epoch is None:
        return None
    return lambda row: on_epoch({**row, "round": round_index})
