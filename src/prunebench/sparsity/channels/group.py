"""A channel group, the unit of channel pruning, and the parameter entries it removes.

What a group removes is a list of slices, ``(parameter name, dimension, indices)``: a filter is a
dim-0 slice of a conv or linear weight, an input slice a dim-1 slice of the layer that reads the
channel, and batch-norm scales, shifts and biases are dim-0 slices of their vectors. The helpers
here read slices (which filters, how many entries, whether they fit a model) for the masks, the
physical model, and the strategies that score and select groups.
"""

import math
import numbers
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError

Slice = tuple[str, int, tuple[int, ...]]
"""(parameter state-dict name, dimension, indices along it) of removed parameter entries."""

PRUNABLE_ROOTS = (nn.Conv2d, nn.Linear)
"""The modules whose output channels are pruned; their dim-0 weight slices are filters."""


@dataclass(frozen=True)
class ChannelGroup:
    """One removable unit: coupled channels that must go together.

    ``layer`` is the earliest (in module order) conv or linear module whose output channels the
    group removes and ``channels`` are its removed output channels; a group tied by residual
    additions removes output channels of other layers too, all listed in ``slices``. ``size`` is
    the number of parameter entries the group removes on its own. Two groups can share entries
    (a filter of one and the input slice of the other meet in ``weight[c, k]``), so the sizes of
    several groups overlap; a selection of groups counts their union (:func:`removed_count`).
    """

    layer: str
    channels: tuple[int, ...]
    slices: tuple[Slice, ...]
    size: int


def filter_weights(model: nn.Module) -> set[str]:
    """Names of the conv and linear weights: a dim-0 slice of one removes a filter."""
    return {
        f"{name}.weight" if name else "weight"
        for name, module in model.named_modules()
        if isinstance(module, PRUNABLE_ROOTS)
    }


def filters(slices: Sequence[Slice], weights: set[str]) -> list[tuple[str, tuple[int, ...]]]:
    """(weight name, output channels) of the conv and linear filters among ``slices``.

    ``weights`` are the model's :func:`filter_weights`.
    """
    return [(name, indices) for name, dim, indices in slices if dim == 0 and name in weights]


def by_parameter(slices: Sequence[Slice]) -> dict[str, dict[int, set[int]]]:
    """Slices as parameter name -> dimension -> removed indices."""
    result: dict[str, dict[int, set[int]]] = {}
    for name, dim, indices in slices:
        result.setdefault(name, {}).setdefault(dim, set()).update(indices)
    return result


def removed_count(shape: Sequence[int], pruned: dict[int, set[int]]) -> int:
    """Entries of a tensor of ``shape`` in any removed slice: all but those kept in every dim.

    ``pruned`` maps a dimension to its removed indices (one parameter of :func:`by_parameter`).
    """
    kept = 1
    for dim, length in enumerate(shape):
        kept *= length - len(pruned.get(dim, ()))
    return math.prod(shape) - kept


def entries(tensor: torch.Tensor, dim: int, indices: tuple[int, ...]) -> torch.Tensor:
    """The entries ``indices`` of ``tensor`` along ``dim``."""
    index = torch.tensor(indices, dtype=torch.long, device=tensor.device)
    return tensor.index_select(dim, index)


def check_groups(model: nn.Module, groups: Sequence[ChannelGroup]) -> dict[str, nn.Parameter]:
    """The model's parameters by name, after checking that every slice fits one of them."""
    parameters = dict(model.named_parameters())
    for group in groups:
        for name, dim, indices in group.slices:
            parameter = parameters.get(name)
            if parameter is None or dim >= parameter.dim() or max(indices) >= parameter.shape[dim]:
                raise PrunebenchError(
                    f"channel group of {group.layer!r} does not fit {type(model).__name__} "
                    f"(slice {name!r} dim {dim}); compute the groups for this model"
                )
    return parameters


def check_pruned(groups: Sequence[ChannelGroup], pruned: Collection[int]) -> list[int]:
    """``pruned`` as sorted distinct group indices, each valid."""
    for index in pruned:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise PrunebenchError(f"pruned groups must be integer indices, got {index!r}")
        if not 0 <= index < len(groups):
            raise PrunebenchError(f"pruned group {index} is not in 0..{len(groups) - 1}")
    return sorted({int(index) for index in pruned})
