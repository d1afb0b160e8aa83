"""Strategies: exact compression, allocations, every score against a hand computation, and the
strategy object's taxonomy (named scores, enum properties)."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.measurement.cost import mask_compression
from prunebench.models import create_model
from prunebench.sparsity.masks import prunable_parameters
from prunebench.strategies import (
    STRATEGIES,
    IterativeOptions,
    Score,
    ScoreInputs,
    Strategy,
    compute_masks,
)
from prunebench.strategies.allocation import DIRECT_SELECTION_SIZE, top_k_masks
from prunebench.strategies.channel_scores import CHANNEL_L1
from prunebench.strategies.matched import MATCHED_CONTROLS
from prunebench.strategies.weight_scores import ACTIVATION, GRADIENT, LAMP, MAGNITUDE

COMPRESSIONS = [2, 4, 8, 16, 32]
PAPER_STRATEGIES = [
    "random",
    "global_mag",
    "layer_mag",
    "global_grad",
    "layer_grad",
    "global_act",
    "layer_act",
    "lamp",
]


def random_batches(shape: tuple[int, ...], count: int = 2, size: int = 8, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(size, *shape, generator=generator), torch.randint(0, 10, (size,)))
        for _ in range(count)
    ]


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``torch.testing.assert_close`` costs seconds of imports on its first call; this does not."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-7), (actual, expected)


MODELS = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32)}


@pytest.fixture(scope="module", params=list(MODELS))
def model_and_batches(request):
    torch.manual_seed(0)
    model = create_model(request.param, 10)
    return model, random_batches(MODELS[request.param])


SPEC_NEXT_METHODS = [
    "random_channel",
    "layer_channel_l1",
    "global_channel_l1",
    "global_channel_bn",
    "imp",
    "gmp",
    "synflow",
]


def test_every_paper_strategy_and_the_specs_next_methods_are_registered():
    assert sorted(PAPER_STRATEGIES + SPEC_NEXT_METHODS) == STRATEGIES.names()


@pytest.mark.parametrize("strategy", PAPER_STRATEGIES)
def test_every_strategy_meets_every_target_within_one_weight(model_and_batches, strategy):
    model, batches = model_and_batches
    weights = prunable_parameters(model)
    total = sum(parameter.numel() for parameter in model.parameters())
    for compression in COMPRESSIONS:
        masks = compute_masks(model, strategy, compression, seed=0, batches=batches)
        assert list(masks) == list(weights)
        for name, mask in masks.items():
            assert mask.dtype == torch.bool
            assert mask.shape == weights[name].shape
        nonzero = total / mask_compression(model, masks)
        assert abs(nonzero - total / compression) <= 1
        assert mask_compression(model, masks) == pytest.approx(compression, rel=1e-4)


def test_scoring_leaves_the_model_as_it_was():
    model = create_model("resnet20", 10)
    model.train()
    model.layer1.eval()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    for strategy in ("global_grad", "global_act"):
        compute_masks(model, strategy, 4, seed=0, batches=random_batches((3, 32, 32)))
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(parameter.grad is None for parameter in model.parameters())
    assert model.training and not model.layer1.training and model.layer2.training


def test_layerwise_keeps_the_same_fraction_of_every_layer_and_global_does_not():
    model = create_model("resnet20", 10)
    layerwise = compute_masks(model, "layer_mag", 8, seed=0)
    keep_count = sum(int(mask.sum()) for mask in layerwise.values())
    fraction = keep_count / sum(mask.numel() for mask in layerwise.values())
    for mask in layerwise.values():
        assert int(mask.sum()) in (
            math.floor(fraction * mask.numel()),
            math.ceil(fraction * mask.numel()),
        )
    global_masks = compute_masks(model, "global_mag", 8, seed=0)
    fractions = [mask.float().mean().item() for mask in global_masks.values()]
    # Kaiming init: layers with small fan-in have large weights, so global keeps more of them.
    assert max(fractions) - min(fractions) > 0.2


def test_global_magnitude_keeps_the_largest_weights_of_the_whole_network():
    model = create_model("resnet20", 10)
    masks = compute_masks(model, "global_mag", 16, seed=0)
    weights = prunable_parameters(model)
    kept = torch.cat([weights[name].detach().abs()[mask] for name, mask in masks.items()])
    pruned = torch.cat([weights[name].detach().abs()[~mask] for name, mask in masks.items()])
    assert kept.min() >= pruned.max()


class TwoLayerNet(nn.Module):
    classifier_name = "second"

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(3, 4, bias=False)
        self.second = nn.Linear(4, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.relu(self.first(x)))


def score_inputs(model: nn.Module, batches, seed: int = 0) -> ScoreInputs:
    parameters = prunable_parameters(model, include_classifier=True)
    return ScoreInputs(model, parameters, seed, batches, F.cross_entropy)


def test_gradient_scores_equal_a_hand_computation_on_a_two_layer_network():
    torch.manual_seed(0)
    model = TwoLayerNet()
    batches = [(torch.randn(5, 3), torch.randint(0, 2, (5,))) for _ in range(2)]
    first, second = model.first.weight.detach(), model.second.weight.detach()
    first_gradient, second_gradient = torch.zeros_like(first), torch.zeros_like(second)
    for x, labels in batches:
        pre_activation = x @ first.T
        hidden = pre_activation.clamp(min=0)
        logits = hidden @ second.T
        # d(mean cross-entropy)/d(logits) = (softmax - one-hot) / batch size
        d_logits = (logits.softmax(dim=1) - F.one_hot(labels, 2)) / len(labels)
        second_gradient += d_logits.T @ hidden
        d_pre_activation = (d_logits @ second) * (pre_activation > 0)
        first_gradient += d_pre_activation.T @ x
    scores = GRADIENT.compute(score_inputs(model, batches))
    assert_close(scores["first.weight"], (first * first_gradient).abs())
    assert_close(scores["second.weight"], (second * second_gradient).abs())


def test_activation_scores_equal_a_hand_computation_on_a_two_layer_network():
    torch.manual_seed(0)
    model = TwoLayerNet()
    batches = [(torch.randn(5, 3), torch.zeros(5, dtype=torch.int64)) for _ in range(3)]
    inputs = torch.cat([x for x, _ in batches])
    hidden = (inputs @ model.first.weight.detach().T).clamp(min=0)
    scores = ACTIVATION.compute(score_inputs(model, batches))
    first_expected = model.first.weight.detach().abs() * inputs.abs().mean(dim=0)
    second_expected = model.second.weight.detach().abs() * hidden.mean(dim=0)
    assert_close(scores["first.weight"], first_expected)
    assert_close(scores["second.weight"], second_expected)


def test_activation_scores_of_a_grouped_conv_use_each_weights_own_input_channel():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 6, 3, groups=2, bias=False))
    batches = [(torch.randn(2, 4, 5, 5), torch.zeros(2, dtype=torch.int64))]
    images = batches[0][0]
    scores = ACTIVATION.compute(score_inputs(model, batches))["0.weight"]
    weight = model[0].weight.detach()
    for output_channel in range(6):
        for group_input in range(2):
            channel = (output_channel // 3) * 2 + group_input
            expected = weight[output_channel, group_input].abs() * images[:, channel].abs().mean()
            assert_close(scores[output_channel, group_input], expected)


def test_lamp_scores_equal_a_hand_computation():
    model = nn.Sequential(nn.Linear(5, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[3.0, -1.0, 2.0, -2.0, 0.5]]))
    scores = LAMP.compute(score_inputs(model, None))["0.weight"]
    # squares 9, 1, 4, 4, 0.25; denominators sum the squares of every weight at least as large
    expected = torch.tensor([[9 / 9, 1 / 18, 4 / 17, 4 / 17, 0.25 / 18.25]], dtype=torch.float64)
    assert_close(scores, expected)


def test_lamp_keeps_the_largest_weight_of_every_layer():
    model = create_model("resnet20", 10)
    masks = compute_masks(model, "lamp", 32, seed=0)
    weights = prunable_parameters(model)
    for name, mask in masks.items():
        assert mask.flatten()[weights[name].detach().abs().argmax()]


def test_random_masks_depend_on_the_seed_only():
    model = create_model("lenet5", 10)
    torch.manual_seed(123)
    first = compute_masks(model, "random", 8, seed=7)
    torch.manual_seed(456)
    again = compute_masks(model, "random", 8, seed=7)
    other = compute_masks(model, "random", 8, seed=8)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


class Untouchable:
    """Batches that fail the test if a strategy starts scoring."""

    def __iter__(self):
        raise AssertionError("scoring started before the arguments were checked")


@pytest.mark.parametrize("compression", [1000, 0.5, 0, -2, math.inf, math.nan, "4", True])
def test_impossible_or_malformed_compression_raises_before_any_work(compression):
    model = create_model("lenet5", 10)
    with pytest.raises(PrunebenchError, match="compression"):
        compute_masks(model, "global_grad", compression, seed=0, batches=Untouchable())


def test_impossible_compression_names_the_unprunable_parameters():
    model = create_model("lenet5", 10)
    unprunable = 20 + 50 + 500 + 500 * 10 + 10
    with pytest.raises(PrunebenchError, match=f"compression 1000 cannot be met: {unprunable} "):
        compute_masks(model, "global_mag", 1000, seed=0)


def test_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(PrunebenchError, match="global_mag"):
        compute_masks(create_model("lenet5", 10), "magnitude", 4, seed=0)


def test_data_strategies_need_batches():
    model = create_model("lenet5", 10)
    with pytest.raises(PrunebenchError, match="batches"):
        compute_masks(model, "layer_act", 4, seed=0)
    with pytest.raises(PrunebenchError, match="no batches"):
        compute_masks(model, "global_grad", 4, seed=0, batches=[])


def test_non_finite_gradients_are_rejected():
    model = create_model("lenet5", 10)
    images = torch.full((2, 1, 28, 28), math.nan)
    with pytest.raises(PrunebenchError, match="not finite"):
        compute_masks(model, "global_grad", 4, seed=0, batches=[(images, torch.zeros(2).long())])


def reference_top_k(parts: list[torch.Tensor], k: int) -> list[torch.Tensor]:
    """The k highest entries by a full stable sort: ties go to the earlier position."""
    flat = torch.cat([part.flatten() for part in parts])
    order = torch.sort(flat, descending=True, stable=True).indices
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    keep[order[:k]] = True
    return [
        chunk.view(part.shape)
        for chunk, part in zip(keep.split([p.numel() for p in parts]), parts, strict=True)
    ]


@pytest.mark.parametrize(
    "values",
    [
        "normal",
        "few_distinct",
        "constant",
        "ascending",
        "descending",
        "alternating",
        "conv_aliased",
    ],
)
def test_top_k_is_exact_with_ties_broken_by_position(values):
    generator = torch.Generator().manual_seed(0)
    size = DIRECT_SELECTION_SIZE + 54_321  # large enough to take the bracketing path
    flat = {
        "normal": lambda: torch.randn(size, generator=generator),
        "few_distinct": lambda: torch.randint(0, 5, (size,), generator=generator).float(),
        "constant": lambda: torch.ones(size),
        "ascending": lambda: torch.arange(size).float(),
        "descending": lambda: -torch.arange(size).float(),
        "alternating": lambda: (torch.arange(size) % 2).float(),
        # Every ninth value large, as a 3x3 kernel's centre tap might be.
        "conv_aliased": lambda: (
            torch.rand(size, generator=generator) + 10 * (torch.arange(size) % 9 == 4)
        ),
    }[values]()
    parts = [flat[:1000].view(10, 100), flat[1000:70_000], flat[70_000:].view(-1, 1)]
    # The extreme k fall outside any sampled bracket, so its fallbacks are exercised too.
    for k in (1, 7, size // 10, size // 2, size - 3):
        masks = top_k_masks(parts, k)
        expected = reference_top_k(parts, k)
        assert all(torch.equal(got, want) for got, want in zip(masks, expected, strict=True))
    assert all(not mask.any() for mask in top_k_masks(parts, 0))
    assert all(mask.all() for mask in top_k_masks(parts, size))


def test_global_magnitude_agrees_with_torch_global_unstructured():
    """torchvision ResNet-50 (23M prunable weights) at compression 10; they differ only on ties."""
    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = create_model("resnet50", 1000)
    masks = compute_masks(model, "global_mag", 10, seed=0)
    weights = prunable_parameters(model)
    pruned_count = sum(int((~mask).sum()) for mask in masks.values())
    modules = [model.get_submodule(name.rpartition(".")[0]) for name in weights]
    prune.global_unstructured(
        [(module, "weight") for module in modules],
        pruning_method=prune.L1Unstructured,
        amount=pruned_count,
    )
    agreeing = sum(
        int((module.weight_mask.bool() == masks[name]).sum())
        for name, module in zip(weights, modules, strict=True)
    )
    assert agreeing / sum(mask.numel() for mask in masks.values()) >= 0.9999


def test_every_strategy_and_control_reports_its_score_under_the_name_reports_use():
    # These names colour the figures and sort the checklist's baselines: they never change.
    assert {name: STRATEGIES[name].properties()["score"] for name in STRATEGIES} == {
        "random": "random",
        "global_mag": "magnitude",
        "layer_mag": "magnitude",
        "global_grad": "gradient",
        "layer_grad": "gradient",
        "global_act": "activation",
        "layer_act": "activation",
        "lamp": "lamp",
        "random_channel": "channel_random",
        "layer_channel_l1": "channel_l1",
        "global_channel_l1": "channel_l1",
        "global_channel_bn": "channel_bn",
        "synflow": "synflow",
        "imp": "magnitude",
        "gmp": "magnitude",
    }
    assert {name: MATCHED_CONTROLS[name].name for name in MATCHED_CONTROLS} == {
        "matched_random": "random",
        "matched_mag": "magnitude",
    }


def test_a_score_is_known_by_its_declared_name_not_its_functions():
    def any_function_name(inputs: ScoreInputs) -> dict:
        return MAGNITUDE.compute(inputs)

    renamed = Strategy(Score("magnitude", any_function_name), "layerwise")
    assert renamed.properties() == STRATEGIES["layer_mag"].properties()


def test_the_taxonomy_words_are_enums_and_accept_their_strings():
    strategy = Strategy(MAGNITUDE, "layerwise", "unstructured", "iterative")
    assert strategy.allocation is Allocation.LAYERWISE
    assert strategy.structure is Structure.UNSTRUCTURED
    assert strategy.pruning_schedule is PruningSchedule.ITERATIVE
    assert strategy.options is IterativeOptions  # the pruning schedule's own by default
    assert strategy.properties() == {
        "score": "magnitude",
        "allocation": "layerwise",
        "structure": "unstructured",
        "schedule": "iterative",
        "options": {"rounds": 3},
    }
    assert STRATEGIES["gmp"].pruning_schedule is PruningSchedule.GRADUAL


def magnitude_function(inputs: ScoreInputs) -> dict:
    return MAGNITUDE.compute(inputs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Strategy(MAGNITUDE, allocation="matched"),
            "unknown allocation 'matched'; valid choices: global, layerwise",
        ),
        (
            lambda: Strategy(MAGNITUDE, structure="filter"),
            "unknown structure 'filter'; valid choices: unstructured, channel",
        ),
        (
            lambda: Strategy(MAGNITUDE, pruning_schedule="cyclic"),
            "unknown pruning schedule 'cyclic'; valid choices: one_shot, iterative, gradual",
        ),
        (
            lambda: Strategy(magnitude_function),
            "a strategy's score must be a prunebench.strategies.Score(name, compute)",
        ),
        (lambda: Score("fan in", magnitude_function), "a score's name must be a word"),
        (lambda: Score("fan_in", "magnitude"), "score 'fan_in' must compute with a function"),
        (
            lambda: Strategy(CHANNEL_L1, structure="channel", pruning_schedule="gradual"),
            "a gradual schedule needs an unstructured, data-free score",
        ),
    ],
)
def test_a_malformed_strategy_or_score_is_refused_in_one_line(make, message):
    with pytest.raises(PrunebenchError, match=re.escape(message)) as error:
        make()
    assert "\n" not in str(error.value)
