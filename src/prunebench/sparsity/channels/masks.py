"""The masks of a set of pruned channel groups, and back.

Unlike ``prunebench.sparsity.masks`` (conv and linear weights only), a channel mask set also
covers the biases and batch-norm scales and shifts the groups remove.
"""

from collections.abc import Collection, Mapping, Sequence

import torch
from torch import nn

from prunebench.sparsity.channels.group import (
    ChannelGroup,
    by_parameter,
    check_groups,
    check_pruned,
    entries,
)


def group_masks(
    model: nn.Module, groups: Sequence[ChannelGroup], pruned: Collection[int]
) -> dict[str, torch.Tensor]:
    """Boolean masks (``True`` keeps) of every parameter any group touches, on its device.

    Conv and linear weights, biases and batch-norm scales and shifts; the slices of the groups
    whose indices are in ``pruned`` are ``False``. Parameters no group touches are absent, so a
    mask set here is not ``prunebench.sparsity.masks``' (which covers conv and linear weights only).
    """
    parameters = check_groups(model, groups)
    touched = {name for group in groups for name, _, _ in group.slices}
    chosen = [groups[index] for index in check_pruned(groups, pruned)]
    removed = by_parameter([s for group in chosen for s in group.slices])
    masks = {}
    for name, parameter in parameters.items():
        if name not in touched:
            continue
        # An entry is kept if its index is kept along every dimension: one broadcast AND per
        # pruned dimension, where a fill per slice costs seconds on a large model.
        mask = torch.ones_like(parameter, dtype=torch.bool)
        for dim, indices in removed.get(name, {}).items():
            kept = torch.ones(parameter.shape[dim], dtype=torch.bool, device=parameter.device)
            kept[sorted(indices)] = False
            mask &= kept.view([-1 if d == dim else 1 for d in range(parameter.dim())])
        masks[name] = mask
    return masks


def pruned_groups(groups: Sequence[ChannelGroup], masks: Mapping[str, torch.Tensor]) -> list[int]:
    """Indices of the ``groups`` that ``masks`` (from :func:`group_masks`) remove entirely.

    The inverse of :func:`group_masks`: with it, a channel mask file is enough to build the
    physically smaller model (``physical.physically_pruned``).
    """
    removed = []
    for index, group in enumerate(groups):
        if all(
            name in masks and not bool(entries(masks[name], dim, indices).any())
            for name, dim, indices in group.slices
        ):
            removed.append(index)
    return removed
