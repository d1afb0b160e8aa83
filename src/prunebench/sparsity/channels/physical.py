"""The physically smaller model: pruned channels removed, not zeroed, for measuring speed."""

from collections.abc import Collection, Sequence

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.channels.group import (
    PRUNABLE_ROOTS,
    ChannelGroup,
    check_groups,
    check_pruned,
    filter_weights,
    filters,
)
from prunebench.sparsity.channels.tracing import Trace, trace


def physically_pruned(
    model: nn.Module,
    groups: Sequence[ChannelGroup],
    pruned: Collection[int],
    input_shape: tuple[int, ...],
) -> nn.Module:
    """A deep copy of ``model`` with the ``pruned`` groups' channels removed, not zeroed.

    Torch-Pruning removes them (``DG.get_pruning_group(root, prune_out_channels, idxs).prune()``,
    one call per group of its graph), so the copy has smaller tensors and does less work: the
    model that measured speed uses. It computes what ``model`` with ``masks.group_masks`` applied
    computes. Option-A shortcuts become ``shortcut.ChannelMapShortcut``. The copy is on
    ``model``'s device, in its train/eval mode; ``model`` is untouched.
    """
    check_groups(model, groups)
    weights = filter_weights(model)
    removed_filters: dict[str, set[int]] = {}
    for index in check_pruned(groups, pruned):
        for name, indices in filters(groups[index].slices, weights):
            removed_filters.setdefault(name.rpartition(".")[0], set()).update(indices)
    traced = trace(model, input_shape, next(model.parameters()).device)
    for root, idxs in _plan(traced, removed_filters):
        if len(idxs) >= traced.graph.get_out_channels(root):
            raise PrunebenchError(f"pruning would remove every channel of {traced.names[root]!r}")
        pruning_fn = traced.graph.get_pruner_of_module(root).prune_out_channels
        with torch.enable_grad():
            traced.graph.get_pruning_group(root, pruning_fn, idxs).prune()
    return traced.model.train(model.training)


def _plan(traced: Trace, removed_filters: dict[str, set[int]]) -> list[tuple[nn.Module, list[int]]]:
    """(root module, its output channels to remove) for each of the graph's groups that loses any.

    ``removed_filters`` are the removed output channels by layer name. A group whose coupled
    filters would not all be removed with its root is refused: the groups were not this model's.
    """
    plan = []
    for group in traced.tp_groups:
        root = group[0].dep.target.module
        root_removed = removed_filters.get(traced.names[root], set())
        # Every filter Torch-Pruning couples to the root must be removed exactly with it.
        for item in group:
            module = item.dep.target.module
            if not isinstance(module, PRUNABLE_ROOTS) or module not in traced.names:
                continue
            if not traced.graph.is_out_channel_pruning_fn(item.dep.handler):
                continue
            removed = removed_filters.get(traced.names[module], set())
            for index, root_index in zip(item.idxs, item.root_idxs, strict=True):
                if (index in removed) != (root_index in root_removed):
                    raise PrunebenchError(
                        f"the pruned channel groups split a dependency group of "
                        f"{traced.names[root]!r}; compute the groups for this model"
                    )
        if root_removed:
            plan.append((root, sorted(root_removed)))
    return plan
