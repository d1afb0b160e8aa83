"""A training recipe: every knob that changes what a finetuning (or pretraining) run produces.

Benchmarks define their recipes (``prunebench.benchmarks.registry``; the paper's appendix C for
CIFAR-10 and ImageNet); params ``finetune.*`` overrides them field by field
(:meth:`Recipe.updated`).
A recipe is a typed record: it is written into ``resolved/finetune.json`` and into every cell's
metrics under the same field names.

Example::

    >>> recipe = Recipe(epochs=1, steps_per_epoch=80).updated({"learning_rate": 1e-3})
    >>> recipe.learning_rate, recipe.optimizer.value
    (0.001, 'adam')
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.typed import Record

if TYPE_CHECKING:  # a recipe is read by stages that never train (aggregate): no torch for them
    import torch
    from torch import nn


class Optimizer(StrEnum):
    ADAM = "adam"
    SGD = "sgd"


class LearningRateSchedule(StrEnum):
    """How the learning rate moves over epochs (params ``finetune.schedule``); not to be
    confused with a strategy's pruning schedule (``foundations.taxonomy.PruningSchedule``)."""

    FIXED = "fixed"
    """The paper's finetuning: one rate throughout."""
    COSINE = "cosine"
    """Cosine annealing over the recipe's epochs: for pretraining from scratch."""


@dataclass(frozen=True)
class Recipe(Record):
    """How a model is trained.

    ``patience`` is the number of epochs without a new best validation top-1 after which
    training stops; the best epoch's weights are what the run returns. ``steps_per_epoch`` caps an
    epoch at that many optimizer steps, taken from the start of the epoch's seeded shuffle of the
    whole train split (None: one pass over it): a budget knob for the small default benchmark.
    ``schedule`` is the learning-rate schedule (its params name).
    """

    described_as = "recipe"

    optimizer: Optimizer = Optimizer.ADAM
    learning_rate: float = 3e-4
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 30
    patience: int = 5
    schedule: LearningRateSchedule = LearningRateSchedule.FIXED
    steps_per_epoch: int | None = None

    def __post_init__(self) -> None:
        for name, enum in (("optimizer", Optimizer), ("schedule", LearningRateSchedule)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                valid = ", ".join(member.value for member in enum)
                raise PrunebenchError(f"unknown {name} {value!r}; valid choices: {valid}") from None
        positive = {
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "patience": self.patience,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not (isinstance(value, int | float) and value > 0):
                raise PrunebenchError(f"recipe {name} must be a positive number, got {value!r}")
        for name in ("batch_size", "epochs", "patience"):
            if not isinstance(getattr(self, name), int):
                raise PrunebenchError(
                    f"recipe {name} must be a whole number, got {getattr(self, name)!r}"
                )
        for name in ("momentum", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PrunebenchError(f"recipe {name} must be a number, got {value!r}")
        steps = self.steps_per_epoch
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 1
        ):
            raise PrunebenchError(
                f"recipe steps_per_epoch must be a positive whole number or null, got {steps!r}"
            )
        if not isinstance(self.nesterov, bool):
            raise PrunebenchError(f"recipe nesterov must be true or false, got {self.nesterov!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise PrunebenchError(
                "recipe weight_decay must be >= 0 and momentum in [0, 1), "
                f"got {self.weight_decay!r} and {self.momentum!r}"
            )

    def updated(self, overrides: dict | None) -> "Recipe":
        """This recipe with the non-null entries of ``overrides`` (a params section) applied."""
        if overrides is not None and not isinstance(overrides, dict):
            raise PrunebenchError(f"recipe overrides must be a mapping, got {overrides!r}")
        overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise PrunebenchError(
                f"unknown recipe key {unknown[0]!r}; valid keys: {', '.join(sorted(known))}"
            )
        return replace(self, **overrides)

    def steps_per_epoch_on(self, train_size: int) -> int:
        """Optimizer steps one epoch takes on a train split of ``train_size`` images."""
        full = math.ceil(train_size / self.batch_size)
        return full if self.steps_per_epoch is None else min(full, self.steps_per_epoch)

    def make_optimizer(self, parameters: "Iterable[nn.Parameter]") -> "torch.optim.Optimizer":
        """The recipe's optimizer over ``parameters`` (already on their training device).

        The fused implementation (one kernel per step rather than one per operation and
        parameter) is used on CPU and CUDA: it is several times faster on LeNet-5
        (``docs/measurements.md``).
        """
        import torch

        parameters = list(parameters)
        fused = all(parameter.device.type in ("cpu", "cuda") for parameter in parameters)
        if self.optimizer is Optimizer.ADAM:
            return torch.optim.Adam(
                parameters, lr=self.learning_rate, weight_decay=self.weight_decay, fused=fused
            )
        return torch.optim.SGD(
            parameters,
            lr=self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            fused=fused,
        )
