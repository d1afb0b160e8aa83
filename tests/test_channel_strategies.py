"""Channel strategies: their scores, the selection of groups towards a target, and the registered
strategies on real small models (whole dependency groups, nothing left disconnected, the
physically smaller model equal to the masked one, targets met within a group)."""

import copy
import math
import re

import pytest
import torch
from channel_models import MODELS, masked, model_and_groups, scores_of
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation
from prunebench.measurement import cost as metrics
from prunebench.measurement.cost import compression_ratio, effective_compression
from prunebench.models import create_model
from prunebench.sparsity.channels.dependencies import channel_groups
from prunebench.sparsity.channels.masks import group_masks, pruned_groups
from prunebench.sparsity.channels.physical import physically_pruned
from prunebench.sparsity.masks import apply_masks, mask_compression
from prunebench.strategies import STRATEGIES, compute_masks
from prunebench.strategies.channel_scores import (
    CHANNEL_BN,
    CHANNEL_L1,
    CHANNEL_RANDOM,
    filter_l1,
)
from prunebench.strategies.channel_selection import select_groups

CHANNEL_STRATEGIES = [
    "random_channel",
    "layer_channel_l1",
    "global_channel_l1",
    "global_channel_bn",
]
SMALL_MODELS = ("lenet5", "resnet20")
TARGETS = (2, 4)
GLOBAL = Allocation.GLOBAL


def trained_like(name: str) -> torch.nn.Module:
    """A model whose every parameter is nonzero (a fresh batch norm's zero shift would make the
    masked model look more compressed than its masks), in eval mode."""
    torch.manual_seed(0)
    model = create_model(name, 10)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.1 + 0.01)
    return model.eval()


def strategies_for(model_name: str) -> list[str]:
    # LeNet-5 has no batch norm, so network slimming's score does not apply to it.
    return [s for s in CHANNEL_STRATEGIES if not (model_name == "lenet5" and s.endswith("_bn"))]


CASES = [(model, strategy) for model in SMALL_MODELS for strategy in strategies_for(model)]
# Each channel strategy's score and allocation, on every model of channel_models.
SELECTION_CASES = [(model, strategy) for model in MODELS for strategy in strategies_for(model)]


@pytest.fixture(scope="module")
def models():
    return {name: trained_like(name) for name in SMALL_MODELS}


@pytest.fixture(scope="module")
def groups(models):
    return {name: channel_groups(models[name], MODELS[name]) for name in SMALL_MODELS}


@pytest.mark.parametrize(("model_name", "strategy"), CASES)
def test_channel_masks_zero_whole_groups_and_disconnect_nothing(
    models, groups, model_name, strategy
):
    model, shape = models[model_name], MODELS[model_name]
    masks = compute_masks(model, strategy, 4, seed=0, input_shape=shape)
    removed = set(pruned_groups(groups[model_name], masks))
    assert removed, "a 4x target removes some channels"
    for index, group in enumerate(groups[model_name]):
        for name, dim, indices in group.slices:
            kept = masks[name].index_select(dim, torch.tensor(indices))
            if index in removed:
                assert not kept.any(), (strategy, group.layer, name)
    masked = copy.deepcopy(model)
    apply_masks(masked, masks)
    assert compression_ratio(masked) == pytest.approx(mask_compression(model, masks), rel=1e-12)
    assert effective_compression(masked, shape) == pytest.approx(compression_ratio(masked))
    largest_group = max(group.size for group in groups[model_name])
    total = sum(p.numel() for p in model.parameters())
    assert abs(total / mask_compression(model, masks) - total / 4) <= largest_group


@pytest.mark.parametrize(("model_name", "strategy"), CASES)
def test_the_physically_pruned_model_has_the_masks_nonzero_count_and_their_outputs(
    models, groups, model_name, strategy
):
    model, shape = models[model_name], MODELS[model_name]
    masks = compute_masks(model, strategy, 8, seed=1, input_shape=shape)
    masked = copy.deepcopy(model)
    apply_masks(masked, masks)
    smaller = physically_pruned(
        model, groups[model_name], pruned_groups(groups[model_name], masks), shape
    )
    nonzero = sum(int(torch.count_nonzero(p)) for p in masked.parameters())
    assert sum(p.numel() for p in smaller.parameters()) == nonzero
    inputs = torch.randn(4, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(smaller(inputs), masked(inputs), rtol=1e-4, atol=1e-5)


def test_layerwise_and_global_l1_differ_only_in_allocation(models):
    layerwise, global_ = STRATEGIES["layer_channel_l1"], STRATEGIES["global_channel_l1"]
    assert layerwise.score is global_.score
    assert (layerwise.allocation, global_.allocation) == (Allocation.LAYERWISE, GLOBAL)
    assert layerwise.properties()["structure"] == "channel"


def test_an_unreachable_target_is_refused_before_any_work(models):
    strategy = STRATEGIES["global_channel_l1"]
    with pytest.raises(PrunebenchError, match="largest reachable compression"):
        strategy.check_reachable(models["lenet5"], [2, 1e6], input_shape=MODELS["lenet5"])


def test_network_slimming_needs_batch_norm(models):
    with pytest.raises(PrunebenchError, match="no batch norm"):
        compute_masks(models["lenet5"], "global_channel_bn", 4, seed=0, input_shape=(1, 28, 28))


def without_max_pooling(model: nn.Module) -> nn.Module:
    """``model`` with each ``nn.MaxPool2d`` replaced by average pooling of the same windows.

    ``metrics.ineffective_weights`` finds paths by back-propagating through a positive copy,
    and a max pool passes that gradient to one pixel of each window only: in the dense
    ``vgg_bn_drop`` it already counts 1.3M weights as ineffective. Average pooling connects the
    same pixels, so on it the metric sees exactly the connections pruning may have cut.
    """
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.MaxPool2d):
            parent, _, child = name.rpartition(".")
            average = nn.AvgPool2d(
                module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode
            )
            setattr(model.get_submodule(parent), child, average)
    return model


@pytest.mark.parametrize(("name", "strategy"), SELECTION_CASES)
def test_masked_model_meets_the_target_within_one_group_and_disconnects_nothing(name, strategy):
    model, groups = model_and_groups(name)
    score, allocation = STRATEGIES[strategy].score, STRATEGIES[strategy].allocation
    scores = scores_of(score, name, seed=3)
    total = sum(parameter.numel() for parameter in model.parameters())
    largest_group = max(group.size for group in groups)
    for compression in TARGETS:
        pruned = select_groups(scores, groups, model, compression, allocation)
        masks = group_masks(model, groups, pruned)
        kept = total / metrics.mask_compression(model, masks)
        assert abs(kept - total / compression) <= largest_group
    # At the higher target only: it costs a backward pass through a float64 copy of the model.
    probe = without_max_pooling(masked(model, masks))
    assert metrics.parameter_counts(probe)[1] == round(kept)
    assert metrics.effective_compression(probe, MODELS[name]) == metrics.compression_ratio(probe)


def test_largest_reachable_compression_keeps_one_channel_per_layer_and_beyond_is_refused():
    model, groups = model_and_groups("lenet5")
    total = sum(parameter.numel() for parameter in model.parameters())
    # One filter and bias left in conv1 (1x5x5), conv2 (1x1x5x5), fc1 (one 4x4 channel in, one
    # unit out); the classifier keeps its 10 outputs, reading one unit.
    remaining = (25 + 1) + (25 + 1) + (16 + 1) + (10 + 10)
    largest = total / remaining
    scores = scores_of(CHANNEL_RANDOM, "lenet5")
    for allocation in (Allocation.GLOBAL, Allocation.LAYERWISE):
        pruned = select_groups(scores, groups, model, largest, allocation)
        assert metrics.parameter_counts(masked(model, group_masks(model, groups, pruned))) == (
            total,
            remaining,
        )
        with pytest.raises(PrunebenchError) as error:
            select_groups(scores, groups, model, largest * 1.001, allocation)
        message = str(error.value)
        assert "\n" not in message
        reported = float(re.search(r"largest reachable compression is ([0-9.e+]+)", message)[1])
        assert reported == pytest.approx(largest, rel=1e-5)


def test_equal_scores_prune_the_earlier_group_first_but_never_a_layers_last_channel():
    model, groups = model_and_groups("lenet5")
    # conv1 has groups 0..19, conv2 20..69, fc1 70..569: 19, 69 and 569 are last channels.
    prunable_in_order = [i for i in range(len(groups)) if i not in (19, 69, 569)]
    for compression in (1.05, 2, 4):
        pruned = select_groups([1.0] * len(groups), groups, model, compression, GLOBAL)
        assert pruned == prunable_in_order[: len(pruned)]
    scores = [1.0] * len(groups)
    scores[30] = scores[25] = 0.5  # a tie below everything else: 25 goes first
    assert select_groups(scores, groups, model, 1.02, GLOBAL) == [25]


def test_layerwise_prunes_the_same_fraction_of_every_layer_and_global_does_not():
    model, groups = model_and_groups("lenet5")
    scores = filter_l1(model, groups)
    sizes = {layer: sum(g.layer == layer for g in groups) for layer in ("conv1", "conv2", "fc1")}
    for compression in TARGETS:
        fractions = {}
        for allocation in (Allocation.LAYERWISE, GLOBAL):
            pruned = select_groups(scores, groups, model, compression, allocation)
            fractions[allocation] = {
                layer: sum(groups[i].layer == layer for i in pruned) / size
                for layer, size in sizes.items()
            }
        layerwise_fractions = fractions[Allocation.LAYERWISE]
        for layer, fraction in layerwise_fractions.items():
            for other, other_fraction in layerwise_fractions.items():
                slack = max(1 / sizes[layer], 1 / sizes[other])
                assert abs(fraction - other_fraction) <= slack + 1e-12
        assert max(fractions[GLOBAL].values()) - min(fractions[GLOBAL].values()) > 0.1


def test_scores_equal_a_hand_computation():
    lenet, lenet_groups = model_and_groups("lenet5")
    l1 = filter_l1(lenet, lenet_groups)
    conv2 = [i for i, g in enumerate(lenet_groups) if g.layer == "conv2"]
    by_hand = lenet.conv2.weight.detach().abs().sum(dim=(1, 2, 3)).double()
    assert torch.allclose(torch.tensor([l1[i] for i in conv2], dtype=torch.float64), by_hand)
    normalised = scores_of(CHANNEL_L1, "lenet5")
    assert torch.allclose(
        torch.tensor([normalised[i] for i in conv2], dtype=torch.float64), by_hand / by_hand.mean()
    )

    model, groups = model_and_groups("resnet20")
    bn = scores_of(CHANNEL_BN, "resnet20")
    l1 = filter_l1(model, groups)
    inner = next(
        i for i, g in enumerate(groups) if (g.layer, g.channels) == ("layer3.1.conv1", (9,))
    )
    assert bn[inner] == pytest.approx(abs(model.layer3[1].bn1.weight[9].item()))
    assert l1[inner] == pytest.approx(model.layer3[1].conv1.weight[9].abs().sum().item())
    # A residual path: every batch norm and every filter that writes to it.
    stem = next(i for i, g in enumerate(groups) if (g.layer, g.channels) == ("conv1", (2,)))
    path = [(model.bn1, model.conv1, 2)]
    for stage, channel in ((model.layer1, 2), (model.layer2, 10), (model.layer3, 26)):
        path += [(block.bn2, block.conv2, channel) for block in stage]
    assert bn[stem] == pytest.approx(sum(abs(b.weight[c].item()) for b, _, c in path))
    assert l1[stem] == pytest.approx(sum(conv.weight[c].abs().sum().item() for _, conv, c in path))


def test_random_scores_depend_on_the_seed_only():
    _, groups = model_and_groups("resnet20")
    first = scores_of(CHANNEL_RANDOM, "resnet20", seed=5)
    torch.manual_seed(123)
    assert scores_of(CHANNEL_RANDOM, "resnet20", seed=5) == first
    assert scores_of(CHANNEL_RANDOM, "resnet20", seed=6) != first
    assert len(set(first)) == len(groups) and all(0 <= score < 1 for score in first)


def test_bad_scores_and_selections_are_refused_in_one_line():
    lenet, groups = model_and_groups("lenet5")
    resnet, _ = model_and_groups("resnet20")
    matched = Allocation.MATCHED
    calls = [
        (lambda: scores_of(CHANNEL_BN, "lenet5"), "has no batch norm"),
        (lambda: filter_l1(resnet, groups), "compute the groups for this model"),
        (lambda: select_groups([0.0], groups, lenet, 2, GLOBAL), "1 scores for 570"),
        (lambda: select_groups([0.0] * 570, groups, lenet, 0.5, GLOBAL), ">= 1"),
        (lambda: select_groups([0.0] * 570, groups, lenet, 2, matched), "global, layerwise"),
        (lambda: select_groups([math.nan] * 570, groups, lenet, 2, GLOBAL), "finite numbers"),
    ]
    for call, message in calls:
        with pytest.raises(PrunebenchError, match=re.escape(message)) as error:
            call()
        assert "\n" not in str(error.value)
