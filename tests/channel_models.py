"""The registry's models prepared for channel tests, traced once per test session.

Every parameter is made nonzero and batch-norm statistics non-trivial (:func:`randomised`): a
fresh batch norm (scale 1, shift 0, mean 0, variance 1) or a zero bias would let a wrong mask go
unnoticed, both in a count of nonzero parameters and in the outputs compared with the physically
pruned model.
"""

import copy
import functools

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.models import create_model
from prunebench.sparsity.channels.dependencies import channel_groups
from prunebench.sparsity.channels.group import ChannelGroup
from prunebench.strategies.score import Score, ScoreInputs

MODELS = {
    "lenet5": (1, 28, 28),
    "resnet20": (3, 32, 32),
    "vgg_bn_drop": (3, 32, 32),
    "resnet18": (3, 64, 64),
}
"""Model registry name -> one sample's input shape."""


def randomised(name: str) -> nn.Module:
    """``name`` from the registry in eval mode, no parameter zero, batch norm not the identity."""
    torch.manual_seed(0)
    model = create_model(name, 10).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
            elif getattr(module, "bias", None) is not None:
                module.bias.uniform_(-0.1, 0.1)
    return model


@functools.cache
def model_and_groups(name: str) -> tuple[nn.Module, list[ChannelGroup]]:
    """Tracing costs a second or so per model: once per model for the whole session."""
    model = randomised(name)
    return model, channel_groups(model, MODELS[name])


def masked(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with every parameter multiplied by its mask."""
    copied = copy.deepcopy(model)
    parameters = dict(copied.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            parameters[name].data.mul_(mask)
    return copied


def scores_of(score: Score, name: str, seed: int = 0) -> list[float]:
    """The channel ``score`` of every group of model ``name`` (:func:`model_and_groups`)."""
    model, groups = model_and_groups(name)
    return score.compute(ScoreInputs(model, {}, seed, None, F.cross_entropy, groups=groups))
