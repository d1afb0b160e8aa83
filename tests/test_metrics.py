"""Metrics against hand counts and published figures; evaluation against a hand computation."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.accuracy import evaluate
from prunebench.measurement.cost import (
    activation_memory,
    compression_ratio,
    effective_compression,
    ineffective_weights,
    layer_table,
    macs,
    mask_compression,
    model_cost,
    parameter_counts,
)
from prunebench.models import create_model
from prunebench.sparsity.masks import apply_masks
from prunebench.strategies import compute_masks

LENET_INPUT = (1, 28, 28)
CIFAR_INPUT = (3, 32, 32)

# LeNet-5-Caffe on 28x28: conv 5x5 -> 24x24, pool -> 12x12, conv 5x5 -> 8x8, pool -> 4x4.
LENET_MACS = {
    "conv1.weight": 1 * 20 * 5 * 5 * 24 * 24,
    "conv2.weight": 20 * 50 * 5 * 5 * 8 * 8,
    "fc1.weight": 800 * 500,
    "fc2.weight": 500 * 10,
}


@pytest.fixture(autouse=True)
def seeded():
    """Random initialisation draws an exact 0.0 about once in 2**24 weights: fix the draws so
    that hand counts of nonzero weights hold."""
    torch.manual_seed(0)


def test_lenet5_macs_equal_the_hand_count():
    dense, nonzero = macs(create_model("lenet5", 10), LENET_INPUT)
    assert dense == sum(LENET_MACS.values()) == 2_293_000
    assert nonzero == dense


@pytest.mark.parametrize(
    ("name", "classes", "input_shape", "published"),
    [
        ("resnet20", 10, CIFAR_INPUT, 40.55e6),
        ("resnet56", 10, CIFAR_INPUT, 125.49e6),
        ("resnet18", 1000, (3, 224, 224), 1.82e9),
    ],
)
def test_macs_match_published_figures(name, classes, input_shape, published):
    dense, _ = macs(create_model(name, classes), input_shape)
    assert dense == pytest.approx(published, rel=0.005)


def test_nonzero_macs_scale_with_each_layers_fraction_of_nonzero_weights():
    model = create_model("lenet5", 10)
    with torch.no_grad():
        model.conv1.weight.view(-1)[::2] = 0  # 250 of 500 weights
        model.fc1.weight[:100] = 0  # a fifth of fc1
    rows = {row["name"]: row for row in layer_table(model, LENET_INPUT)}
    assert rows["conv1.weight"]["kept"] == 250
    assert rows["conv1.weight"]["sparsity"] == 0.5
    assert rows["conv1.weight"]["nonzero_macs"] == LENET_MACS["conv1.weight"] / 2
    assert rows["fc1.weight"]["nonzero_macs"] == LENET_MACS["fc1.weight"] * 4 / 5
    dense, nonzero = macs(model, LENET_INPUT)
    expected = dense - LENET_MACS["conv1.weight"] / 2 - LENET_MACS["fc1.weight"] / 5
    assert nonzero == pytest.approx(expected)
    assert [row["dense_macs"] for row in rows.values()] == list(LENET_MACS.values())


def test_parameter_counts_and_compression_count_every_parameter():
    model = create_model("lenet5", 10)
    for parameter in model.parameters():
        nn.init.ones_(parameter)  # all weights tie: the masks break ties by position
    total = 20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 500 * 10 + 10
    assert parameter_counts(model) == (total, total)
    masks = compute_masks(model, "global_mag", 8, seed=0)
    apply_masks(model, masks)
    assert compression_ratio(model) == pytest.approx(8, rel=1e-5)
    assert mask_compression(model, masks) == pytest.approx(8, rel=1e-5)


def test_mask_compression_counts_what_the_masks_allow():
    # Batch-norm biases start at zero: the model is more compressed than its masks say.
    model = create_model("resnet20", 10)
    masks = compute_masks(model, "layer_mag", 4, seed=0)
    assert mask_compression(model, masks) == pytest.approx(4, rel=1e-5)
    apply_masks(model, masks)
    assert compression_ratio(model) > mask_compression(model, masks)


def test_effective_compression_equals_compression_on_an_unpruned_model():
    for name, input_shape in (("lenet5", LENET_INPUT), ("resnet20", CIFAR_INPUT)):
        model = create_model(name, 10)
        assert ineffective_weights(model, input_shape) == 0
        assert effective_compression(model, input_shape) == compression_ratio(model)


def test_cutting_a_conv_output_channel_makes_the_weights_reading_it_ineffective():
    model = create_model("lenet5", 10)
    with torch.no_grad():
        model.conv1.weight[3] = 0  # channel 3 of conv1 now carries only its bias
    assert ineffective_weights(model, LENET_INPUT) == 50 * 5 * 5  # conv2 weights reading it
    assert effective_compression(model, LENET_INPUT) > compression_ratio(model)


def test_cutting_every_reader_of_a_channel_makes_the_weights_writing_it_ineffective():
    model = create_model("lenet5", 10)
    with torch.no_grad():
        model.conv2.weight[:, 7] = 0  # nothing reads conv1's channel 7 any more
        model.fc1.weight[42] = 0  # fc1 unit 42 is cut ...
    # ... so the fc2 weights reading it are ineffective too.
    assert ineffective_weights(model, LENET_INPUT) == 5 * 5 + 10


def test_effective_weights_follow_paths_through_batch_norm_and_residual_blocks():
    model = create_model("resnet20", 10)
    block = model.layer2[1]
    with torch.no_grad():
        block.conv1.weight[5] = 0
    # Only the block's conv2 weights reading channel 5 lose their path; the shortcut keeps
    # every other layer connected.
    assert ineffective_weights(model, CIFAR_INPUT) == 32 * 3 * 3


def test_activation_memory_counts_inputs_of_layers_with_parameters():
    model = create_model("lenet5", 10)
    inputs = torch.randn(4, *LENET_INPUT)
    total, nonzero = activation_memory(model, inputs)
    assert total == 28 * 28 + 20 * 12 * 12 + 800 + 500
    with torch.no_grad():
        first = F.max_pool2d(F.relu(model.conv1(inputs)), 2)
        second = F.max_pool2d(F.relu(model.conv2(first)), 2).flatten(1)
        third = F.relu(model.fc1(second))
    expected = sum(int(torch.count_nonzero(t)) for t in (inputs, first, second, third)) / 4
    assert nonzero == expected


def test_model_cost_with_masks_measures_a_masked_copy():
    model = create_model("lenet5", 10)
    masks = compute_masks(model, "global_mag", 16, seed=0)
    before = model.conv1.weight.detach().clone()
    cost = model_cost(model, torch.randn(8, *LENET_INPUT), masks)
    assert torch.equal(model.conv1.weight, before)
    assert cost.compression == pytest.approx(16, rel=1e-4)
    assert cost.compression == cost.params_total / cost.params_nonzero
    assert cost.effective_compression >= cost.compression
    assert cost.macs_dense == 2_293_000
    assert cost.speedup == cost.macs_dense / cost.macs_nonzero > 1
    assert cost.activations_nonzero <= cost.activations_total


def test_the_cost_record_keeps_the_names_of_the_metrics_file():
    model = create_model("lenet5", 10)
    cost = model_cost(model, torch.randn(2, *LENET_INPUT))
    assert set(cost.to_json()) == {
        "params_total", "params_nonzero", "compression", "effective_compression", "macs_dense",
        "macs_nonzero", "speedup", "activations_total", "activations_nonzero",
    }  # fmt: skip
    assert type(cost).from_json(cost.to_json()) == cost


class FixedLogits(nn.Module):
    """A 'model' whose logits are its inputs, so the expected metrics can be written down."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def test_evaluate_equals_a_hand_computation():
    logits = torch.tensor(
        [
            [5.0, 4, 3, 2, 1, 0, -1],  # label 0: top-1
            [5.0, 4, 3, 2, 1, 0, -1],  # label 4: top-5 only
            [5.0, 4, 3, 2, 1, 0, -1],  # label 6: neither
            [0.0, 0, 9, 0, 0, 0, 0],  # label 2: top-1
        ]
    )
    labels = torch.tensor([0, 4, 6, 2])
    model = FixedLogits().train()
    batches = [(logits[:3], labels[:3]), (logits[3:], labels[3:])]
    result = evaluate(model, batches, torch.device("cpu"))
    assert result.top1 == 2 / 4
    assert result.top5 == 3 / 4
    expected_loss = -sum(
        torch.log_softmax(row, dim=0)[label].item()
        for row, label in zip(logits, labels, strict=True)
    )
    assert result.loss == pytest.approx(expected_loss / 4)
    assert model.training


def test_top5_is_clipped_to_the_number_of_classes():
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, 2.0, 1.0]])
    result = evaluate(FixedLogits(), [(logits, torch.tensor([0, 2]))], torch.device("cpu"))
    assert result.top1 == 0 and result.top5 == 1


def test_evaluate_rejects_no_samples_and_non_finite_loss():
    with pytest.raises(PrunebenchError, match="no samples"):
        evaluate(FixedLogits(), [], torch.device("cpu"))
    logits = torch.tensor([[math.nan, 0.0]])
    with pytest.raises(PrunebenchError, match="nan"):
        evaluate(FixedLogits(), [(logits, torch.tensor([0]))], torch.device("cpu"))
