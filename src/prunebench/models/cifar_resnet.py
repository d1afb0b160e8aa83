"""CIFAR ResNets (He et al. 2016, section 4.2) with option-A shortcuts.

The architecture of Yerlan Idelbayev's ``akamaster/pytorch_resnet_cifar10``, whose trained
weights ShrinkBench publishes: three stages of 16, 32 and 64 channels, ``n`` basic blocks each
(depth ``6n + 2``), and parameter-free shortcuts. Where a block halves the resolution and doubles
the channels, its shortcut takes every second pixel and zero-pads the new channels, half before
and half after the old ones. Module names (``conv1``, ``bn1``, ``layer1..3``, ``linear``, and
``conv1``, ``bn1``, ``conv2``, ``bn2`` inside a block) are that repository's, so its checkpoints
load strictly once their ``module.`` prefix is stripped.
"""

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.models import MODELS


class PadShortcut(nn.Module):
    """Option-A shortcut: stride-2 subsampling and ``extra_channels`` zero channels on each side.

    A named module rather than the original's lambda so that models can be pickled and printed.
    """

    def __init__(self, extra_channels: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.extra_channels
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))

    def extra_repr(self) -> str:
        return f"extra_channels={self.extra_channels}"


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus the shortcut, ReLU after the sum."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            # Every stage doubles the channels, so planes // 4 on each side fills the difference.
            self.shortcut: nn.Module = PadShortcut(planes // 4)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs; ``blocks_per_stage`` is ``n``."""

    classifier_name = "linear"

    def __init__(self, blocks_per_stage: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = _stage(16, 16, blocks_per_stage, stride=1)
        self.layer2 = _stage(16, 32, blocks_per_stage, stride=2)
        self.layer3 = _stage(32, 64, blocks_per_stage, stride=2)
        self.linear = nn.Linear(64, num_classes)
        # The original's initialisation, which matters for the pipeline's own ResNet-110 training.
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        # A pooling window of the whole map, as the original computes its global average.
        out = F.avg_pool2d(out, out.shape[2:])
        return self.linear(torch.flatten(out, 1))


def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` basic blocks; only the first changes resolution and width."""
    layers = [BasicBlock(in_planes, planes, stride)]
    layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _register(depth: int) -> None:
    blocks_per_stage = (depth - 2) // 6

    def build(num_classes: int) -> nn.Module:
        return CifarResNet(blocks_per_stage, num_classes)

    build.__doc__ = f"CIFAR ResNet-{depth}: {blocks_per_stage} basic blocks per stage, option A."
    MODELS.add(f"resnet{depth}", build)


for _depth in (20, 32, 44, 56, 110):
    _register(_depth)
