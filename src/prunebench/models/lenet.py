"""MNIST-sized networks: LeNet-300-100 and LeNet-5-Caffe (ShrinkBench's ``MnistNet``).

Both return logits. ShrinkBench's ``MnistNet`` ends in ``log_softmax``; we leave it out so that
every model in the registry has the same output contract. Nothing measured changes:
``log_softmax`` is idempotent, so cross-entropy, its gradients and top-k are the same whether
or not the model applies it first.
"""

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.models import MODELS


class LeNet300100(nn.Module):
    """The fully connected 784-300-100-classes network of LeCun et al. (1998).

    Flattens a ``[N, 1, 28, 28]`` image in C, H, W order.
    """

    classifier_name = "fc3"

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """LeNet-5-Caffe: conv 20, conv 50 (5x5, each followed by ReLU and 2x2 max-pool), fc 500, fc.

    Layer names, ReLU placement (after the conv, before the pool) and flatten order (C, H, W of the
    ``50 x 4 x 4`` map) are ShrinkBench's, so its ``mnist/mnistnet.pt`` loads strictly and gives
    the same outputs.
    """

    classifier_name = "fc2"

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5)
        self.conv2 = nn.Conv2d(20, 50, kernel_size=5)
        self.fc1 = nn.Linear(50 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


MODELS.add("lenet300_100", LeNet300100)
MODELS.add("lenet5", LeNet5)
