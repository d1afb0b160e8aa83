"""Channel structure: whole output channels, with every parameter that depends on them.

A channel strategy removes whole output channels. A removed channel takes with it its filter (the
conv weight slice ``[c, :, :, :]`` or the linear row ``[c, :]``, and the bias entry), its batch-norm
scale and shift, and the input slices of every layer that reads it: the next conv's
``weight[:, c]``, or, after a flatten, the linear layer's input columns of that channel (16 of them
for LeNet-5's ``conv2 -> fc1``), the classifier included. Channels tied by a residual addition must
go together: pruning one branch of a sum alone would leave the channel alive through the other.

Which channels are tied comes from Torch-Pruning's dependency graph (``tp.DependencyGraph``),
traced on a copy of the model, never from rules written per architecture. One exception is made
for the option-A shortcut of the CIFAR ResNets (``prunebench.models.cifar_resnet.PadShortcut``):
it zero-pads the channel dimension, which Torch-Pruning takes for an element-wise operation and so
ties channel ``c`` of one stage to channel ``c`` of the next, where the shortcut actually carries it
to channel ``c + pad``. The traced copy replaces every such shortcut by
:class:`ChannelMapShortcut`, the same computation written as an explicit map from input to output
channels, which Torch-Pruning prunes on each side separately (a registered custom pruner). Channels
connected through that map are then merged into one group: stage-1 channel ``c``, stage-2 channel
``c + 8`` and stage-3 channel ``c + 24`` of ResNet-20 are one residual path, and removing only the
later ones would let the shortcut keep feeding them in the masked model while the physically
pruned model drops them.

The unit of pruning is a :class:`ChannelGroup`. Entry points, in the order a strategy uses them:
:func:`channel_groups`, :func:`channel_scores`, :func:`select_groups`, :func:`group_masks` (masks
over weights, biases and batch-norm parameters) and :func:`physically_pruned` (the smaller model
that speed is measured on).
"""

import copy
import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn
from torch_pruning.pruner.function import BasePruningFunc

from prunebench.foundations.errors import PrunebenchError
from prunebench.models import classifier_name
from prunebench.models.cifar_resnet import PadShortcut

Slice = tuple[str, int, tuple[int, ...]]
"""(parameter state-dict name, dimension, indices along it) of removed parameter entries."""

SCORE_KINDS = ("l1", "l1_normalised", "bn", "random")
PRUNABLE_ROOTS = (nn.Conv2d, nn.Linear)


@dataclass(frozen=True)
class ChannelGroup:
    """One removable unit: coupled channels that must go together.

    ``layer`` is the earliest (in module order) conv or linear module whose output channels the
    group removes and ``channels`` are its removed output channels; a group tied by residual
    additions removes output channels of other layers too, all listed in ``slices``. ``size`` is
    the number of parameter entries the group removes on its own. Two groups can share entries
    (a filter of one and the input slice of the other meet in ``weight[c, k]``), so the sizes of
    several groups overlap; :func:`select_groups` counts their union.
    """

    layer: str
    channels: tuple[int, ...]
    slices: tuple[Slice, ...]
    size: int


class ChannelMapShortcut(nn.Module):
    """The option-A shortcut with its channel padding written as an explicit map.

    Subsamples every second pixel, then output channel ``j`` is input channel ``sources[j]``, or
    zero where ``sources[j]`` is -1. With ``sources = [-1] * pad + [0 .. in - 1] + [-1] * pad``
    this is exactly :class:`~prunebench.models.cifar_resnet.PadShortcut`; unlike the padding, the
    map can lose input and output channels independently, which is what physical pruning needs.
    """

    def __init__(self, sources: Sequence[int], in_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("positions", torch.empty(0, dtype=torch.long), persistent=False)
        self.register_buffer("picked", torch.empty(0, dtype=torch.long), persistent=False)
        self.set_sources(sources)

    def set_sources(self, sources: Sequence[int]) -> None:
        """Set the map; buffers (not state-dict entries) so it follows the model's device."""
        self.sources = [int(source) for source in sources]
        mapped = [(position, s) for position, s in enumerate(self.sources) if s >= 0]
        device = self.positions.device
        self.positions = torch.tensor([p for p, _ in mapped], dtype=torch.long, device=device)
        self.picked = torch.tensor([s for _, s in mapped], dtype=torch.long, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::2, ::2]
        out = x.new_zeros(x.shape[0], len(self.sources), *x.shape[2:])
        return out.index_copy(1, self.positions, x.index_select(1, self.picked))

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={len(self.sources)}"


class _ChannelMapPruner(BasePruningFunc):
    """Torch-Pruning's handler for :class:`ChannelMapShortcut`.

    Pruning the input and the output are different functions, which tells Torch-Pruning that the
    two sides are not coupled (as they are for batch norm), so the graph stops at the shortcut and
    :func:`channel_groups` links the two sides itself through ``sources``.
    """

    TARGET_MODULES = (ChannelMapShortcut,)

    def prune_out_channels(self, layer: nn.Module, idxs: Sequence[int]) -> nn.Module:
        removed = set(idxs)
        layer.set_sources([s for j, s in enumerate(layer.sources) if j not in removed])
        return layer

    def prune_in_channels(self, layer: nn.Module, idxs: Sequence[int]) -> nn.Module:
        removed = sorted(set(idxs))
        renumbered = []
        for source in layer.sources:
            if source < 0 or source in removed:
                renumbered.append(-1)
            else:
                renumbered.append(source - sum(1 for index in removed if index < source))
        layer.in_channels -= len(removed)
        layer.set_sources(renumbered)
        return layer

    def get_out_channels(self, layer: nn.Module) -> int:
        return len(layer.sources)

    def get_in_channels(self, layer: nn.Module) -> int:
        return layer.in_channels


@dataclass
class _Trace:
    """A traced copy of a model: its dependency graph and Torch-Pruning's full-index groups."""

    model: nn.Module
    graph: tp.DependencyGraph
    tp_groups: list
    names: dict[nn.Module, str]


def _trace(model: nn.Module, input_shape: Sequence[int], device: torch.device) -> _Trace:
    """Deep-copy ``model`` in eval mode on ``device``, map its shortcuts, build the graph."""
    copied = copy.deepcopy(model).to(device).eval()
    example = torch.ones(1, *input_shape, device=device)
    _replace_pad_shortcuts(copied, example)
    with torch.enable_grad():
        graph = tp.DependencyGraph().build_dependency(
            copied,
            example_inputs=example,
            customized_pruners={ChannelMapShortcut: _ChannelMapPruner()},
            verbose=False,
        )
    classifier = copied.get_submodule(classifier_name(copied))
    tp_groups = list(
        graph.get_all_groups(ignored_layers=[classifier], root_module_types=PRUNABLE_ROOTS)
    )
    names = {module: name for name, module in copied.named_modules()}
    return _Trace(copied, graph, tp_groups, names)


def _replace_pad_shortcuts(model: nn.Module, example: torch.Tensor) -> None:
    """Swap every ``PadShortcut`` for the equivalent :class:`ChannelMapShortcut`, in place.

    The shortcut does not store its input width, so one forward pass records it.
    """
    shortcuts = {name: m for name, m in model.named_modules() if isinstance(m, PadShortcut)}
    if not shortcuts:
        return
    in_channels: dict[str, int] = {}

    def recorder(name: str):
        def hook(_: nn.Module, args: tuple) -> None:
            in_channels[name] = args[0].shape[1]

        return hook

    handles = [m.register_forward_pre_hook(recorder(n)) for n, m in shortcuts.items()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    for name, shortcut in shortcuts.items():
        width, pad = in_channels[name], shortcut.extra_channels
        sources = [-1] * pad + list(range(width)) + [-1] * pad
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, ChannelMapShortcut(sources, width))


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


class _UnionFind:
    """Disjoint sets of hashable keys; ``None`` is the set of units that must not be pruned."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, first, second) -> None:
        first, second = self.find(first), self.find(second)
        if first != second:
            # The unprunable set (None) always stays the representative of its set.
            if second is None:
                first, second = second, first
            self.parent[second] = first


def channel_groups(model: nn.Module, input_shape: tuple[int, ...]) -> list[ChannelGroup]:
    """One :class:`ChannelGroup` per prunable output channel (coupled channels: one group).

    Prunable are the output channels of every conv and linear layer but the classifier; the
    classifier's outputs (the class logits) and the model's input channels are never removed.
    Traced on a deep copy in eval mode on the CPU with an all-ones input of ``input_shape``, so
    ``model`` is left untouched. Ordered by the module order of ``layer``, then by channel.
    """
    trace = _trace(model, input_shape, torch.device("cpu"))
    union = _UnionFind()
    unit_slices: dict[tuple[int, int], list[Slice]] = {}
    map_inputs: dict[tuple[str, int], tuple[int, int]] = {}
    map_outputs: dict[tuple[str, int], tuple[int, int]] = {}
    for group_index, group in enumerate(trace.tp_groups):
        for item in group:
            module = item.dep.target.module
            name = trace.names.get(module) if isinstance(module, nn.Module) else None
            if name is None:
                continue  # an operation Torch-Pruning traced (add, ReLU, flatten): no parameters
            is_out = trace.graph.is_out_channel_pruning_fn(item.dep.handler)
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
    for name, module in trace.model.named_modules():
        if not isinstance(module, ChannelMapShortcut):
            continue
        for position, source in enumerate(module.sources):
            output_unit = map_outputs.get((name, position))
            if source < 0 or output_unit is None:
                continue  # removing the source alone only zeroes what the shortcut adds here
            # Removing this output channel needs its source gone too, or the shortcut keeps it.
            union.union(output_unit, map_inputs.get((name, source)))
    members: dict = {}
    for unit in unit_slices:
        root = union.find(unit)
        if root is not None:
            members.setdefault(root, []).append(unit)
    parameters = dict(model.named_parameters())
    order = {name: index for index, (name, _) in enumerate(model.named_modules())}
    filter_weights = _filter_weights(model)
    groups = [
        _make_group(
            [s for unit in units for s in unit_slices[unit]], parameters, order, filter_weights
        )
        for units in members.values()
    ]
    return sorted(groups, key=lambda group: (order[group.layer], group.channels))


def _make_group(
    slices: list[Slice],
    parameters: dict[str, nn.Parameter],
    order: dict[str, int],
    filter_weights: set[str],
) -> ChannelGroup:
    """A group from its slices: merged per (parameter, dim), its root layer, its size."""
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
    filters = [
        (name.rpartition(".")[0], indices) for name, indices in _filters(ordered, filter_weights)
    ]
    layer, channels = min(filters, key=lambda entry: order[entry[0]])
    size = sum(
        _removed_count(parameters[name].shape, pruned)
        for name, pruned in _by_parameter(ordered).items()
    )
    return ChannelGroup(layer=layer, channels=channels, slices=ordered, size=size)


def _filter_weights(model: nn.Module) -> set[str]:
    """Names of the conv and linear weights: a dim-0 slice of one removes a filter."""
    return {
        f"{name}.weight" if name else "weight"
        for name, module in model.named_modules()
        if isinstance(module, PRUNABLE_ROOTS)
    }


def _filters(
    slices: Sequence[Slice], filter_weights: set[str]
) -> list[tuple[str, tuple[int, ...]]]:
    """(weight name, output channels) of the conv and linear filters among ``slices``."""
    return [(name, indices) for name, dim, indices in slices if dim == 0 and name in filter_weights]


def _by_parameter(slices: Sequence[Slice]) -> dict[str, dict[int, set[int]]]:
    """Slices as parameter name -> dimension -> removed indices."""
    result: dict[str, dict[int, set[int]]] = {}
    for name, dim, indices in slices:
        result.setdefault(name, {}).setdefault(dim, set()).update(indices)
    return result


def _removed_count(shape: Sequence[int], pruned: dict[int, set[int]]) -> int:
    """Entries of a tensor of ``shape`` in any removed slice: all but those kept in every dim."""
    kept = 1
    for dim, length in enumerate(shape):
        kept *= length - len(pruned.get(dim, ()))
    return math.prod(shape) - kept


def _check_groups(model: nn.Module, groups: Sequence[ChannelGroup]) -> dict[str, nn.Parameter]:
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


def _check_pruned(groups: Sequence[ChannelGroup], pruned: Collection[int]) -> list[int]:
    """``pruned`` as sorted distinct group indices, each valid."""
    for index in pruned:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise PrunebenchError(f"pruned groups must be integer indices, got {index!r}")
        if not 0 <= index < len(groups):
            raise PrunebenchError(f"pruned group {index} is not in 0..{len(groups) - 1}")
    return sorted({int(index) for index in pruned})


def group_masks(
    model: nn.Module, groups: Sequence[ChannelGroup], pruned: Collection[int]
) -> dict[str, torch.Tensor]:
    """Boolean masks (``True`` keeps) of every parameter any group touches, on its device.

    Conv and linear weights, biases and batch-norm scales and shifts; the slices of the groups
    whose indices are in ``pruned`` are ``False``. Parameters no group touches are absent, so a
    mask set here is not ``prunebench.sparsity.masks``' (which covers conv and linear weights only).
    """
    parameters = _check_groups(model, groups)
    touched = {name for group in groups for name, _, _ in group.slices}
    chosen = [groups[index] for index in _check_pruned(groups, pruned)]
    removed = _by_parameter([s for group in chosen for s in group.slices])
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
    physically smaller model (:func:`physically_pruned`).
    """
    removed = []
    for index, group in enumerate(groups):
        if all(
            name in masks and not bool(_slice(masks[name], dim, indices).any())
            for name, dim, indices in group.slices
        ):
            removed.append(index)
    return removed


def _slice(tensor: torch.Tensor, dim: int, indices: tuple[int, ...]) -> torch.Tensor:
    """The entries ``indices`` of ``tensor`` along ``dim``."""
    index = torch.tensor(indices, dtype=torch.long, device=tensor.device)
    return tensor.index_select(dim, index)


class _PruningState:
    """Which entries a set of pruned groups removes, counted as their union, kept up to date.

    Also counts the output channels each conv and linear layer has left, so that a group that
    would remove a layer's last channel is refused. Works on group indices; what each group
    removes is worked out once, as a selection walks thousands of groups twice.
    """

    def __init__(
        self,
        parameters: dict[str, nn.Parameter],
        groups: Sequence[ChannelGroup],
        filter_weights: set[str],
    ) -> None:
        self.shapes = {name: tuple(p.shape) for name, p in parameters.items()}
        self.removals = [_by_parameter(group.slices) for group in groups]
        self.filters = [
            [(name, len(set(indices))) for name, indices in _filters(group.slices, filter_weights)]
            for group in groups
        ]
        self.reset()

    def reset(self) -> None:
        self.pruned: dict[str, dict[int, set[int]]] = {}
        self.channels_left = {name: shape[0] for name, shape in self.shapes.items()}
        self.removed = 0
        self.removed_by: dict[str, int] = {}

    def fits(self, index: int) -> bool:
        return all(self.channels_left[name] > count for name, count in self.filters[index])

    def prune(self, index: int) -> None:
        for name, count in self.filters[index]:
            self.channels_left[name] -= count
        for name, dims in self.removals[index].items():
            pruned = self.pruned.setdefault(name, {})
            for dim, indices in dims.items():
                pruned.setdefault(dim, set()).update(indices)
            removed = _removed_count(self.shapes[name], pruned)
            self.removed += removed - self.removed_by.get(name, 0)
            self.removed_by[name] = removed


def select_groups(
    scores: Sequence[float],
    groups: Sequence[ChannelGroup],
    model: nn.Module,
    compression: float,
    *,
    layerwise: bool,
) -> list[int]:
    """Indices (sorted) of the groups to prune for the compression closest to ``compression``.

    Compression counts all of the model's parameters, as ``allocation.keep_count`` does: total /
    (total - entries the pruned groups remove, their union). Groups are pruned lowest score first
    (ties: the earlier group first), skipping any that would remove a layer's last output channel,
    and the walk stops where total / remaining is closest to the target (fewer groups on a tie).
    Groups differ in size, so the target is met to within one group, not one weight.

    ``layerwise`` (Li et al., ICLR 2017): the same fraction of channels in every layer. Each group
    is ranked within its layer (``group.layer``) by score; groups are then pruned in the order of
    ``(rank + 1) / groups in the layer``, so every layer loses the same fraction up to one channel,
    and the walk fills to the target one channel per layer at a time.

    A target beyond the largest reachable compression (every group pruned that can be without
    emptying a layer) is refused with :class:`PrunebenchError`, before any selection.
    """
    if len(scores) != len(groups):
        raise PrunebenchError(f"{len(scores)} scores for {len(groups)} channel groups")
    if isinstance(compression, bool) or not isinstance(compression, numbers.Real):
        raise PrunebenchError(f"compression must be a number, got {compression!r}")
    if not (math.isfinite(compression) and compression >= 1):
        raise PrunebenchError(f"compression must be a finite number >= 1, got {compression!r}")
    scores = [float(score) for score in scores]
    if not all(math.isfinite(score) for score in scores):
        raise PrunebenchError("channel scores must be finite numbers")
    parameters = _check_groups(model, groups)
    total = sum(parameter.numel() for parameter in model.parameters())

    state = _PruningState(parameters, groups, _filter_weights(model))
    for index in range(len(groups)):
        if state.fits(index):
            state.prune(index)
    reachable = total / (total - state.removed)
    if compression > reachable * (1 + 1e-12):
        raise PrunebenchError(
            f"compression {compression:g} cannot be met by removing channels: the largest "
            f"reachable compression is {reachable:.6g} (every layer keeps one channel)"
        )

    order = _layerwise_order(scores, groups) if layerwise else _global_order(scores)
    state.reset()
    chosen: list[int] = []
    distance = abs(1.0 - compression)
    for index in order:
        if not state.fits(index):
            continue
        before = state.removed
        state.prune(index)
        new_distance = abs(total / (total - state.removed) - compression)
        if state.removed != before and new_distance >= distance:
            break  # removing more only moves further from the target from here
        chosen.append(index)
        distance = new_distance
    return sorted(chosen)


def _global_order(scores: list[float]) -> list[int]:
    """Group indices by ascending score, the earlier group first on ties."""
    return sorted(range(len(scores)), key=lambda index: (scores[index], index))


def _layerwise_order(scores: list[float], groups: Sequence[ChannelGroup]) -> list[int]:
    """Group indices by the fraction of its layer pruned once it goes, then as globally."""
    by_layer: dict[str, list[int]] = {}
    for index in _global_order(scores):
        by_layer.setdefault(groups[index].layer, []).append(index)
    fraction = {}
    for members in by_layer.values():
        for rank, index in enumerate(members):
            fraction[index] = (rank + 1) / len(members)
    return sorted(range(len(groups)), key=lambda index: (fraction[index], scores[index], index))


def channel_scores(
    model: nn.Module, groups: Sequence[ChannelGroup], kind: str, *, seed: int = 0
) -> list[float]:
    """One score per group, higher keeps; ``kind`` is one of :data:`SCORE_KINDS`.

    - ``"l1"``: the L1 norm of the group's filters (Li et al., ICLR 2017). A channel tied by
      residual additions is produced by several filters (every conv or linear layer whose output
      the group removes); its L1 is the sum of theirs. Input slices are not filters.
    - ``"l1_normalised"``: the same divided by the mean ``"l1"`` of the groups of its layer
      (``group.layer``), so that one global threshold compares layers of different scales.
    - ``"bn"``: ``|gamma|``, the batch-norm scale of the channel (network slimming, Liu et al.,
      ICCV 2017), summed over the batch-norm layers the group removes a channel from; a group
      with no batch norm is an error.
    - ``"random"``: uniform in [0, 1) from a CPU generator seeded by ``seed`` alone.
    """
    if kind not in SCORE_KINDS:
        raise PrunebenchError(f"unknown channel score {kind!r}; valid: {', '.join(SCORE_KINDS)}")
    parameters = _check_groups(model, groups)
    if kind == "random":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(len(groups), generator=generator, dtype=torch.float64).tolist()
    if kind == "bn":
        modules = dict(model.named_modules())
        scores = []
        for group in groups:
            gammas = [
                _rows(parameters[name], indices)
                for name, dim, indices in group.slices
                if name.endswith("weight")
                and isinstance(
                    modules.get(name.rpartition(".")[0]), nn.modules.batchnorm._BatchNorm
                )
            ]
            if not gammas:
                raise PrunebenchError(
                    f"channel {group.layer}:{list(group.channels)} has no batch norm, which "
                    f"the 'bn' score reads"
                )
            scores.append(float(sum(gamma.double().abs().sum() for gamma in gammas)))
        return scores
    filter_weights = _filter_weights(model)
    l1 = [
        sum(
            float(_rows(parameters[name], indices).double().abs().sum())
            for name, indices in _filters(group.slices, filter_weights)
        )
        for group in groups
    ]
    if kind == "l1":
        return l1
    layer_l1: dict[str, list[float]] = {}
    for group, score in zip(groups, l1, strict=True):
        layer_l1.setdefault(group.layer, []).append(score)
    means = {layer: sum(values) / len(values) for layer, values in layer_l1.items()}
    return [
        score / means[group.layer] if means[group.layer] > 0 else 0.0
        for group, score in zip(groups, l1, strict=True)
    ]


def _rows(parameter: torch.Tensor, indices: tuple[int, ...]) -> torch.Tensor:
    """The entries ``indices`` of ``parameter`` along dim 0, detached."""
    return _slice(parameter.detach(), 0, indices)


def physically_pruned(
    model: nn.Module,
    groups: Sequence[ChannelGroup],
    pruned: Collection[int],
    input_shape: tuple[int, ...],
) -> nn.Module:
    """A deep copy of ``model`` with the ``pruned`` groups' channels removed, not zeroed.

    Torch-Pruning removes them (``DG.get_pruning_group(root, prune_out_channels, idxs).prune()``,
    one call per group of its graph), so the copy has smaller tensors and does less work: the
    model that measured speed uses. It computes what ``model`` with :func:`group_masks` applied
    computes. Option-A shortcuts become :class:`ChannelMapShortcut`. The copy is on ``model``'s
    device, in its train/eval mode; ``model`` is untouched.
    """
    _check_groups(model, groups)
    filter_weights = _filter_weights(model)
    removed_filters: dict[str, set[int]] = {}
    for index in _check_pruned(groups, pruned):
        for name, indices in _filters(groups[index].slices, filter_weights):
            removed_filters.setdefault(name.rpartition(".")[0], set()).update(indices)
    parameter = next(model.parameters())
    trace = _trace(model, input_shape, parameter.device)
    plan = []
    for group in trace.tp_groups:
        root = group[0].dep.target.module
        root_removed = removed_filters.get(trace.names[root], set())
        # Every filter Torch-Pruning couples to the root must be removed exactly with it.
        for item in group:
            module = item.dep.target.module
            if not isinstance(module, PRUNABLE_ROOTS) or module not in trace.names:
                continue
            if not trace.graph.is_out_channel_pruning_fn(item.dep.handler):
                continue
            removed = removed_filters.get(trace.names[module], set())
            for index, root_index in zip(item.idxs, item.root_idxs, strict=True):
                if (index in removed) != (root_index in root_removed):
                    raise PrunebenchError(
                        f"the pruned channel groups split a dependency group of "
                        f"{trace.names[root]!r}; compute the groups for this model"
                    )
        if root_removed:
            plan.append((root, sorted(root_removed)))
    for root, idxs in plan:
        if len(idxs) >= trace.graph.get_out_channels(root):
            raise PrunebenchError(f"pruning would remove every channel of {trace.names[root]!r}")
        pruning_fn = trace.graph.get_pruner_of_module(root).prune_out_channels
        with torch.enable_grad():
            trace.graph.get_pruning_group(root, pruning_fn, idxs).prune()
    return trace.model.train(model.training)


__all__ = [
    "SCORE_KINDS",
    "ChannelGroup",
    "ChannelMapShortcut",
    "channel_groups",
    "channel_scores",
    "group_masks",
    "physically_pruned",
    "pruned_groups",
    "select_groups",
]
