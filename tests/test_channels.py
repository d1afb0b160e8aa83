"""Channel structure: dependency groups, targets met by whole channels, masks equal to surgery.

Models are the registry's own, with every parameter made nonzero and batch-norm statistics made
non-trivial (:func:`randomised`): a fresh batch norm (scale 1, shift 0, mean 0, variance 1) or a
zero bias would let a wrong mask go unnoticed, both in a count of nonzero parameters and in the
outputs compared with the physically pruned model.
"""

import copy
import functools
import re

import pytest
import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement import cost as metrics
from prunebench.models import create_model
from prunebench.sparsity.channels import (
    SCORE_KINDS,
    ChannelGroup,
    ChannelMapShortcut,
    channel_groups,
    channel_scores,
    group_masks,
    physically_pruned,
    select_groups,
)

MODELS = {
    "lenet5": (1, 28, 28),
    "resnet20": (3, 32, 32),
    "vgg_bn_drop": (3, 32, 32),
    "resnet18": (3, 64, 64),
}
# Each score with the allocation its named strategy uses (SPEC): layer_channel_l1 is layerwise,
# global_channel_l1 (normalised), global_channel_bn and random_channel are global.
LAYERWISE = {"l1": True, "l1_normalised": False, "bn": False, "random": False}
# The 'bn' score needs batch norm, which LeNet-5 does not have.
CASES = [
    (name, kind) for name in MODELS for kind in SCORE_KINDS if (name, kind) != ("lenet5", "bn")
]
TARGETS = (2, 4)


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
    """Tracing costs a second or so per model: once per model for the whole file."""
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


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_masked_model_meets_the_target_within_one_group_and_disconnects_nothing(name, kind):
    model, groups = model_and_groups(name)
    scores = channel_scores(model, groups, kind, seed=3)
    total = sum(parameter.numel() for parameter in model.parameters())
    largest_group = max(group.size for group in groups)
    for compression in TARGETS:
        pruned = select_groups(scores, groups, model, compression, layerwise=LAYERWISE[kind])
        masks = group_masks(model, groups, pruned)
        kept = total / metrics.mask_compression(model, masks)
        assert abs(kept - total / compression) <= largest_group
    # At the higher target only: it costs a backward pass through a float64 copy of the model.
    probe = without_max_pooling(masked(model, masks))
    assert metrics.parameter_counts(probe)[1] == round(kept)
    assert metrics.effective_compression(probe, MODELS[name]) == metrics.compression_ratio(probe)


@pytest.mark.parametrize(
    ("name", "kind", "layerwise"),
    [
        ("lenet5", "l1", False),
        ("resnet20", "random", True),
        ("vgg_bn_drop", "l1_normalised", True),
        ("resnet18", "random", False),
    ],
)
def test_physically_pruned_model_computes_what_the_masked_model_does(name, kind, layerwise):
    model, groups = model_and_groups(name)
    state_before = {key: value.clone() for key, value in model.state_dict().items()}
    pruned = select_groups(
        channel_scores(model, groups, kind), groups, model, 4, layerwise=layerwise
    )
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


def test_largest_reachable_compression_keeps_one_channel_per_layer_and_beyond_is_refused():
    model, groups = model_and_groups("lenet5")
    total = sum(parameter.numel() for parameter in model.parameters())
    # One filter and bias left in conv1 (1x5x5), conv2 (1x1x5x5), fc1 (one 4x4 channel in, one
    # unit out); the classifier keeps its 10 outputs, reading one unit.
    remaining = (25 + 1) + (25 + 1) + (16 + 1) + (10 + 10)
    largest = total / remaining
    scores = channel_scores(model, groups, "random")
    for layerwise in (False, True):
        pruned = select_groups(scores, groups, model, largest, layerwise=layerwise)
        assert metrics.parameter_counts(masked(model, group_masks(model, groups, pruned))) == (
            total,
            remaining,
        )
        with pytest.raises(PrunebenchError) as error:
            select_groups(scores, groups, model, largest * 1.001, layerwise=layerwise)
        message = str(error.value)
        assert "\n" not in message
        reported = float(re.search(r"largest reachable compression is ([0-9.e+]+)", message)[1])
        assert reported == pytest.approx(largest, rel=1e-5)


def test_deepest_pruning_of_a_resnet_leaves_every_layer_a_channel():
    model, groups = model_and_groups("resnet20")
    with pytest.raises(PrunebenchError, match="largest reachable compression is") as error:
        select_groups([0.0] * len(groups), groups, model, 1e4, layerwise=False)
    reported = float(re.search(r"compression is ([0-9.e+]+)", str(error.value))[1])
    pruned = select_groups([0.0] * len(groups), groups, model, reported, layerwise=False)
    smaller = physically_pruned(model, groups, pruned, MODELS["resnet20"])
    widths = [m.weight.shape[0] for m in smaller.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [1] * len(widths)
    assert smaller(torch.ones(1, 3, 32, 32)).isfinite().all()


def test_equal_scores_prune_the_earlier_group_first_but_never_a_layers_last_channel():
    model, groups = model_and_groups("lenet5")
    # conv1 has groups 0..19, conv2 20..69, fc1 70..569: 19, 69 and 569 are last channels.
    prunable_in_order = [i for i in range(len(groups)) if i not in (19, 69, 569)]
    for compression in (1.05, 2, 4):
        pruned = select_groups([1.0] * len(groups), groups, model, compression, layerwise=False)
        assert pruned == prunable_in_order[: len(pruned)]
    scores = [1.0] * len(groups)
    scores[30] = scores[25] = 0.5  # a tie below everything else: 25 goes first
    assert select_groups(scores, groups, model, 1.02, layerwise=False) == [25]


def test_layerwise_prunes_the_same_fraction_of_every_layer_and_global_does_not():
    model, groups = model_and_groups("lenet5")
    scores = channel_scores(model, groups, "l1")
    sizes = {layer: sum(g.layer == layer for g in groups) for layer in ("conv1", "conv2", "fc1")}
    for compression in TARGETS:
        fractions = {}
        for layerwise in (True, False):
            pruned = select_groups(scores, groups, model, compression, layerwise=layerwise)
            fractions[layerwise] = {
                layer: sum(groups[i].layer == layer for i in pruned) / size
                for layer, size in sizes.items()
            }
        layerwise_fractions = fractions[True]
        for layer, fraction in layerwise_fractions.items():
            for other, other_fraction in layerwise_fractions.items():
                slack = max(1 / sizes[layer], 1 / sizes[other])
                assert abs(fraction - other_fraction) <= slack + 1e-12
        assert max(fractions[False].values()) - min(fractions[False].values()) > 0.1


def test_scores_equal_a_hand_computation():
    lenet, lenet_groups = model_and_groups("lenet5")
    l1 = channel_scores(lenet, lenet_groups, "l1")
    conv2 = [i for i, g in enumerate(lenet_groups) if g.layer == "conv2"]
    by_hand = lenet.conv2.weight.detach().abs().sum(dim=(1, 2, 3)).double()
    assert torch.allclose(torch.tensor([l1[i] for i in conv2], dtype=torch.float64), by_hand)
    normalised = channel_scores(lenet, lenet_groups, "l1_normalised")
    assert torch.allclose(
        torch.tensor([normalised[i] for i in conv2], dtype=torch.float64), by_hand / by_hand.mean()
    )

    model, groups = model_and_groups("resnet20")
    bn = channel_scores(model, groups, "bn")
    l1 = channel_scores(model, groups, "l1")
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
    model, groups = model_and_groups("resnet20")
    first = channel_scores(model, groups, "random", seed=5)
    torch.manual_seed(123)
    assert channel_scores(model, groups, "random", seed=5) == first
    assert channel_scores(model, groups, "random", seed=6) != first
    assert len(set(first)) == len(groups) and all(0 <= score < 1 for score in first)


def test_bad_arguments_are_refused_in_one_line():
    lenet, groups = model_and_groups("lenet5")
    resnet, _ = model_and_groups("resnet20")
    calls = [
        (lambda: channel_scores(lenet, groups, "bn"), "has no batch norm"),
        (lambda: channel_scores(lenet, groups, "l2"), "valid: l1, l1_normalised, bn, random"),
        (lambda: select_groups([0.0], groups, lenet, 2, layerwise=False), "1 scores for 570"),
        (lambda: select_groups([0.0] * 570, groups, lenet, 0.5, layerwise=False), ">= 1"),
        (lambda: group_masks(lenet, groups, [570]), "not in 0..569"),
        (lambda: group_masks(resnet, groups, [0]), "compute the groups for this model"),
    ]
    for call, message in calls:
        with pytest.raises(PrunebenchError, match=re.escape(message)) as error:
            call()
        assert "\n" not in str(error.value)
