"""Binary weight masks: which weights are prunable, applying masks, keeping them applied, files.

A mask set (:data:`MaskSet`) maps the state-dict name of a prunable weight (``"conv1.weight"``) to
a boolean tensor of the same shape: ``True`` keeps the weight, ``False`` prunes it.

How masks are enforced. Unlike ``torch.nn.utils.prune``, we do not re-parametrise modules as
``weight = weight_orig * weight_mask``. Pruned weights are set to exactly zero in place
(:func:`apply_masks`), so the model stays a plain module whose ``state_dict`` loads anywhere, and
training keeps them at zero (:func:`keep_pruned_zero`):

- a gradient hook on each masked weight zeroes the gradient of pruned entries, so optimizer
  state built from gradients (SGD momentum, Adam moments) stays exactly zero there, and gradient
  clipping sees only the gradients of kept weights;
- an optimizer step post-hook sets the pruned entries back to zero after every step, which covers
  whatever an optimizer adds besides the gradient (weight decay, or state built before masking).

With both, a pruned weight is exactly ``0.0`` after any number of steps of any optimizer, and
"folding" the masks into the model (:func:`fold_masks`) has nothing left to do but re-assert them.

Mask files are safetensors files of ``bool`` tensors plus one metadata entry, ``"prunebench"``,
holding a JSON object (strategy, target and achieved compression, seed, ...). One JSON string
rather than one safetensors metadata entry per field because safetensors writes its metadata map in
a random order, and a byte-identical file for identical masks is what lets DVC cache it.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_write_bytes
from prunebench.models import classifier_name

MaskSet = dict[str, torch.Tensor]
"""State-dict name of a prunable weight -> boolean tensor of its shape; ``True`` keeps."""

METADATA_KEY = "prunebench"
PRUNABLE_MODULES = (nn.Conv2d, nn.Linear)


def prunable_parameters(
    model: nn.Module, include_classifier: bool = False
) -> dict[str, nn.Parameter]:
    """The weights a strategy may prune, by state-dict name, in module registration order.

    The ``.weight`` of every ``nn.Conv2d`` and ``nn.Linear``, except the classifier (the module
    named by ``model.classifier_name``) unless ``include_classifier``: the paper's setup, since
    pruning the last layer removes whole class scores. Biases and batch-norm parameters are never
    prunable; they still count towards the model's size (see ``prunebench.measurement.cost``).
    """
    excluded = None if include_classifier else classifier_name(model)
    if excluded is not None and excluded not in dict(model.named_modules()):
        raise PrunebenchError(
            f"model {type(model).__name__} names classifier {excluded!r}, which is not a module"
        )
    return {
        f"{name}.weight" if name else "weight": module.weight
        for name, module in model.named_modules()
        if isinstance(module, PRUNABLE_MODULES) and module.weight is not None and name != excluded
    }


def validate_masks(masks: Mapping[str, torch.Tensor], model: nn.Module) -> None:
    """Raise :class:`PrunebenchError` naming the first (sorted) key that does not fit ``model``.

    Each key must name a parameter of ``model`` with a boolean tensor of its shape: a conv or
    linear weight (the classifier included, since a strategy may have been run with
    ``include_classifier``), or, for a channel mask, a bias or batch-norm scale or shift.
    """
    weights = dict(model.named_parameters())
    for name in sorted(masks):
        mask = masks[name]
        if name not in weights:
            raise PrunebenchError(f"mask {name!r} names no parameter of {type(model).__name__}")
        if tuple(mask.shape) != tuple(weights[name].shape):
            raise PrunebenchError(
                f"mask {name!r} has shape {tuple(mask.shape)}, "
                f"but the weight has shape {tuple(weights[name].shape)}"
            )
        if mask.dtype != torch.bool:
            raise PrunebenchError(f"mask {name!r} has dtype {mask.dtype}, expected torch.bool")


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Set every pruned weight of ``model`` to exactly zero, in place.

    ``masked_fill`` rather than a multiplication, so a pruned weight becomes ``0.0`` even if it
    held ``inf`` or ``NaN``.
    """
    validate_masks(masks, model)
    weights = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            weight = weights[name]
            weight.masked_fill_(~mask.to(weight.device), 0.0)


class PrunedZeroHandle:
    """The hooks installed by :func:`keep_pruned_zero`; ``remove()`` takes them all off."""

    def __init__(self, handles: list[torch.utils.hooks.RemovableHandle]) -> None:
        self._handles = handles

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def keep_pruned_zero(
    optimizer: torch.optim.Optimizer, model: nn.Module, masks: Mapping[str, torch.Tensor]
) -> PrunedZeroHandle:
    """Apply ``masks`` to ``model`` and keep its pruned weights exactly zero through training.

    Installs a gradient hook per masked weight (pruned gradients become zero, so momentum and
    Adam moments stay zero) and a step post-hook on ``optimizer`` (pruned weights are reset to
    zero after every step, undoing weight decay or anything else an optimizer adds). Call
    ``remove()`` on the returned handle when training ends.
    """
    apply_masks(model, masks)
    weights = dict(model.named_parameters())
    pruned = {name: ~mask.to(weights[name].device) for name, mask in masks.items()}
    handles = [
        weights[name].register_hook(_zero_pruned_gradient(is_pruned))
        for name, is_pruned in pruned.items()
    ]

    def reset_pruned_weights(*_: Any) -> None:
        with torch.no_grad():
            for name, is_pruned in pruned.items():
                weights[name].masked_fill_(is_pruned, 0.0)

    handles.append(optimizer.register_step_post_hook(reset_pruned_weights))
    return PrunedZeroHandle(handles)


def _zero_pruned_gradient(is_pruned: torch.Tensor):
    """A tensor hook returning the gradient with the entries of pruned weights set to zero."""

    def hook(gradient: torch.Tensor) -> torch.Tensor:
        return gradient.masked_fill(is_pruned, 0.0)

    return hook


def fold_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Return ``model`` as a plain module that computes with the masked weights.

    Masks here are zeros in the weights, not a re-parametrisation, so there is nothing to fold:
    this re-asserts the zeros (for instance after loading a checkpoint) and returns the model,
    whose ``state_dict`` holds exactly the masked weights. Optimizer hooks live on the handle of
    :func:`keep_pruned_zero`, not on the model.
    """
    apply_masks(model, masks)
    return model


def mask_compression(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> float:
    """Total parameters / parameters ``masks`` leave: kept weights and every uncovered parameter.

    Counts what the masks allow, whatever the current values: this is the "achieved compression"
    a strategy is held to. :func:`compression_ratio` of the masked model can only be higher (a
    parameter can be zero without being pruned, such as a freshly initialised batch-norm bias).
    """
    total = sum(parameter.numel() for parameter in model.parameters())
    pruned = sum(mask.numel() - int(torch.count_nonzero(mask)) for mask in masks.values())
    return total / (total - pruned)


def save_masks(path: str | os.PathLike, masks: Mapping[str, torch.Tensor], metadata: dict) -> None:
    """Write ``masks`` and JSON-serialisable ``metadata`` to a safetensors file, atomically.

    The file appears complete under ``path`` or not at all: it is written under a temporary name
    in the same directory and then renamed, so a stage that dies mid-write never leaves a file
    that DVC or a later stage would take as done.
    """
    # Clone: masks may be views of one buffer, and safetensors refuses tensors sharing memory.
    tensors = {name: mask.detach().to("cpu", torch.bool).clone() for name, mask in masks.items()}
    header = {METADATA_KEY: json.dumps(metadata, sort_keys=True)}
    atomic_write_bytes(Path(path), save(tensors, metadata=header))


def load_mask_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a mask file written by :func:`save_masks`, without reading its tensors."""
    path = Path(path)
    try:
        with safe_open(path, framework="pt") as file:
            header = file.metadata() or {}
    except (OSError, SafetensorError) as error:
        raise PrunebenchError(f"cannot read mask file {path}: {error}") from None
    try:
        return json.loads(header[METADATA_KEY])
    except (KeyError, json.JSONDecodeError):
        raise PrunebenchError(
            f"mask file {path} has no valid {METADATA_KEY!r} JSON metadata"
        ) from None


def load_masks(
    path: str | os.PathLike, model: nn.Module | None = None
) -> tuple[MaskSet, dict[str, Any]]:
    """Read a mask file written by :func:`save_masks`; return ``(masks, metadata)``.

    Every tensor must hold only zeros and ones (any dtype; returned as ``bool``). If ``model`` is
    given, every name must be a parameter of it with the same shape, and the masks
    are returned on its device. Any failure raises :class:`PrunebenchError` naming the file and
    the first bad key in sorted order.
    """
    path = Path(path)
    metadata = load_mask_metadata(path)
    try:
        with safe_open(path, framework="pt") as file:
            tensors = {name: file.get_tensor(name) for name in sorted(file.keys())}
    except (OSError, SafetensorError) as error:
        raise PrunebenchError(f"cannot read mask file {path}: {error}") from None
    masks: MaskSet = {}
    for name, tensor in tensors.items():
        if tensor.dtype != torch.bool and not ((tensor == 0) | (tensor == 1)).all():
            raise PrunebenchError(f"mask file {path}: mask {name!r} holds values other than 0, 1")
        masks[name] = tensor.to(torch.bool)
    if model is not None:
        try:
            validate_masks(masks, model)
        except PrunebenchError as error:
            raise PrunebenchError(f"mask file {path}: {error}") from None
        device = next(model.parameters()).device
        masks = {name: mask.to(device) for name, mask in masks.items()}
    return masks, metadata
