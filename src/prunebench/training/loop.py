"""Training with masks: the finetuning loop after pruning and the pretraining of our own models.

Both use the same loop so that the control and every pruned model see the same code path: seeded
data order, optimizer from a :class:`~prunebench.training.recipe.Recipe`, early stopping on
validation top-1 with the best epoch's weights restored. Pruned weights are kept exactly zero by
:mod:`prunebench.sparsity.masks`.
"""

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.seeding import seed_everything
from prunebench.measurement.accuracy import evaluate
from prunebench.models.memory_format import channels_last
from prunebench.sparsity.masks import MaskSet, keep_pruned_zero
from prunebench.training.recipe import LearningRateSchedule, Recipe


@dataclass
class TrainingResult:
    """What a run returns: per-epoch curves, where the best validation top-1 was, and the
    optimizer steps taken (the training budget used, early stopping included)."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_top1: float = -1.0
    steps: int = 0

    @property
    def epochs_run(self) -> int:
        return len(self.history)


def train(
    model: nn.Module,
    dataset,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    masks: MaskSet | None = None,
    mask_schedule: Callable[[int], MaskSet | None] | None = None,
    settle_step: int = 0,
    on_epoch: Callable[[dict], None] | None = None,
    description: str = "train",
) -> TrainingResult:
    """Train ``model`` in place on ``dataset``'s train split; return the curves.

    The model ends holding the weights of the epoch with the best validation top-1 (ties keep
    the earlier epoch). ``on_epoch`` receives each epoch's row (for dvclive). A non-finite loss
    raises :class:`PrunebenchError` naming the epoch and the first such step; it is found when the
    epoch's losses are read back, at the end of the epoch, so that no step waits for the device.

    ``mask_schedule`` (gradual pruning) is called after every optimizer step with the number of
    steps taken; new masks it returns replace ``masks`` from the next step on, pruned weights
    held at zero as always. Only epochs ending at or after ``settle_step`` steps (where the
    schedule reached its final masks) count for the best epoch and for early stopping; if none
    does, the model ends with its last weights.
    """
    from tqdm.auto import tqdm

    data_order = seed_everything(seed)
    model.to(device)
    # Layout only: see prunebench.models.memory_format for why training runs channels-last.
    with channels_last(model):
        optimizer = recipe.make_optimizer(model.parameters())
        # Cosine annealing is for pretraining from scratch; the paper's finetuning is a fixed rate.
        scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
            if recipe.schedule is LearningRateSchedule.COSINE
            else None
        )
        keeper = _MaskKeeper(optimizer, model, masks)
        result = TrainingResult()

        def after_step() -> None:
            result.steps += 1
            if mask_schedule is not None:
                keeper.replace(mask_schedule(result.steps))

        best_state = copy.deepcopy(model.state_dict())
        epochs_since_best = 0
        progress = tqdm(range(1, recipe.epochs + 1), desc=description, unit="epoch", leave=False)
        try:
            for epoch in progress:
                batches = dataset.batches(
                    "train",
                    batch_size=recipe.batch_size,
                    shuffle=True,
                    generator=data_order,
                    device=device,
                    augment=True,
                )
                train_loss, train_top1 = _train_epoch(
                    model,
                    islice(batches, recipe.steps_per_epoch),
                    optimizer,
                    after_step,
                    description=description,
                    epoch=epoch,
                )
                if scheduler is not None:
                    scheduler.step()
                validation = evaluate(
                    model,
                    dataset.batches("validation", batch_size=1000, shuffle=False, device=device),
                    device,
                )
                row = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_top1": train_top1,
                    "validation_loss": validation.loss,
                    "validation_top1": validation.top1,
                    "validation_top5": validation.top5,
                }
                result.history.append(row)
                if on_epoch is not None:
                    on_epoch(row)
                if result.steps < settle_step:
                    best_state = copy.deepcopy(model.state_dict())  # the latest, until settled
                elif validation.top1 > result.best_validation_top1:
                    result.best_validation_top1 = validation.top1
                    result.best_epoch = epoch
                    best_state = copy.deepcopy(model.state_dict())
                    epochs_since_best = 0
                else:
                    epochs_since_best += 1
                progress.set_postfix(val_top1=f"{validation.top1:.4f}", best=result.best_epoch)
                if epochs_since_best >= recipe.patience:
                    break
        finally:
            progress.close()
            keeper.remove()
        model.load_state_dict(best_state)
    return result


def _train_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    after_step: Callable[[], None],
    *,
    description: str,
    epoch: int,
) -> tuple[float, float]:
    """One pass of ``optimizer`` steps over ``batches``; the mean train loss and top-1.

    Nothing is read back from the device during the epoch, so a GPU step never waits for the
    host: each step's loss stays a device tensor and the correct count accumulates there. They are
    read back once, at the end, where the losses are checked for finiteness (the error names the
    first non-finite step) and summed as ``loss * batch size`` in float64, step by step in order:
    the same operations, and so the same value, as reading each loss back at its step.
    """
    model.train()
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    correct = None
    try:
        for images, labels in batches:
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            losses.append(loss.detach())
            sizes.append(labels.numel())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            after_step()
            batch_correct = (logits.detach().argmax(dim=1) == labels).sum()
            correct = batch_correct if correct is None else correct + batch_correct
    except Exception as error:
        # A non-finite loss turns the weights into NaN, which can make later code of the epoch
        # fail (a mask schedule scoring the weights, say): the loss is then the error to report.
        try:
            _loss_sum(losses, sizes, description=description, epoch=epoch)
        except PrunebenchError as loss_error:
            raise loss_error from error
        raise
    if not sizes:
        raise PrunebenchError(f"{description}: the train split gave no batches")
    seen = sum(sizes)
    loss_sum = _loss_sum(losses, sizes, description=description, epoch=epoch)
    return loss_sum / seen, correct.item() / seen


def _loss_sum(
    losses: list[torch.Tensor], sizes: list[int], *, description: str, epoch: int
) -> float:
    """Sum of ``loss * size`` over an epoch's steps, as a float64 accumulated in step order.

    Raises :class:`PrunebenchError` naming the first step whose loss is NaN or infinite. One
    read-back for the whole epoch: the float32 losses become Python floats exactly, as ``item``
    would have made them one by one.
    """
    values = torch.stack(losses).tolist() if losses else []
    total = 0.0
    for step, (value, size) in enumerate(zip(values, sizes, strict=True)):
        if not math.isfinite(value):
            raise PrunebenchError(
                f"{description}: loss became {value} at epoch {epoch}, step {step}; "
                "lower the learning rate"
            )
        total += value * size
    return total


class _MaskKeeper:
    """The masks in force during training and the hooks that keep their pruned weights zero."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, model: nn.Module, masks: MaskSet | None
    ) -> None:
        self.optimizer, self.model, self.handle = optimizer, model, None
        self.replace(masks)

    def replace(self, masks: MaskSet | None) -> None:
        if masks is None:
            return
        self.remove()
        self.handle = keep_pruned_zero(self.optimizer, self.model, masks)

    def remove(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


def pretrain(
    model_name: str,
    dataset,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[nn.Module, TrainingResult]:
    """Train ``model_name`` from a seeded initialisation: our own pretrained model.

    The seed fixes the initial weights as well as the data order, so the pretrained model, and
    with it the control and every cell, is the same on every run.
    """
    from prunebench.models import create_model

    seed_everything(seed)
    model = create_model(model_name, dataset.info.num_classes)
    result = train(
        model,
        dataset,
        recipe,
        seed=seed,
        device=device,
        on_epoch=on_epoch,
        description=f"pretrain {model_name}",
    )
    return model, result
