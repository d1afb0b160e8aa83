"""The strategy object: a score, an allocation, a structure, a schedule and its hyperparameters.

The paper's taxonomy as one value. A :class:`Strategy` declares

- ``score``: a function of :class:`~prunebench.strategies.scores.ScoreInputs`, higher keeps. For
  the unstructured structure it returns one tensor per prunable weight; for the channel structure
  one number per channel group (``inputs.groups``);
- ``allocation``: ``"global"`` (the highest scores anywhere) or ``"layerwise"`` (the same fraction
  of every layer);
- ``structure``: ``"unstructured"`` (each weight on its own) or ``"channel"`` (whole output
  channels with everything that depends on them, ``prunebench.sparsity.channels``);
- ``schedule``: ``"one_shot"`` (masks computed once, before finetuning), ``"iterative"`` (pruned
  in rounds with the benchmark's finetuning recipe after each) or ``"gradual"`` (sparsity raised
  during finetuning, then held). Schedules run in the finetune step
  (``prunebench.strategies.schedules``); the prune step writes their first mask;
- ``options``: a frozen dataclass of its hyperparameters, every field with a default, set from
  params (``prune.options``); an unknown key is refused naming the valid ones.

Reporting reads these properties (:meth:`Strategy.properties`); it never guesses them from a name.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.typed import as_mapping, from_mapping
from prunebench.sparsity.masks import MaskSet, prunable_parameters
from prunebench.strategies import contract
from prunebench.strategies.allocation import (
    global_allocation,
    keep_count,
    layerwise_allocation,
)
from prunebench.strategies.scores import Batch, LossFunction, ScoreInputs

ALLOCATIONS: dict[str, Callable[[dict[str, torch.Tensor], int], MaskSet]] = {
    "global": global_allocation,
    "layerwise": layerwise_allocation,
}
STRUCTURES = ("unstructured", "channel")
SCHEDULES = ("one_shot", "iterative", "gradual")


@dataclass(frozen=True)
class NoOptions:
    """The hyperparameters of a strategy that has none."""


@dataclass(frozen=True)
class IterativeOptions:
    """Iterative pruning: ``rounds`` rounds, each pruning by the same compression factor
    (``target ** (1 / rounds)``), each followed by the benchmark's finetuning recipe."""

    rounds: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise PrunebenchError(f"rounds must be a whole number >= 1, got {self.rounds!r}")


@dataclass(frozen=True)
class GradualOptions:
    """Gradual pruning on Zhu & Gupta's cubic schedule (ICLR 2018 workshop, arXiv 1710.01878).

    Sparsity of the prunable weights rises from ``initial_sparsity`` at the fraction ``start`` of
    the finetuning's optimizer steps to the target's at the fraction ``end``, the masks updated
    every ``frequency`` steps, and is held until training ends. Early stopping and the choice of
    the best epoch only consider epochs at the target sparsity.
    """

    initial_sparsity: float = 0.0
    start: float = 0.0
    end: float = 0.5
    frequency: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.initial_sparsity < 1:
            raise PrunebenchError(
                f"initial_sparsity must lie in [0, 1), got {self.initial_sparsity!r}"
            )
        if not 0 <= self.start < self.end <= 1:
            raise PrunebenchError(
                f"start and end must satisfy 0 <= start < end <= 1 (fractions of the finetuning "
                f"steps), got {self.start!r} and {self.end!r}"
            )
        if (
            isinstance(self.frequency, bool)
            or not isinstance(self.frequency, int)
            or self.frequency < 1
        ):
            raise PrunebenchError(f"frequency must be a whole number >= 1, got {self.frequency!r}")


SCHEDULE_OPTIONS = {"iterative": IterativeOptions, "gradual": GradualOptions}


@dataclass(frozen=True)
class Strategy:
    """A pruning method: what it scores, how it allocates, what it removes, and when."""

    score: Callable[[ScoreInputs], Any]
    allocation: str = "global"
    structure: str = "unstructured"
    schedule: str = "one_shot"
    options: type = NoOptions
    needs_batches: bool = False

    def __post_init__(self) -> None:
        if not callable(self.score):
            raise PrunebenchError(f"a strategy's score must be a function, got {self.score!r}")
        for name, value, choices in (
            ("allocation", self.allocation, tuple(ALLOCATIONS)),
            ("structure", self.structure, STRUCTURES),
            ("schedule", self.schedule, SCHEDULES),
        ):
            if value not in choices:
                raise PrunebenchError(
                    f"unknown {name} {value!r}; valid choices: {', '.join(choices)}"
                )
        if not (isinstance(self.options, type) and is_dataclass(self.options)):
            raise PrunebenchError(f"a strategy's options must be a dataclass, got {self.options!r}")
        required = [
            f.name
            for f in fields(self.options)
            if f.default is MISSING and f.default_factory is MISSING
        ]
        if required:
            raise PrunebenchError(f"option {required[0]!r} of the strategy has no default")
        if self.schedule in SCHEDULE_OPTIONS:
            wanted = SCHEDULE_OPTIONS[self.schedule]
            if not issubclass(self.options, wanted):
                raise PrunebenchError(
                    f"a {self.schedule} strategy's options must extend {wanted.__name__}"
                )
            # Masks are recomputed mid-training from the weights alone: no minibatches there.
            if self.structure != "unstructured" or self.needs_batches:
                raise PrunebenchError(
                    f"a {self.schedule} schedule needs an unstructured, data-free score"
                )

    @property
    def score_name(self) -> str:
        """The score's name for reports: its ``score_name`` attribute, else the function's."""
        name = getattr(self.score, "score_name", None) or getattr(self.score, "__name__", "")
        return name.removesuffix("_scores") or type(self.score).__name__

    def parse_options(self, raw: Mapping[str, Any] | None, name: str = "prune.options") -> Any:
        """The options dataclass from a params mapping; unknown keys refused in one line."""
        return from_mapping(self.options, dict(raw or {}), name)

    def properties(self, options: Any = None) -> dict[str, Any]:
        """What reporting reads: score, allocation, structure, schedule and the options."""
        options = self.options() if options is None else options
        return {
            "score": self.score_name,
            "allocation": self.allocation,
            "structure": self.structure,
            "schedule": self.schedule,
            "options": as_mapping(options),
        }

    def training_rounds(self, options: Any) -> int:
        """How many times the finetuning recipe runs per cell: ``rounds`` if iterative, else 1."""
        return options.rounds if self.schedule == "iterative" else 1

    def check_reachable(
        self,
        model: nn.Module,
        compressions: Iterable[float],
        *,
        input_shape: tuple[int, ...],
        include_classifier: bool = False,
        options: Any = None,
    ) -> None:
        """Refuse, before any work, a target compression this strategy cannot reach on ``model``.

        Unstructured: the unprunable parameters must leave room (``keep_count``). Channel: some
        set of channel groups must reach it (computed on a freshly built ``model``'s groups; the
        weights do not matter). Gradual: the initial sparsity (``options``) must not exceed the
        target's.
        """
        compressions = list(compressions)
        options = self.options() if options is None else options
        if self.schedule == "gradual":
            parameters = _prunable(model, include_classifier)
            total = sum(weight.numel() for weight in parameters.values())
            initial_keep = total - round(total * options.initial_sparsity)
            for compression in compressions:
                if initial_keep < keep_count(model, parameters, compression):
                    raise PrunebenchError(
                        f"initial_sparsity {options.initial_sparsity:g} already prunes more than "
                        f"compression {compression:g} does; lower it"
                    )
        if self.structure == "channel":
            from prunebench.sparsity.channels import channel_groups, select_groups

            groups = channel_groups(model, input_shape)
            if not groups:
                raise PrunebenchError(f"model {type(model).__name__} has no prunable channels")
            for compression in compressions:
                select_groups([0.0] * len(groups), groups, model, compression, layerwise=False)
            return
        parameters = _prunable(model, include_classifier)
        for compression in compressions:
            keep_count(model, parameters, compression)

    def first_masks(
        self, model: nn.Module, compression: float, *, options: Any = None, **kwargs: Any
    ) -> MaskSet:
        """The masks a cell starts finetuning with (what the prune step writes).

        One-shot: the masks at ``compression``. Iterative: the first round's, at
        ``compression ** (1 / rounds)``. Gradual: ``initial_sparsity`` of the prunable weights
        (all of them kept by default). ``kwargs`` are those of :meth:`masks`.
        """
        options = self.options() if options is None else options
        if self.schedule == "iterative":
            return self.masks(model, compression ** (1 / options.rounds), options=options, **kwargs)
        if self.schedule == "gradual":
            parameters = _prunable(model, kwargs.get("include_classifier", False))
            total = sum(weight.numel() for weight in parameters.values())
            count = total - round(total * options.initial_sparsity)
            return self.masks(model, keep=count, options=options, **kwargs)
        return self.masks(model, compression, options=options, **kwargs)

    def masks(
        self,
        model: nn.Module,
        compression: float | None = None,
        *,
        seed: int,
        keep: int | None = None,
        current: MaskSet | None = None,
        options: Any = None,
        input_shape: tuple[int, ...] | None = None,
        batches: Iterable[Batch] | None = None,
        include_classifier: bool = False,
        loss_function: LossFunction = F.cross_entropy,
    ) -> MaskSet:
        """Masks of ``model`` at target ``compression`` (total / nonzero over all parameters).

        Unstructured: exactly ``keep_count`` prunable weights kept, or exactly ``keep`` if given
        instead of ``compression`` (a schedule's intermediate counts). With ``current`` (the
        masks so far, in a schedule), weights already pruned score ``-inf``: a schedule only
        ever tightens its masks. Channel: the closest reachable compression (within one group),
        masks over weights, biases and batch-norm parameters. ``input_shape`` (one sample, no
        batch dimension) is needed by the channel structure and by data-free scores that run
        the network (SynFlow).
        """
        if (compression is None) == (keep is None):
            raise ValueError("give exactly one of compression and keep")
        options = self.options() if options is None else options
        if self.needs_batches and batches is None:
            raise PrunebenchError("this strategy scores weights from data: pass batches")
        parameters = _prunable(model, include_classifier)
        if self.structure == "channel":
            from prunebench.sparsity.channels import channel_groups, group_masks, select_groups

            if input_shape is None or compression is None:
                raise PrunebenchError("a channel strategy needs input_shape and a compression")
            groups = channel_groups(model, input_shape)
            inputs = ScoreInputs(
                model, parameters, seed, batches, loss_function, options, None, input_shape, groups
            )
            pruned = select_groups(
                contract.channel_scores(self, inputs),
                groups,
                model,
                compression,
                layerwise=self.allocation == "layerwise",
            )
            masks = group_masks(model, groups, pruned)
            contract.check_channel_kept(model, masks, groups, compression)
            return masks
        count = keep if keep is not None else keep_count(model, parameters, compression)
        inputs = ScoreInputs(
            model, parameters, seed, batches, loss_function, options, count, input_shape, None
        )
        scores = contract.unstructured_scores(self, inputs)
        if current is not None:
            scores = {
                name: score.masked_fill(~current[name].to(score.device), -math.inf)
                if name in current
                else score
                for name, score in scores.items()
            }
        masks = ALLOCATIONS[self.allocation](scores, count)
        contract.check_kept(masks, count)
        return masks


def _prunable(model: nn.Module, include_classifier: bool) -> dict[str, nn.Parameter]:
    parameters = prunable_parameters(model, include_classifier=include_classifier)
    if not parameters:
        raise PrunebenchError(f"model {type(model).__name__} has no prunable weights")
    return parameters
