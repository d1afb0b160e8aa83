"""The registered channel strategies on real small models: whole dependency groups, nothing left
disconnected, the physically smaller model equal to the masked one, targets met within a group."""

import copy

import pytest
import torch

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.cost import compression_ratio, effective_compression
from prunebench.models import create_model
from prunebench.sparsity.channels import channel_groups, physically_pruned, pruned_groups
from prunebench.sparsity.masks import apply_masks, mask_compression
from prunebench.strategies import STRATEGIES, compute_masks

CHANNEL_STRATEGIES = [
    "random_channel",
    "layer_channel_l1",
    "global_channel_l1",
    "global_channel_bn",
]
MODELS = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32)}


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


CASES = [(model, strategy) for model in MODELS for strategy in strategies_for(model)]


@pytest.fixture(scope="module")
def models():
    return {name: trained_like(name) for name in MODELS}


@pytest.fixture(scope="module")
def groups(models):
    return {name: channel_groups(models[name], MODELS[name]) for name in MODELS}


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
    assert (layerwise.allocation, global_.allocation) == ("layerwise", "global")
    assert layerwise.properties()["structure"] == "channel"


def test_an_unreachable_target_is_refused_before_any_work(models):
    strategy = STRATEGIES["global_channel_l1"]
    with pytest.raises(PrunebenchError, match="largest reachable compression"):
        strategy.check_reachable(models["lenet5"], [2, 1e6], input_shape=MODELS["lenet5"])


def test_network_slimming_needs_batch_norm(models):
    with pytest.raises(PrunebenchError, match="no batch norm"):
        compute_masks(models["lenet5"], "global_channel_bn", 4, seed=0, input_shape=(1, 28, 28))
