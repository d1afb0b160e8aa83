"""Matched controls: the method's per-layer counts exactly, filled at random or by magnitude."""

import pytest
import torch

from prunebench.foundations.errors import PrunebenchError
from prunebench.models import create_model
from prunebench.sparsity.masks import prunable_parameters
from prunebench.strategies import compute_masks
from prunebench.strategies.matched import MATCHED_CONTROLS, matched_masks


@pytest.fixture(scope="module", params=["lenet5", "resnet20"])
def model(request):
    torch.manual_seed(0)
    return create_model(request.param, 10)


def counts(masks):
    return {name: int(mask.sum()) for name, mask in masks.items()}


@pytest.mark.parametrize("control", ["matched_random", "matched_mag"])
def test_every_layer_keeps_exactly_the_methods_count(model, control):
    reference = compute_masks(model, "lamp", 8, seed=0)
    masks = matched_masks(model, control, reference, seed=0)
    assert counts(masks) == counts(reference)
    assert all(mask.dtype == torch.bool for mask in masks.values())


def test_matched_mag_keeps_the_largest_weights_of_each_layer(model):
    reference = compute_masks(model, "global_grad", 4, seed=0, batches=_batches(model))
    masks = matched_masks(model, "matched_mag", reference, seed=0)
    for name, weight in prunable_parameters(model).items():
        kept, dropped = weight.detach().abs()[masks[name]], weight.detach().abs()[~masks[name]]
        if len(kept) and len(dropped):
            assert kept.min() >= dropped.max()


def test_matched_mag_of_global_magnitude_is_global_magnitude(model):
    # Global magnitude already keeps the largest weights of every layer it prunes.
    reference = compute_masks(model, "global_mag", 16, seed=0)
    masks = matched_masks(model, "matched_mag", reference, seed=0)
    assert all(torch.equal(masks[name], reference[name]) for name in reference)


def test_matched_random_is_seeded_and_unlike_the_method(model):
    reference = compute_masks(model, "global_mag", 4, seed=0)
    first = matched_masks(model, "matched_random", reference, seed=1)
    again = matched_masks(model, "matched_random", reference, seed=1)
    other = matched_masks(model, "matched_random", reference, seed=2)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert any(not torch.equal(first[name], other[name]) for name in first)
    assert any(not torch.equal(first[name], reference[name]) for name in first)


def test_a_reference_for_another_model_is_refused(model):
    with pytest.raises(PrunebenchError, match="not a parameter of the model"):
        matched_masks(model, "matched_mag", {"nope.weight": torch.ones(3)}, seed=0)


def test_unknown_control_lists_the_valid_ones(model):
    with pytest.raises(PrunebenchError, match="valid choices: matched_mag, matched_random"):
        matched_masks(model, "matched_grad", {}, seed=0)
    assert MATCHED_CONTROLS.names() == ["matched_mag", "matched_random"]


def _batches(model):
    shape = (1, 28, 28) if type(model).__name__.startswith("LeNet") else (3, 32, 32)
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(8, *shape, generator=generator), torch.randint(0, 10, (8,)))]


@pytest.mark.parametrize("control", ["matched_random", "matched_mag"])
def test_a_channel_methods_counts_are_copied_to_every_weight_it_masks(control):
    """Channel masks also cut the classifier's input columns; the control copies that count too,
    and leaves the biases and batch norm the method removed dense."""
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    reference = compute_masks(model, "global_channel_l1", 16, seed=0, input_shape=(1, 28, 28))
    weights = prunable_parameters(model, include_classifier=True)
    assert counts(reference)["fc2.weight"] < weights["fc2.weight"].numel()
    masks = matched_masks(model, control, reference, seed=0)
    assert counts(masks) == {name: counts(reference)[name] for name in weights}
