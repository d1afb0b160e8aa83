"""The training loop on the embedded Fashion-MNIST sample: accuracy, determinism, faults."""

import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.benchmarks.pretrained import fetch_published, load_state_dict_strict
from prunebench.benchmarks.registry import BENCHMARKS
from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.accuracy import evaluate
from prunebench.models import create_model
from prunebench.strategies import compute_masks
from prunebench.training.loop import Recipe, _train_epoch, pretrain, train

CPU = torch.device("cpu")


def test_default_pretraining_recipe_reaches_85_percent_on_the_sample(sample, tmp_path):
    # The recipe makes exactly the published weights (test_pretrained's slow test re-runs
    # scripts/publish_pretrained.py and compares their sha256), so their top-1 is the recipe's,
    # read here without the two minutes of training that make them.
    benchmark = BENCHMARKS["fashion_mnist_sample_lenet5"]
    model = create_model(benchmark.model, sample.info.num_classes)
    load_state_dict_strict(model, fetch_published(benchmark.pretrained, None, tmp_path))
    test = evaluate(model, sample.batches("test", batch_size=1000), CPU)
    assert test.top1 >= 0.85


def test_pretraining_is_reproducible_from_its_seed_alone(sample):
    recipe = Recipe(epochs=1, patience=1)
    first, _ = pretrain("lenet5", sample, recipe, seed=3, device=CPU)
    torch.rand(10)  # whatever ran before must not matter
    again, _ = pretrain("lenet5", sample, recipe, seed=3, device=CPU)
    for name, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name


def test_training_is_deterministic_for_a_seed(sample):
    recipe = Recipe(epochs=1, patience=1)

    def weights(seed: int) -> dict:
        torch.manual_seed(123)  # the same initial weights for every run
        model = create_model("lenet5", 10)
        train(model, sample, recipe, seed=seed, device=CPU)
        return model.state_dict()

    first, again, other = weights(0), weights(0), weights(1)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_finetuning_keeps_pruned_weights_zero(sample):
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    masks = compute_masks(model, "global_mag", 8, seed=0)
    train(model, sample, Recipe(epochs=1, patience=1), seed=0, device=CPU, masks=masks)
    parameters = dict(model.named_parameters())
    for name, mask in masks.items():
        assert torch.all(parameters[name][~mask] == 0)
        assert torch.count_nonzero(parameters[name][mask]) > 0.99 * mask.sum()


def test_early_stopping_stops_after_patience_epochs_without_improvement(sample):
    model = create_model("lenet5", 10)
    # A learning rate this small leaves validation top-1 unchanged, so no epoch after the first
    # improves on it.
    recipe = Recipe(learning_rate=1e-12, epochs=10, patience=2)
    result = train(model, sample, recipe, seed=0, device=CPU)
    assert result.epochs_run == 3
    assert result.best_epoch == 1
    assert result.best_validation_top1 == max(row["validation_top1"] for row in result.history)


def test_non_finite_loss_is_one_clear_error(sample):
    model = create_model("lenet5", 10)
    with torch.no_grad():
        model.fc2.weight.fill_(float("nan"))
    with pytest.raises(PrunebenchError, match="loss became nan at epoch 1, step 0"):
        train(model, sample, Recipe(epochs=1), seed=0, device=CPU)


class GivenBatches:
    """A dataset whose every split is ``batches``, in order: training on it takes these steps."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.given = batches

    def batches(self, split: str, **options) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(self.given)


def test_train_loss_is_the_batch_weighted_mean_of_the_step_losses_bit_for_bit(sample):
    # The epoch's losses are read back once, at its end; the reported value must still be the one
    # the per-step read-back gave: sum of float(loss) * batch size in float64, in step order.
    images, labels = next(sample.batches("train", batch_size=133))
    # Two batches of 64 and a partial last one of 5, so the mean must weigh them by size.
    steps = [
        (images[:64], labels[:64]),
        (images[64:128], labels[64:128]),
        (images[128:], labels[128:]),
    ]
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    logits = []  # each training step's output, as the loss saw it
    model.register_forward_hook(
        lambda module, inputs, output: logits.append(output.detach()) if module.training else None
    )
    result = train(model, GivenBatches(steps), Recipe(epochs=1, patience=1), seed=0, device=CPU)
    assert len(logits) == 3
    loss_sum = 0.0
    for output, (_, step_labels) in zip(logits, steps, strict=True):
        loss_sum += F.cross_entropy(output, step_labels).item() * step_labels.numel()
    assert result.history[0]["train_loss"] == loss_sum / 133  # exact, not approximate


def _tiny_epoch(images: list[torch.Tensor], after_step=lambda: None) -> tuple[float, float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    labels = torch.tensor([0, 1])
    return _train_epoch(model, [(batch, labels) for batch in images], optimizer, after_step,
                        description="tiny", epoch=4)  # fmt: skip


def test_non_finite_loss_names_the_first_non_finite_step():
    images = [torch.randn(2, 4) for _ in range(5)]
    loss, top1 = _tiny_epoch(images)
    assert math.isfinite(loss) and 0 <= top1 <= 1
    images[2] = torch.full((2, 4), float("nan"))  # NaN from step 2 on: it spoils the weights
    with pytest.raises(PrunebenchError, match="tiny: loss became nan at epoch 4, step 2;"):
        _tiny_epoch(images)
    images[2] = torch.full((2, 4), float("inf"))
    with pytest.raises(PrunebenchError, match="at epoch 4, step 2;"):
        _tiny_epoch(images)


def test_an_error_after_a_non_finite_loss_is_reported_as_the_loss():
    images = [torch.randn(2, 4) for _ in range(5)]
    steps = []

    def failing_after_step() -> None:
        steps.append(1)
        if len(steps) == 4:
            raise RuntimeError("mask schedule failed on NaN weights")

    with pytest.raises(RuntimeError, match="mask schedule failed"):
        _tiny_epoch(images, failing_after_step)
    steps.clear()
    images[1] = torch.full((2, 4), float("nan"))
    with pytest.raises(PrunebenchError, match="loss became nan at epoch 4, step 1;") as raised:
        _tiny_epoch(images, failing_after_step)
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_recipe_refuses_bad_values():
    with pytest.raises(PrunebenchError, match="unknown optimizer 'rmsprop'; valid choices: adam"):
        Recipe(optimizer="rmsprop")
    with pytest.raises(PrunebenchError, match="learning_rate must be a positive number"):
        Recipe(learning_rate=0)
    with pytest.raises(PrunebenchError, match="unknown recipe key 'lr'"):
        Recipe().updated({"lr": 0.1})
    assert Recipe().updated({"epochs": 3, "patience": None}) == Recipe(epochs=3)
    with pytest.raises(PrunebenchError, match="steps_per_epoch must be a positive whole number"):
        Recipe(steps_per_epoch=0)
    with pytest.raises(PrunebenchError, match="steps_per_epoch must be a positive whole number"):
        Recipe(steps_per_epoch=2.5)


@pytest.mark.parametrize("steps", [3, None])
def test_steps_per_epoch_caps_each_epoch(sample, steps):
    model = create_model("lenet5", sample.info.num_classes)
    training_batches = []
    model.register_forward_hook(
        lambda module, args, _: training_batches.append(len(args[0])) if module.training else None
    )
    train(model, sample, Recipe(batch_size=50, epochs=2, patience=2, steps_per_epoch=steps),
          seed=0, device=CPU)  # fmt: skip
    per_epoch = -(-len(sample.train) // 50) if steps is None else steps
    assert len(training_batches) == 2 * per_epoch
