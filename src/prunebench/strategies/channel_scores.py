"""The scores of channel groups: one number per group (``inputs.groups``), higher keeps.

- :data:`CHANNEL_L1`: the L1 norm of each group's filters (Li et al., ICLR 2017) over the mean of
  its layer's, so that one global threshold compares layers of different scales; within a layer
  the order is the plain L1's (:func:`filter_l1`), so a layerwise allocation prunes exactly
  Li et al.'s;
- :data:`CHANNEL_BN`: ``|gamma|``, the batch-norm scale of each group's channels (network
  slimming, Liu et al., ICCV 2017);
- :data:`CHANNEL_RANDOM`: uniform random numbers, seeded by ``seed`` alone.
"""

from collections.abc import Sequence

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.channels.group import (
    ChannelGroup,
    check_groups,
    entries,
    filter_weights,
    filters,
)
from prunebench.strategies.score import Score, ScoreInputs


def filter_l1(model: nn.Module, groups: Sequence[ChannelGroup]) -> list[float]:
    """The L1 norm of each group's filters, in float64.

    A channel tied by residual additions is produced by several filters (every conv or linear
    layer whose output the group removes); its L1 is the sum of theirs. Input slices are not
    filters.
    """
    parameters = check_groups(model, groups)
    weights = filter_weights(model)
    return [
        sum(
            float(_rows(parameters[name], indices).double().abs().sum())
            for name, indices in filters(group.slices, weights)
        )
        for group in groups
    ]


def normalised_l1_scores(inputs: ScoreInputs) -> list[float]:
    """:func:`filter_l1` divided by the mean of the groups of its layer (``group.layer``)."""
    groups = _groups(inputs)
    l1 = filter_l1(inputs.model, groups)
    layer_l1: dict[str, list[float]] = {}
    for group, score in zip(groups, l1, strict=True):
        layer_l1.setdefault(group.layer, []).append(score)
    means = {layer: sum(values) / len(values) for layer, values in layer_l1.items()}
    return [
        score / means[group.layer] if means[group.layer] > 0 else 0.0
        for group, score in zip(groups, l1, strict=True)
    ]


def batch_norm_scale_scores(inputs: ScoreInputs) -> list[float]:
    """``|gamma|`` of each group, summed over the batch-norm layers it removes a channel from.

    A group with no batch norm is refused.
    """
    groups = _groups(inputs)
    parameters = check_groups(inputs.model, groups)
    modules = dict(inputs.model.named_modules())
    scores = []
    for group in groups:
        gammas = [
            _rows(parameters[name], indices)
            for name, dim, indices in group.slices
            if name.endswith("weight")
            and isinstance(modules.get(name.rpartition(".")[0]), nn.modules.batchnorm._BatchNorm)
        ]
        if not gammas:
            raise PrunebenchError(
                f"channel {group.layer}:{list(group.channels)} has no batch norm, which "
                f"the {CHANNEL_BN.name!r} score reads"
            )
        scores.append(float(sum(gamma.double().abs().sum() for gamma in gammas)))
    return scores


def random_group_scores(inputs: ScoreInputs) -> list[float]:
    """Uniform in [0, 1), one per group, from a CPU generator seeded by ``seed`` alone."""
    groups = _groups(inputs)
    check_groups(inputs.model, groups)
    generator = torch.Generator().manual_seed(inputs.seed)
    return torch.rand(len(groups), generator=generator, dtype=torch.float64).tolist()


def _groups(inputs: ScoreInputs) -> Sequence[ChannelGroup]:
    if inputs.groups is None:
        raise PrunebenchError("a channel score needs the model's channel groups")
    return inputs.groups


def _rows(parameter: torch.Tensor, indices: tuple[int, ...]) -> torch.Tensor:
    """The entries ``indices`` of ``parameter`` along dim 0, detached."""
    return entries(parameter.detach(), 0, indices)


CHANNEL_L1 = Score("channel_l1", normalised_l1_scores)
CHANNEL_BN = Score("channel_bn", batch_norm_scale_scores)
CHANNEL_RANDOM = Score("channel_random", random_group_scores)
