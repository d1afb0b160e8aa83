"""Channel structure: dependency groups, their masks, and the physically smaller model.

Models are the registry's own, prepared by ``channel_models.randomised`` (no parameter zero, batch
norm not the identity), so that a wrong mask cannot go unnoticed. How a strategy scores and
selects groups is tested in ``test_channel_strategies.py``.
"""

import re

import pytest
import torch
from channel_models import MODELS, masked, model_and_groups, scores_of
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation
from prunebench.measurement import cost as metrics
from prunebench.sparsity.channels.masks import group_masks
from prunebench.sparsity.channels.physical import physically_pruned
from prunebench.sparsity.channels.shortcut import ChannelMapShortcut
from prunebench.sparsity.channels.union_find import UnionFind
from prunebench.strategies import STRATEGIES
from prunebench.strategies.channel_selection import select_groups


def test_resnet20_residual_channels_of_a_stage_form_one_group_across_the_padded_shortcuts():
    model, groups = model_and_groups("resnet20")
    # 9 blocks' inner channels, plus one group per residual path: 64 paths reach stage 3.
    assert len(groups) == 3 * (16 + 32 + 64) + 64
    stem = next(group for group in groups if (group.layer, group.channels) == ("conv1", (3,)))
    slices = set(stem.slices)
    # The stem's channel 3 is added to every block of stage 1 ...
    for block in range(3):
        assert (f"layer1.{block}.conv2.weight", 0, (3,)) in slices
        assert (f"layer1.{block}.bn2.bias", 0, (3,)) in slices
        assert (f"layer1.{block}.conv1.weight", 1, (3,)) in slices
    # ... and carried, zero-padded by 8 then by 16 channels, to channel 11 of stage 2, 27 of 3.
    assert ("layer2.0.conv1.weight", 1, (3,)) in slices
    assert ("layer2.2.conv2.weight", 0, (11,)) in slices
    assert ("layer3.0.conv1.weight", 1, (11,)) in slices
    assert ("layer3.1.bn2.weight", 0, (27,)) in slices
    assert ("linear.weight", 1, (27,)) in slices
    assert stem.size == sum(
        model.get_parameter(name).numel() // model.get_parameter(name).shape[dim] * len(indices)
        for name, dim, indices in stem.slices
    )
    # A channel that only the padding feeds in stage 2 goes on to stage 3 without stage 1.
    padded = next(g for g in groups if (g.layer, g.channels) == ("layer2.0.conv2", (0,)))
    assert not any(name.startswith(("conv1", "layer1")) for name, _, _ in padded.slices)
    assert ("layer3.2.conv2.weight", 0, (16,)) in set(padded.slices)
    # A block's inner channel is its own group: the filter, its batch norm, the next conv's input.
    inner = next(g for g in groups if (g.layer, g.channels) == ("layer2.1.conv1", (5,)))
    assert inner.slices == (
        ("layer2.1.conv1.weight", 0, (5,)),
        ("layer2.1.bn1.weight", 0, (5,)),
        ("layer2.1.bn1.bias", 0, (5,)),
        ("layer2.1.conv2.weight", 1, (5,)),
    )
    assert inner.size == 32 * 9 + 2 + 32 * 9


def test_torchvision_resnet18_ties_the_downsampling_convolution_to_its_stage():
    _, groups = model_and_groups("resnet18")
    stage2 = next(g for g in groups if (g.layer, g.channels) == ("layer2.0.conv2", (7,)))
    assert {
        ("layer2.0.downsample.0.weight", 0, (7,)),
        ("layer2.0.downsample.1.weight", 0, (7,)),
        ("layer2.1.conv2.weight", 0, (7,)),
        ("layer3.0.downsample.0.weight", 1, (7,)),
    } <= set(stage2.slices)


def test_lenet5_channel_takes_its_sixteen_input_columns_of_fc1():
    model, groups = model_and_groups("lenet5")
    per_layer = [sum(g.layer == layer for g in groups) for layer in ("conv1", "conv2", "fc1")]
    assert per_layer == [20, 50, 500]
    channel = next(g for g in groups if (g.layer, g.channels) == ("conv2", (3,)))
    assert channel.slices == (
        ("conv2.weight", 0, (3,)),
        ("conv2.bias", 0, (3,)),
        ("fc1.weight", 1, tuple(range(48, 64))),
    )
    assert channel.size == 20 * 25 + 1 + 500 * 16


@pytest.mark.parametrize("name", MODELS)
def test_groups_are_disjoint_ordered_and_never_touch_logits_or_inputs(name):
    model, groups = model_and_groups(name)
    entries = [(n, dim, i) for group in groups for n, dim, indices in group.slices for i in indices]
    assert len(entries) == len(set(entries))
    order = {module_name: index for index, (module_name, _) in enumerate(model.named_modules())}
    keys = [(order[group.layer], group.channels) for group in groups]
    assert keys == sorted(keys)
    classifier = model.classifier_name
    first_conv = next(n for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
    for parameter_name, dim in {(n, d) for n, d, _ in entries}:
        assert not (parameter_name.startswith(f"{classifier}.") and dim == 0)
        assert (parameter_name, dim) != (f"{first_conv}.weight", 1)
    # Every output channel of every conv and linear layer but the classifier is in one group.
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear) and module_name != classifier:
            removed = [i for n, dim, i in entries if (n, dim) == (f"{module_name}.weight", 0)]
            assert sorted(removed) == list(range(module.weight.shape[0])), module_name


@pytest.mark.parametrize("name", MODELS)
def test_group_size_is_what_its_own_masks_remove(name):
    model, groups = model_and_groups(name)
    for index in (0, len(groups) // 3, len(groups) // 2, len(groups) - 1):
        masks = group_masks(model, groups, [index])
        assert sum(int((~mask).sum()) for mask in masks.values()) == groups[index].size


def test_masks_cover_biases_and_batch_norm_and_nothing_untouched():
    model, groups = model_and_groups("resnet20")
    masks = group_masks(model, groups, [0, 17])
    assert {"bn1.weight", "bn1.bias", "layer3.2.bn2.bias", "linear.weight"} <= set(masks)
    assert "linear.bias" not in masks  # the classifier's outputs are never removed
    assert all(mask.dtype == torch.bool for mask in masks.values())
    parameters = dict(model.named_parameters())
    assert all(mask.shape == parameters[name].shape for name, mask in masks.items())
    assert not masks["bn1.weight"][groups[0].channels[0]]
    assert int((~masks["bn1.weight"]).sum()) == 1


@pytest.mark.parametrize(
    ("name", "strategy"),
    [
        ("lenet5", "global_channel_l1"),
        ("resnet20", "layer_channel_l1"),
        ("vgg_bn_drop", "global_channel_bn"),
        ("resnet18", "random_channel"),
    ],
)
def test_physically_pruned_model_computes_what_the_masked_model_does(name, strategy):
    model, groups = model_and_groups(name)
    state_before = {key: value.clone() for key, value in model.state_dict().items()}
    score, allocation = STRATEGIES[strategy].score, STRATEGIES[strategy].allocation
    pruned = select_groups(scores_of(score, name), groups, model, 4, allocation)
    pruned_model = masked(model, group_masks(model, groups, pruned))
    smaller = physically_pruned(model, groups, pruned, MODELS[name])
    _, nonzero = metrics.parameter_counts(pruned_model)
    assert metrics.parameter_counts(smaller) == (nonzero, nonzero)
    inputs = torch.randn(4, *MODELS[name], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = pruned_model.double()(inputs.double())
        actual = smaller.double()(inputs.double())
    assert torch.allclose(actual, expected, atol=1e-5)
    assert not smaller.training
    assert all(torch.equal(value, state_before[key]) for key, value in model.state_dict().items())
    if name == "resnet20":
        assert any(isinstance(module, ChannelMapShortcut) for module in smaller.modules())


def test_resnet20_pruned_on_both_sides_of_a_padded_shortcut_computes_what_its_masks_do():
    model, groups = model_and_groups("resnet20")
    wanted = {
        ("conv1", (1,)),  # residual paths through all three stages: 1 -> 9 -> 25, 5 -> 13 -> 29
        ("conv1", (5,)),
        ("layer2.0.conv2", (0,)),  # paths fed by the padding from stage 2 on: 0 -> 16, 30 -> 46
        ("layer2.0.conv2", (30,)),
        ("layer3.0.conv2", (2,)),  # fed by the padding in stage 3 only
        ("layer3.0.conv2", (63,)),
        ("layer2.0.conv1", (4,)),  # inside a block
    }
    pruned = [i for i, g in enumerate(groups) if (g.layer, g.channels) in wanted]
    assert len(pruned) == len(wanted)
    smaller = physically_pruned(model, groups, pruned, MODELS["resnet20"])
    # Stage 2 keeps 7 padded channels on each side and stage 1's 14 channels, renumbered.
    assert smaller.layer2[0].shortcut.sources == [-1] * 7 + list(range(14)) + [-1] * 7
    assert smaller.layer3[0].shortcut.in_channels == 28
    assert len(smaller.layer3[0].shortcut.sources) == 58
    inputs = torch.randn(4, *MODELS["resnet20"], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = masked(model, group_masks(model, groups, pruned)).double()(inputs.double())
        assert torch.allclose(smaller.double()(inputs.double()), expected, atol=1e-5)


def test_deepest_pruning_of_a_resnet_leaves_every_layer_a_channel():
    model, groups = model_and_groups("resnet20")
    with pytest.raises(PrunebenchError, match="largest reachable compression is") as error:
        select_groups([0.0] * len(groups), groups, model, 1e4, Allocation.GLOBAL)
    reported = float(re.search(r"compression is ([0-9.e+]+)", str(error.value))[1])
    pruned = select_groups([0.0] * len(groups), groups, model, reported, Allocation.GLOBAL)
    smaller = physically_pruned(model, groups, pruned, MODELS["resnet20"])
    widths = [m.weight.shape[0] for m in smaller.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [1] * len(widths)
    assert smaller(torch.ones(1, 3, 32, 32)).isfinite().all()


def test_masks_of_groups_that_are_not_the_models_are_refused_in_one_line():
    lenet, groups = model_and_groups("lenet5")
    resnet, _ = model_and_groups("resnet20")
    calls = [
        (lambda: group_masks(lenet, groups, [570]), "not in 0..569"),
        (lambda: group_masks(lenet, groups, [True]), "integer indices"),
        (lambda: group_masks(resnet, groups, [0]), "compute the groups for this model"),
        (lambda: physically_pruned(resnet, groups, [0], MODELS["resnet20"]), "for this model"),
    ]
    for call, message in calls:
        with pytest.raises(PrunebenchError, match=re.escape(message)) as error:
            call()
        assert "\n" not in str(error.value)


def test_union_find_merges_sets_and_keeps_the_unprunable_one_as_representative():
    sets = UnionFind()
    sets.union((0, 1), (0, 2))
    sets.union((3, 0), (0, 2))
    assert sets.find((0, 1)) == sets.find((3, 0)) != sets.find((4, 4))
    sets.union((4, 4), None)
    sets.union(None, (3, 0))
    assert {sets.find(key) for key in [(0, 1), (0, 2), (3, 0), (4, 4)]} == {None}
