"""The option-A shortcut of the CIFAR ResNets, rewritten so that channel tracing gets it right.

:class:`~prunebench.models.cifar_resnet.PadShortcut` zero-pads the channel dimension, which
Torch-Pruning takes for an element-wise operation and so ties channel ``c`` of one stage to
channel ``c`` of the next, where the shortcut actually carries it to channel ``c + pad``. The
traced copy replaces every such shortcut by :class:`ChannelMapShortcut`, the same computation
written as an explicit map from input to output channels, which Torch-Pruning prunes on each side
separately (:class:`ChannelMapPruner`, a registered custom pruner). ``dependencies.channel_groups``
then merges the channels connected through that map into one group.
"""

from collections.abc import Sequence

import torch
from torch import nn
from torch_pruning.pruner.function import BasePruningFunc

from prunebench.models.cifar_resnet import PadShortcut


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


class ChannelMapPruner(BasePruningFunc):
    """Torch-Pruning's handler for :class:`ChannelMapShortcut`.

    Pruning the input and the output are different functions, which tells Torch-Pruning that the
    two sides are not coupled (as they are for batch norm), so the graph stops at the shortcut and
    ``dependencies.channel_groups`` links the two sides itself through ``sources``.
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


def replace_pad_shortcuts(model: nn.Module, example: torch.Tensor) -> None:
    """Swap every ``PadShortcut`` for the equivalent :class:`ChannelMapShortcut`, in place.

    The shortcut does not store its input width, so one forward pass on ``example`` records it.
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
