"""SynFlow: scores by hand, the iterative schedule, exact counts, no side effects on the model."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.models import create_model
from prunebench.sparsity.masks import prunable_parameters
from prunebench.strategies import STRATEGIES
from prunebench.strategies.allocation import global_allocation, keep_count
from prunebench.strategies.score import ScoreInputs
from prunebench.strategies.synflow import (
    SynflowOptions,
    synflow_final_scores,
    synflow_masks,
    synflow_schedule,
    synflow_scores,
)
from prunebench.strategies.weight_scores import MAGNITUDE

COMPRESSIONS = [2, 4, 8, 16, 32]
INPUT_SHAPES = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32)}
FAST = SynflowOptions(rounds=10)
DETERMINISM_COMPRESSION = 8


def seeded_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, 10)


def kept_per_layer(masks: dict[str, torch.Tensor]) -> dict[str, int]:
    return {name: int(mask.sum()) for name, mask in masks.items()}


def two_layer_network(
    first: list[list[float]], second: list[list[float]], bias: list[float] | None = None
) -> nn.Sequential:
    """``Linear(3, 2) -> ReLU -> Linear(2, 1)`` with the given weights (and first-layer bias)."""
    network = nn.Sequential(
        nn.Linear(3, 2, bias=bias is not None), nn.ReLU(), nn.Linear(2, 1, bias=False)
    )
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor(first))
        network[2].weight.copy_(torch.tensor(second))
        if bias is not None:
            network[0].bias.copy_(torch.tensor(bias))
    return network


def both_weights(network: nn.Module) -> dict[str, nn.Parameter]:
    return {"0.weight": network[0].weight, "2.weight": network[2].weight}


W1 = [[0.5, -2.0, 0.25], [-1.5, 0.75, -3.0]]
W2 = [[-4.0, 0.5]]


def test_scores_match_a_hand_computation():
    # R = 1^T |W2| |W1| 1, so dR/d|W1[i, j]| = |W2[0, i]| and dR/d|W2[0, i]| = sum_j |W1[i, j]|.
    # The negative weights would close the ReLU (and flip signs) if they were not linearised.
    network = two_layer_network(W1, W2)
    scores = synflow_scores(network, both_weights(network), (3,))
    first, second = torch.tensor(W1).double().abs(), torch.tensor(W2).double().abs()
    expected_first = first * second.T  # |W1[i, j]| * |W2[0, i]|
    expected_second = second * first.sum(dim=1)  # |W2[0, i]| * sum_j |W1[i, j]|
    assert list(scores) == ["0.weight", "2.weight"]
    assert scores["0.weight"].dtype == torch.float64
    assert torch.allclose(scores["0.weight"], expected_first, rtol=1e-12, atol=0)
    assert torch.allclose(scores["2.weight"], expected_second, rtol=1e-12, atol=0)
    assert scores["0.weight"][1, 2].item() == 3.0 * 0.5 and scores["2.weight"][0, 0] == 4.0 * 2.75


def test_biases_enter_the_flow_as_absolute_values():
    # h_i = sum_j |W1[i, j]| + |b_i|; the bias only changes the second layer's scores.
    bias = [-5.0, 0.25]
    network = two_layer_network(W1, W2, bias)
    parameters = {"2.weight": network[2].weight}
    scores = synflow_scores(network, parameters, (3,))
    hidden = torch.tensor(W1).double().abs().sum(dim=1) + torch.tensor(bias).double().abs()
    expected = torch.tensor(W2).double().abs() * hidden
    assert torch.allclose(scores["2.weight"], expected, rtol=1e-12, atol=0)


def test_batch_norm_runs_in_eval_mode_on_absolute_values_of_its_state():
    # As the paper's linearize(): |gamma|, |beta| and the running statistics' absolute values.
    network = nn.Sequential(
        nn.Linear(3, 2, bias=False), nn.BatchNorm1d(2), nn.ReLU(), nn.Linear(2, 1, bias=False)
    )
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor(W1))
        network[3].weight.copy_(torch.tensor(W2))
        network[1].weight.copy_(torch.tensor([-2.0, 0.5]))
        network[1].bias.copy_(torch.tensor([-0.25, 1.0]))
        network[1].running_mean.copy_(torch.tensor([-1.0, 0.5]))
        network[1].running_var.copy_(torch.tensor([4.0, 0.25]))
    network.train()  # SynFlow must still use the running statistics
    scores = synflow_scores(network, {"3.weight": network[3].weight}, (3,))
    norm = network[1]
    pre = torch.tensor(W1).double().abs().sum(dim=1)
    hidden = torch.relu(
        (pre - norm.running_mean.double().abs())
        / (norm.running_var.double() + norm.eps).sqrt()
        * norm.weight.double().abs()
        + norm.bias.double().abs()
    )
    expected = torch.tensor(W2).double().abs() * hidden
    assert torch.allclose(scores["3.weight"], expected, rtol=1e-12, atol=0)
    assert network.training and norm.num_batches_tracked.item() == 0


def test_masked_weights_are_zero_in_the_flow_and_score_zero():
    network = two_layer_network(W1, W2)
    masks = {"0.weight": torch.tensor([[True, False, True], [False, False, False]])}
    scores = synflow_scores(network, both_weights(network), (3,), masks)
    first = torch.tensor(W1).double().abs() * masks["0.weight"]
    second = torch.tensor(W2).double().abs()
    assert torch.allclose(scores["0.weight"], first * second.T, rtol=1e-12, atol=0)
    # Row 1 of W1 is fully pruned: no flow reaches W2[0, 1], so it scores zero too.
    assert torch.allclose(scores["2.weight"], second * first.sum(dim=1), rtol=1e-12, atol=0)
    assert scores["2.weight"][0, 1] == 0


def test_one_round_is_the_global_top_k_of_the_scores():
    model = seeded_model("lenet5")
    parameters = prunable_parameters(model)
    count = keep_count(model, parameters, 16)
    expected = global_allocation(synflow_scores(model, parameters, (1, 28, 28)), count)
    masks = synflow_masks(model, parameters, count, (1, 28, 28), SynflowOptions(rounds=1))
    assert list(masks) == list(expected)
    for name in masks:
        assert torch.equal(masks[name], expected[name]), name


def test_the_schedule_is_exponential_and_ends_on_the_target():
    assert synflow_schedule(1000, 10, 2) == [100, 10]
    assert synflow_schedule(1000, 10, 1) == [10]
    assert synflow_schedule(1000, 1000, 3) == [1000, 1000, 1000]
    expected = [round(10_000 * (37 / 10_000) ** (k / 100)) for k in range(1, 100)] + [37]
    assert synflow_schedule(10_000, 37, 100) == expected
    with pytest.raises(PrunebenchError, match="keep_count"):
        synflow_schedule(1000, 1001, 3)


@pytest.mark.parametrize("name", list(INPUT_SHAPES))
def test_exactly_keep_count_weights_are_kept_deterministically(name):
    model = seeded_model(name)
    parameters = prunable_parameters(model)
    for compression in COMPRESSIONS:
        count = keep_count(model, parameters, compression)
        masks = synflow_masks(model, parameters, count, INPUT_SHAPES[name], FAST)
        assert list(masks) == list(parameters)
        for mask_name, mask in masks.items():
            assert mask.dtype == torch.bool and mask.shape == parameters[mask_name].shape
        assert sum(kept_per_layer(masks).values()) == count, compression
        if compression == DETERMINISM_COMPRESSION:  # once per model: each call costs 10 rounds
            again = synflow_masks(model, parameters, count, INPUT_SHAPES[name], FAST)
            assert all(torch.equal(masks[key], again[key]) for key in masks)


@pytest.mark.parametrize("rounds", [2, 5, 10])
def test_the_last_round_ranks_only_the_weights_the_round_before_kept(rounds):
    # The last round's scores are -1 exactly where an earlier round pruned (every real score is
    # an absolute value, >= 0): as many scores >= 0 as the schedule's next-to-last count, and
    # the final masks lie inside them.
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 5))
    parameters = both_weights(network)  # 200 + 50 weights; keep 8
    options = SynflowOptions(rounds=rounds)
    scores = synflow_final_scores(network, parameters, 8, (20,), options)
    assert all(bool(torch.isfinite(score).all()) for score in scores.values())
    kept_before = {name: score >= 0 for name, score in scores.items()}
    pruned = [score[~kept_before[name]] for name, score in scores.items()]
    assert all(bool((values == -1).all()) for values in pruned)
    scheduled = synflow_schedule(250, 8, rounds)[-2]
    assert sum(int(kept.sum()) for kept in kept_before.values()) == scheduled
    masks = synflow_masks(network, parameters, 8, (20,), options)
    assert sum(int(mask.sum()) for mask in masks.values()) == 8
    for name, mask in masks.items():
        assert not (mask & ~kept_before[name]).any(), name


def test_a_pruned_weight_stays_pruned_even_when_it_would_win_a_tie():
    # W1 = [[1, 2, 1], [2, 2, 1]], W2 = [[1, 1]]; keep 1 of 8 in 3 rounds: 4, 2, then 1 kept.
    # Round 1 scores W1 as W1 * W2 = [[1, 2, 1], [2, 2, 1]] and W2 as W2 * row sums = [4, 5]:
    # it keeps both of W2 and, of the tied 2s, the earlier W1[0, 1] and W1[1, 0].
    # Round 2 scores those four 2, 2, 2, 2 and keeps the earlier two, W1[0, 1] and W1[1, 0].
    # Round 3: W2 is gone, so every weight scores 0. Were the pruned weights not at -1, the
    # tie would go to the earliest weight, W1[0, 0], pruned in round 1; it stays pruned.
    network = two_layer_network([[1.0, 2.0, 1.0], [2.0, 2.0, 1.0]], [[1.0, 1.0]])
    masks = synflow_masks(network, both_weights(network), 1, (3,), SynflowOptions(rounds=3))
    assert masks["0.weight"].tolist() == [[False, True, False], [False, False, False]]
    assert masks["2.weight"].tolist() == [[False, False]]


@pytest.mark.parametrize("name", list(INPUT_SHAPES))
def test_the_model_is_left_exactly_as_it_was(name):
    model = seeded_model(name)
    model.train()
    model.get_submodule(model.classifier_name).eval()  # a deliberately mixed mode survives too
    parameters = prunable_parameters(model)
    first = next(iter(parameters.values()))
    first.grad = torch.full_like(first, 0.5)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    modes = {module: module.training for module in model.modules()}
    flags = {key: value.requires_grad for key, value in model.named_parameters()}
    count = keep_count(model, parameters, 8)
    synflow_masks(model, parameters, count, INPUT_SHAPES[name], SynflowOptions(rounds=3))
    synflow_scores(model, parameters, INPUT_SHAPES[name])
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert after[key].dtype == value.dtype and torch.equal(after[key], value), key
    assert {module: module.training for module in model.modules()} == modes
    assert {key: value.requires_grad for key, value in model.named_parameters()} == flags
    assert torch.equal(first.grad, torch.full_like(first, 0.5))
    assert all(weight.grad is None for weight in list(parameters.values())[1:])


def test_iterative_synflow_avoids_the_layer_collapse_of_one_shot_scores():
    # LeNet-5 near its largest reachable compression (about 77): global magnitude empties fc1
    # and single-shot SynFlow does too; 100-round SynFlow keeps every layer connected.
    model = seeded_model("lenet5")
    parameters = prunable_parameters(model)
    count = keep_count(model, parameters, 70)
    magnitude = global_allocation(
        MAGNITUDE.compute(ScoreInputs(model, parameters, 0, None, F.cross_entropy)), count
    )
    assert min(kept_per_layer(magnitude).values()) == 0
    one_shot = synflow_masks(model, parameters, count, (1, 28, 28), SynflowOptions(rounds=1))
    assert min(kept_per_layer(one_shot).values()) == 0
    iterative = synflow_masks(model, parameters, count, (1, 28, 28), SynflowOptions(rounds=20))
    assert min(kept_per_layer(iterative).values()) > 0


@pytest.mark.parametrize("rounds", [0, -1, 1.5, True, "10"])
def test_options_are_validated(rounds):
    with pytest.raises(PrunebenchError) as error:
        SynflowOptions(rounds=rounds)
    message = str(error.value)
    assert "rounds" in message and "\n" not in message


def test_bad_arguments_are_refused_in_one_line():
    model = seeded_model("lenet5")
    parameters = prunable_parameters(model)
    cases = [
        lambda: synflow_masks(model, parameters, 10**9, (1, 28, 28), FAST),
        lambda: synflow_masks(model, parameters, 10.0, (1, 28, 28), FAST),
        lambda: synflow_masks(model, {}, 10, (1, 28, 28), FAST),
        lambda: synflow_scores(model, {"conv1.weight": parameters["conv2.weight"]}, (1, 28, 28)),
        lambda: synflow_scores(model, parameters, (1, 0, 28)),
        lambda: synflow_scores(
            model, parameters, (1, 28, 28), {"conv1.weight": torch.ones(3, dtype=torch.bool)}
        ),
    ]
    for case in cases:
        with pytest.raises(PrunebenchError) as error:
            case()
        assert "\n" not in str(error.value)


def test_synflow_passes_the_strategy_contract_on_lenet5_at_every_target():
    # The contract refuses NaN or infinite scores; the last round once marked the weights that
    # earlier rounds pruned with -inf, so the registered strategy was refused on every cell.
    model = seeded_model("lenet5")
    parameters = prunable_parameters(model)
    strategy = STRATEGIES["synflow"]
    for compression in COMPRESSIONS:
        masks = strategy.masks(model, compression, seed=0, input_shape=(1, 28, 28), options=FAST)
        kept = sum(int(mask.sum()) for mask in masks.values())
        assert kept == keep_count(model, parameters, compression), compression
