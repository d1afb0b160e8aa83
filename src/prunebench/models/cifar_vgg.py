"""Zagoruyko's CIFAR VGG (``vgg_bn_drop`` of ``szagoruyko/cifar.torch``), as ShrinkBench rebuilt it.

VGG-16's thirteen 3x3 convolutions, each followed by batch norm (eps 1e-3) and ReLU, with dropout
between the convolutions of a stage and ceil-mode 2x2 max-pooling after each stage; then a
classifier Dropout, Linear 512-512, BatchNorm1d, ReLU, Dropout, Linear 512-classes. About 15.0M
parameters for 10 classes. Module names follow ShrinkBench (``features.<i>.conv``, ``.bn``;
``classifier.<i>``), although no weights for it are published.
"""

import torch
from torch import nn

from prunebench.models import MODELS

# (output channels of each conv in the stage, dropout after every conv but the stage's last)
_STAGES = (
    ((64, 64), 0.3),
    ((128, 128), 0.4),
    ((256, 256, 256), 0.4),
    ((512, 512, 512), 0.4),
    ((512, 512, 512), 0.4),
)


class ConvBNReLU(nn.Module):
    """3x3 convolution (with bias, as in the original), batch norm with eps 1e-3, ReLU."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class VGGBnDrop(nn.Module):
    """The CIFAR VGG for 32x32 inputs; five poolings leave a 512 x 1 x 1 map."""

    classifier_name = "classifier.5"

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_planes = 3
        for widths, dropout in _STAGES:
            for index, width in enumerate(widths):
                layers.append(ConvBNReLU(in_planes, width))
                if index < len(widths) - 1:
                    layers.append(nn.Dropout(dropout))
                in_planes = width
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(512, num_classes),
        )
        # cifar.torch's MSR initialisation of the convolutions: N(0, 2 / (k * k * out)), zero bias.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


MODELS.add("vgg_bn_drop", VGGBnDrop)
