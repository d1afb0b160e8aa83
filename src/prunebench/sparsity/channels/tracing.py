"""Tracing a model's channel dependencies with Torch-Pruning.

Which channels are tied comes from Torch-Pruning's dependency graph (``tp.DependencyGraph``),
traced on a copy of the model, never from rules written per architecture. The copy's option-A
shortcuts are first rewritten as explicit channel maps (``shortcut``), the one case the graph
would otherwise get wrong.
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from prunebench.models import classifier_name
from prunebench.sparsity.channels.group import PRUNABLE_ROOTS
from prunebench.sparsity.channels.shortcut import (
    ChannelMapPruner,
    ChannelMapShortcut,
    replace_pad_shortcuts,
)


@dataclass
class Trace:
    """A traced copy of a model: its dependency graph and Torch-Pruning's full-index groups.

    ``tp_groups`` are the graph's groups rooted at every conv and linear layer but the
    classifier; ``names`` gives each module of ``model`` (the copy) its name.
    """

    model: nn.Module
    graph: tp.DependencyGraph
    tp_groups: list
    names: dict[nn.Module, str]


def trace(model: nn.Module, input_shape: Sequence[int], device: torch.device) -> Trace:
    """Deep-copy ``model`` in eval mode on ``device``, map its shortcuts, build the graph.

    Traced with an all-ones input of ``input_shape`` (one sample, no batch dimension); ``model``
    is left untouched.
    """
    copied = copy.deepcopy(model).to(device).eval()
    example = torch.ones(1, *input_shape, device=device)
    replace_pad_shortcuts(copied, example)
    with torch.enable_grad():
        graph = tp.DependencyGraph().build_dependency(
            copied,
            example_inputs=example,
            customized_pruners={ChannelMapShortcut: ChannelMapPruner()},
            verbose=False,
        )
    classifier = copied.get_submodule(classifier_name(copied))
    tp_groups = list(
        graph.get_all_groups(ignored_layers=[classifier], root_module_types=PRUNABLE_ROOTS)
    )
    names = {module: name for name, module in copied.named_modules()}
    return Trace(copied, graph, tp_groups, names)
