"""A model's channel groups, from Torch-Pruning's dependency graph.

Torch-Pruning groups the parameter slices that must be pruned together with each output channel
of a conv or linear layer (``tracing``). Every (graph group, root channel) pair is one *unit*;
units become :class:`~prunebench.sparsity.channels.group.ChannelGroup` s, with one correction:
units connected through an option-A shortcut's channel map (``shortcut``) are merged into one
group. Stage-1 channel ``c``, stage-2 channel ``c + 8`` and stage-3 channel ``c + 24`` of
ResNet-20 are one residual path, and removing only the later ones would let the shortcut keep
feeding them in the masked model while the physically pruned model drops them.
"""

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.channels.group import (
    ChannelGroup,
    Slice,
    by_parameter,
    filter_weights,
    filters,
    removed_count,
)
from prunebench.sparsity.channels.shortcut import ChannelMapShortcut
from prunebench.sparsity.channels.tracing import Trace, trace
from prunebench.sparsity.channels.union_find import UnionFind

Unit = tuple[int, int]
"""(index of a Torch-Pruning group, root channel): the slices removed with one root channel."""
MapSide = dict[tuple[str, int], Unit]
"""(channel-map shortcut name, channel) -> the unit that removes it, on one side of the map."""


def channel_groups(model: nn.Module, input_shape: tuple[int, ...]) -> list[ChannelGroup]:
    """One :class:`ChannelGroup` per prunable output channel (coupled channels: one group).

    Prunable are the output channels of every conv and linear layer but the classifier; the
    classifier's outputs (the class logits) and the model's input channels are never removed.
    Traced on a deep copy in eval mode on the CPU with an all-ones input of ``input_shape``, so
    ``model`` is left untouched. Ordered by the module order of ``layer``, then by channel.
    """
    traced = trace(model, input_shape, torch.device("cpu"))
    union = UnionFind()
    unit_slices, map_inputs, map_outputs = _units(traced, union)
    _tie_through_shortcuts(traced, union, map_inputs, map_outputs)
    members: dict = {}
    for unit in unit_slices:
        root = union.find(unit)
        if root is not None:
            members.setdefault(root, []).append(unit)
    parameters = dict(model.named_parameters())
    order = {name: index for index, (name, _) in enumerate(model.named_modules())}
    weights = filter_weights(model)
    groups = [
        _make_group([s for unit in units for s in unit_slices[unit]], parameters, order, weights)
        for units in members.values()
    ]
    return sorted(groups, key=lambda group: (order[group.layer], group.channels))


def _units(traced: Trace, union: UnionFind) -> tuple[dict[Unit, list[Slice]], MapSide, MapSide]:
    """Every unit's parameter slices, and which units feed and read each channel-map shortcut.

    Returns ``(slices by unit, map inputs, map outputs)``; every unit is added to ``union``.
    """
    unit_slices: dict[Unit, list[Slice]] = {}
    map_inputs: MapSide = {}
    map_outputs: MapSide = {}
    for group_index, group in enumerate(traced.tp_groups):
        for item in group:
            module = item.dep.target.module
            name = traced.names.get(module) if isinstance(module, nn.Module) else None
            if name is None:
                continue  # an operation Torch-Pruning traced (add, ReLU, flatten): no parameters
            is_out = traced.graph.is_out_channel_pruning_fn(item.dep.handler)
            by_root: dict[int, list[int]] = {}
            for index, root_index in zip(item.idxs, item.root_idxs, strict=True):
                by_root.setdefault(root_index, []).append(index)
            for root_index, idxs in by_root.items():
                unit = (group_index, root_index)
                union.find(unit)
                if isinstance(module, ChannelMapShortcut):
                    side = map_outputs if is_out else map_inputs
                    side.update({(name, index): unit for index in idxs})
                    continue
                slices = _parameter_slices(module, name, is_out, idxs)
                unit_slices.setdefault(unit, []).extend(slices)
    return unit_slices, map_inputs, map_outputs


def _tie_through_shortcuts(
    traced: Trace, union: UnionFind, map_inputs: MapSide, map_outputs: MapSide
) -> None:
    """Merge each unit that removes a shortcut's output channel with the unit of its source.

    A source that is no unit (not prunable) makes the output channel unprunable too (``None``).
    """
    for name, module in traced.model.named_modules():
        if not isinstance(module, ChannelMapShortcut):
            continue
        for position, source in enumerate(module.sources):
            output_unit = map_outputs.get((name, position))
            if source < 0 or output_unit is None:
                continue  # removing the source alone only zeroes what the shortcut adds here
            # Removing this output channel needs its source gone too, or the shortcut keeps it.
            union.union(output_unit, map_inputs.get((name, source)))


def _parameter_slices(module: nn.Module, name: str, is_out: bool, idxs: list[int]) -> list[Slice]:
    """The parameter entries Torch-Pruning removes from ``module`` for channels ``idxs``."""
    prefix = f"{name}." if name else ""
    indices = tuple(sorted(set(idxs)))
    slices: list[Slice] = []
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups == module.in_channels == module.out_channels
        if module.groups != 1 and not depthwise:
            raise PrunebenchError(
                f"channel pruning supports plain and depthwise convolutions, not grouped conv "
                f"{name!r} (groups={module.groups})"
            )
        dim = 0 if (is_out or depthwise) else 1
        slices.append((f"{prefix}weight", dim, indices))
        if module.bias is not None and dim == 0:
            slices.append((f"{prefix}bias", 0, indices))
    elif isinstance(module, nn.Linear):
        slices.append((f"{prefix}weight", 0 if is_out else 1, indices))
        if module.bias is not None and is_out:
            slices.append((f"{prefix}bias", 0, indices))
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        if module.affine:
            slices += [(f"{prefix}weight", 0, indices), (f"{prefix}bias", 0, indices)]
    elif next(module.parameters(recurse=False), None) is not None:
        raise PrunebenchError(
            f"channel pruning does not know which parameters of {type(module).__name__} "
            f"{name!r} depend on a channel"
        )
    return slices


def _make_group(
    slices: list[Slice],
    parameters: dict[str, nn.Parameter],
    order: dict[str, int],
    weights: set[str],
) -> ChannelGroup:
    """A group from its slices: merged per (parameter, dim), its root layer, its size.

    ``order`` is the module order by name, ``weights`` the model's filter weights.
    """
    merged: dict[tuple[str, int], set[int]] = {}
    for name, dim, indices in slices:
        merged.setdefault((name, dim), set()).update(indices)
    parameter_order = {name: index for index, name in enumerate(parameters)}
    ordered = tuple(
        (name, dim, tuple(sorted(indices)))
        for (name, dim), indices in sorted(
            merged.items(), key=lambda entry: (parameter_order[entry[0][0]], entry[0][1])
        )
    )
    layers = [(name.rpartition(".")[0], indices) for name, indices in filters(ordered, weights)]
    layer, channels = min(layers, key=lambda entry: order[entry[0]])
    size = sum(
        removed_count(parameters[name].shape, pruned)
        for name, pruned in by_parameter(ordered).items()
    )
    return ChannelGroup(layer=layer, channels=channels, slices=ordered, size=size)
