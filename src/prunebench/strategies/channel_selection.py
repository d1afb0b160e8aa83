"""Which channel groups to prune: the lowest-scoring, towards a target compression.

Compression counts all of the model's parameters, as ``allocation.keep_count`` does: total /
(total - entries the pruned groups remove, their union). Groups differ in size, so a channel
strategy meets its target to within one group, not one weight. No layer ever loses its last
output channel, which bounds the reachable compression (:func:`check_reachable`).
"""

import math
from collections.abc import Sequence

from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation
from prunebench.sparsity.channels.group import (
    ChannelGroup,
    by_parameter,
    check_groups,
    filter_weights,
    filters,
    removed_count,
)
from prunebench.strategies.allocation import check_compression


class _PruningState:
    """Which entries a set of pruned groups removes, counted as their union, kept up to date.

    Also counts the output channels each conv and linear layer has left, so that a group that
    would remove a layer's last channel is refused. Works on group indices; what each group
    removes is worked out once, as a selection walks thousands of groups twice.
    """

    def __init__(self, model: nn.Module, groups: Sequence[ChannelGroup]) -> None:
        weights = filter_weights(model)
        self.total = sum(parameter.numel() for parameter in model.parameters())
        self.shapes = {name: tuple(p.shape) for name, p in check_groups(model, groups).items()}
        self.removals = [by_parameter(group.slices) for group in groups]
        self.filters = [
            [(name, len(set(indices))) for name, indices in filters(group.slices, weights)]
            for group in groups
        ]
        self.reset()

    def reset(self) -> None:
        """Back to no group pruned."""
        self.pruned: dict[str, dict[int, set[int]]] = {}
        self.channels_left = {name: shape[0] for name, shape in self.shapes.items()}
        self.removed = 0
        self.removed_by: dict[str, int] = {}

    def fits(self, index: int) -> bool:
        """Whether group ``index`` leaves every layer an output channel."""
        return all(self.channels_left[name] > count for name, count in self.filters[index])

    def prune(self, index: int) -> None:
        """Add group ``index`` to the pruned ones."""
        for name, count in self.filters[index]:
            self.channels_left[name] -= count
        for name, dims in self.removals[index].items():
            pruned = self.pruned.setdefault(name, {})
            for dim, indices in dims.items():
                pruned.setdefault(dim, set()).update(indices)
            removed = removed_count(self.shapes[name], pruned)
            self.removed += removed - self.removed_by.get(name, 0)
            self.removed_by[name] = removed

    def compression(self) -> float:
        """Total / remaining parameters with the groups pruned so far."""
        return self.total / (self.total - self.removed)


def check_reachable(model: nn.Module, groups: Sequence[ChannelGroup], compression: float) -> None:
    """Refuse a ``compression`` that removing whole channel groups cannot reach, in one line.

    The largest reachable compression prunes, in group order, every group that does not remove
    a layer's last output channel.
    """
    check_compression(compression)
    _refuse_unreachable(_PruningState(model, groups), compression)


def select_groups(
    scores: Sequence[float],
    groups: Sequence[ChannelGroup],
    model: nn.Module,
    compression: float,
    allocation: Allocation,
) -> list[int]:
    """Indices (sorted) of the groups to prune for the compression closest to ``compression``.

    Groups are pruned lowest score first (ties: the earlier group first), skipping any that would
    remove a layer's last output channel, and the walk stops where total / remaining is closest
    to the target (fewer groups on a tie).

    ``Allocation.LAYERWISE`` (Li et al., ICLR 2017): the same fraction of channels in every layer.
    Each group is ranked within its layer (``group.layer``) by score; groups are then pruned in
    the order of ``(rank + 1) / groups in the layer``, so every layer loses the same fraction up
    to one channel, and the walk fills to the target one channel per layer at a time.

    A target beyond the largest reachable compression is refused with :class:`PrunebenchError`
    (:func:`check_reachable`), before any selection.
    """
    if len(scores) != len(groups):
        raise PrunebenchError(f"{len(scores)} scores for {len(groups)} channel groups")
    if allocation not in (Allocation.GLOBAL, Allocation.LAYERWISE):
        raise PrunebenchError(
            f"channels are selected globally or layerwise, not '{allocation}'; "
            f"valid choices: {Allocation.GLOBAL}, {Allocation.LAYERWISE}"
        )
    check_compression(compression)
    scores = [float(score) for score in scores]
    if not all(math.isfinite(score) for score in scores):
        raise PrunebenchError("channel scores must be finite numbers")
    state = _PruningState(model, groups)
    _refuse_unreachable(state, compression)
    state.reset()
    if allocation == Allocation.LAYERWISE:
        return _walk(state, _layerwise_order(scores, groups), compression)
    return _walk(state, _global_order(scores), compression)


def _walk(state: _PruningState, order: list[int], compression: float) -> list[int]:
    """Prune groups in ``order`` (those that fit) while each brings ``state`` closer to target.

    Returns the pruned group indices, sorted. A group that removes nothing new is taken along.
    """
    chosen: list[int] = []
    distance = abs(1.0 - compression)
    for index in order:
        if not state.fits(index):
            continue
        before = state.removed
        state.prune(index)
        new_distance = abs(state.compression() - compression)
        if state.removed != before and new_distance >= distance:
            break  # removing more only moves further from the target from here
        chosen.append(index)
        distance = new_distance
    return sorted(chosen)


def _refuse_unreachable(state: _PruningState, compression: float) -> None:
    """Prune every group that fits, in order, on ``state``; refuse a target beyond that."""
    for index in range(len(state.filters)):
        if state.fits(index):
            state.prune(index)
    reachable = state.compression()
    if compression > reachable * (1 + 1e-12):
        raise PrunebenchError(
            f"compression {compression:g} cannot be met by removing channels: the largest "
            f"reachable compression is {reachable:.6g} (every layer keeps one channel)"
        )


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
