"""Masks: prunable weights, applying masks, pruned weights staying zero, mask files."""

import math

import pytest
import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.models import create_model
from prunebench.sparsity.masks import (
    apply_masks,
    fold_masks,
    keep_pruned_zero,
    load_masks,
    prunable_parameters,
    save_masks,
)
from prunebench.strategies import compute_masks
from prunebench.training.loop import Recipe


def lenet_and_masks(compression: float = 4):
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    return model, compute_masks(model, "random", compression, seed=0)


def test_prunable_parameters_are_conv_and_linear_weights_without_the_classifier():
    model = create_model("lenet5", 10)
    assert list(prunable_parameters(model)) == ["conv1.weight", "conv2.weight", "fc1.weight"]
    with_classifier = prunable_parameters(model, include_classifier=True)
    assert list(with_classifier) == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"]
    assert with_classifier["fc2.weight"] is model.fc2.weight
    resnet = prunable_parameters(create_model("resnet20", 10))
    assert len(resnet) == 19 and "linear.weight" not in resnet


def test_a_model_without_classifier_name_is_refused():
    with pytest.raises(PrunebenchError, match="classifier_name"):
        prunable_parameters(nn.Sequential(nn.Linear(2, 2)))


def test_apply_masks_zeroes_exactly_the_pruned_weights():
    model, masks = lenet_and_masks()
    with torch.no_grad():
        model.conv1.weight[0, 0, 0, 0] = math.nan
    masks["conv1.weight"][0, 0, 0, 0] = False
    before = {name: weight.detach().clone() for name, weight in prunable_parameters(model).items()}
    apply_masks(model, masks)
    for name, weight in prunable_parameters(model).items():
        assert (weight[~masks[name]] == 0).all()
        assert torch.equal(weight[masks[name]], before[name][masks[name]])


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        images = torch.randn(16, 1, 28, 28, generator=generator)
        labels = torch.randint(0, 10, (16,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda parameters: torch.optim.Adam(parameters, lr=1e-3),
        lambda parameters: torch.optim.Adam(parameters, lr=1e-3, weight_decay=1e-2),
        lambda parameters: torch.optim.AdamW(parameters, lr=1e-3),
        lambda parameters: torch.optim.SGD(parameters, lr=0.05, momentum=0.9, weight_decay=5e-4),
        lambda parameters: torch.optim.SGD(
            parameters, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
        ),
        # What the training loop builds: the fused implementations.
        Recipe(optimizer="adam", learning_rate=1e-3, weight_decay=1e-2).make_optimizer,
        Recipe(optimizer="sgd", learning_rate=0.05, weight_decay=5e-4).make_optimizer,
    ],
    ids=[
        "adam",
        "adam_l2",
        "adamw",
        "sgd_momentum_decay",
        "sgd_nesterov",
        "recipe_adam_fused",
        "recipe_sgd_fused",
    ],
)
def test_pruned_weights_stay_exactly_zero_through_50_steps(make_optimizer):
    model, masks = lenet_and_masks()
    optimizer = make_optimizer(model.parameters())
    kept_before = model.fc1.weight.detach()[masks["fc1.weight"]].clone()
    handle = keep_pruned_zero(optimizer, model, masks)
    train_steps(model, optimizer, 50)
    weights = prunable_parameters(model)
    for name, mask in masks.items():
        assert torch.count_nonzero(weights[name][~mask]) == 0
        # Optimizer state built from gradients is zero too, so removing the masks later
        # would not make pruned weights jump.
        for buffer in optimizer.state[weights[name]].values():
            if torch.is_tensor(buffer) and buffer.shape == mask.shape:
                assert torch.count_nonzero(buffer[~mask]) == 0
    assert not torch.equal(model.fc1.weight.detach()[masks["fc1.weight"]], kept_before)
    # Without the hooks, training moves pruned weights: the hooks are what held them at zero.
    handle.remove()
    train_steps(model, torch.optim.SGD(model.parameters(), lr=0.05), 1)
    assert any(torch.count_nonzero(weights[name][~mask]) > 0 for name, mask in masks.items())


def test_fold_masks_leaves_a_plain_model_with_zeros():
    model, masks = lenet_and_masks()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    keep_pruned_zero(optimizer, model, masks).remove()
    folded = fold_masks(model, masks)
    plain = create_model("lenet5", 10)
    assert list(folded.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(folded.state_dict())
    assert all(not module._forward_hooks for module in folded.modules())
    assert torch.count_nonzero(plain.conv2.weight[~masks["conv2.weight"]]) == 0


def test_mask_file_round_trip(tmp_path):
    model, masks = lenet_and_masks()
    metadata = {"strategy": "random", "target_compression": 4, "seed": 0, "extra": {"a": [1.5]}}
    path = tmp_path / "masks.safetensors"
    save_masks(path, masks, metadata)
    loaded, loaded_metadata = load_masks(path, model)
    assert loaded_metadata == metadata
    assert list(loaded) == sorted(masks)
    assert all(torch.equal(loaded[name], masks[name]) for name in masks)
    assert all(mask.dtype == torch.bool for mask in loaded.values())
    assert [p.name for p in tmp_path.iterdir()] == ["masks.safetensors"]  # no temporary left


def test_identical_masks_give_identical_files(tmp_path):
    _, masks = lenet_and_masks()
    metadata = {"strategy": "random", "seed": 0, "target_compression": 4, "b": 1, "a": 2}
    save_masks(tmp_path / "first", masks, metadata)
    save_masks(tmp_path / "second", dict(reversed(masks.items())), dict(reversed(metadata.items())))
    assert (tmp_path / "first").read_bytes() == (tmp_path / "second").read_bytes()


def write_raw(path, tensors: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"prunebench": "{}"})


def test_binary_masks_of_another_dtype_are_accepted(tmp_path):
    model, masks = lenet_and_masks()
    write_raw(tmp_path / "m", {name: mask.to(torch.uint8) for name, mask in masks.items()})
    loaded, _ = load_masks(tmp_path / "m", model)
    assert all(torch.equal(loaded[name], masks[name]) for name in masks)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda masks: masks.update({"fc9.weight": masks.pop("fc1.weight")}), "'fc9.weight'"),
        (lambda masks: masks.update({"conv1.bias": torch.ones(21)}), "'conv1.bias' has shape"),
        (lambda masks: masks.update({"conv2.weight": torch.ones(50, 20, 3, 3)}), "shape"),
        (lambda masks: masks["conv1.weight"].view(-1).__setitem__(0, 2), "'conv1.weight'"),
        (
            lambda masks: masks.update({"conv2.weight": torch.full((50, 20, 5, 5), 0.5)}),
            "'conv2.weight' holds values other than 0, 1",
        ),
    ],
    ids=["unknown_name", "bias_wrong_shape", "wrong_shape", "value_2", "value_half"],
)
def test_mask_files_that_do_not_fit_are_rejected_naming_the_key(tmp_path, corrupt, message):
    model, masks = lenet_and_masks()
    raw = {name: mask.to(torch.uint8) for name, mask in masks.items()}
    corrupt(raw)
    write_raw(tmp_path / "m", raw)
    with pytest.raises(PrunebenchError, match=message):
        load_masks(tmp_path / "m", model)


def test_a_file_that_is_not_a_mask_file_is_rejected(tmp_path):
    (tmp_path / "junk").write_bytes(b"not safetensors at all")
    with pytest.raises(PrunebenchError, match="cannot read mask file"):
        load_masks(tmp_path / "junk")
    from safetensors.torch import save_file

    save_file({"conv1.weight": torch.ones(20, 1, 5, 5)}, str(tmp_path / "bare"))
    with pytest.raises(PrunebenchError, match="metadata"):
        load_masks(tmp_path / "bare")
    with pytest.raises(PrunebenchError, match="cannot read"):
        load_masks(tmp_path / "missing")


def test_apply_masks_refuses_masks_that_do_not_fit():
    model, masks = lenet_and_masks()
    with pytest.raises(PrunebenchError, match="dtype"):
        apply_masks(model, {"conv1.weight": masks["conv1.weight"].float()})
    with pytest.raises(PrunebenchError, match="shape"):
        apply_masks(model, {"conv1.weight": masks["conv1.weight"][:1]})
