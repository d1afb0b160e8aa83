"""Accuracy and loss of a model over batches: what every result of the benchmark is judged by."""

import contextlib
import math
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.records import Accuracy
from prunebench.models.memory_format import channels_last

TOP_K = 5


def evaluate(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> Accuracy:
    """Top-1, top-5 accuracy and mean cross-entropy of ``model`` (already on ``device``).

    Runs in eval mode under ``torch.inference_mode``; the model's modes are restored after. Top-5
    becomes top-``num_classes`` for models with fewer than five classes (where it is trivially
    1.0). Counts accumulate on the device, so a GPU is not synchronised once per batch. A NaN or
    infinite loss raises :class:`PrunebenchError`: no result should be recorded from it.
    """
    correct_top1 = torch.zeros((), dtype=torch.int64, device=device)
    correct_top_k = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    samples = 0
    with eval_mode(model), channels_last(model), torch.inference_mode():
        for images, labels in batches:
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(images)
            loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
            correct_top1 += (logits.argmax(dim=1) == labels).sum()
            top_k = logits.topk(min(TOP_K, logits.shape[1]), dim=1).indices
            correct_top_k += (top_k == labels[:, None]).any(dim=1).sum()
            samples += labels.numel()
    if samples == 0:
        raise PrunebenchError("evaluate was given no samples")
    loss = loss_sum.item() / samples
    if not math.isfinite(loss):
        raise PrunebenchError(f"evaluation loss is {loss}: the model outputs NaN or inf")
    return Accuracy(
        top1=correct_top1.item() / samples, top5=correct_top_k.item() / samples, loss=loss
    )


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Run the body with ``model.eval()``, restoring each submodule's previous mode after.

    Restoring per submodule, not ``model.train(was_training)``, keeps deliberately frozen parts
    (batch norm left in eval during training, say) as they were.
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, training in modes.items():
            module.training = training
