"""The strategy object: a score, an allocation, a structure, a pruning schedule and its options.

The paper's taxonomy as one value (Blalock et al. 2020, section 2). A :class:`Strategy` declares

- ``score``: a :class:`~prunebench.strategies.score.Score`, higher keeps. For the unstructured
  structure it rates every prunable weight; for the channel structure every channel group;
- ``allocation``: ``Allocation.GLOBAL`` (the highest scores anywhere) or ``Allocation.LAYERWISE``
  (the same fraction of every layer);
- ``structure``: ``Structure.UNSTRUCTURED`` (each weight on its own) or ``Structure.CHANNEL``
  (whole output channels with everything that depends on them, ``prunebench.sparsity.channels``);
- ``pruning_schedule``: ``PruningSchedule.ONE_SHOT`` (masks computed once, before finetuning),
  ``ITERATIVE`` (pruned in rounds with the benchmark's finetuning recipe after each) or
  ``GRADUAL`` (sparsity raised during finetuning, then held). Schedules run in the finetune step
  (``prunebench.strategies.schedules``); the prune step writes their first mask;
- ``options``: a frozen dataclass of its hyperparameters (``prunebench.strategies.options``); by
  default its pruning schedule's own, or none.

The three taxonomy words also accept their plain strings (``"layerwise"``), as a researcher's
module or params would write them; an unknown one is refused in one line with the valid choices.
Reporting reads these properties (:meth:`Strategy.properties`); it never guesses them from a name.

Example::

    >>> from prunebench.strategies.weight_scores import MAGNITUDE
    >>> Strategy(MAGNITUDE, "layerwise").properties()["allocation"]
    'layerwise'
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from enum import StrEnum
from typing import Any

import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.foundations.typed import as_mapping, from_mapping
from prunebench.sparsity.channels.group import ChannelGroup
from prunebench.sparsity.channels.masks import group_masks
from prunebench.sparsity.masks import MaskSet, prunable_parameters
from prunebench.strategies import contract
from prunebench.strategies.allocation import global_allocation, keep_count, layerwise_allocation
from prunebench.strategies.channel_selection import check_reachable, select_groups
from prunebench.strategies.options import SCHEDULE_OPTIONS, NoOptions
from prunebench.strategies.score import Batch, LossFunction, Score, ScoreInputs, Scores

ALLOCATIONS: dict[Allocation, Callable[[Scores, int], MaskSet]] = {
    Allocation.GLOBAL: global_allocation,
    Allocation.LAYERWISE: layerwise_allocation,
}
"""The allocations a strategy may declare (``Allocation.MATCHED`` is the matched controls')."""


@dataclass(frozen=True)
class Strategy:
    """A pruning method: what it scores, how it allocates, what it removes, and when."""

    score: Score
    allocation: Allocation = Allocation.GLOBAL
    structure: Structure = Structure.UNSTRUCTURED
    pruning_schedule: PruningSchedule = PruningSchedule.ONE_SHOT
    options: type | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.score, Score):
            raise PrunebenchError(
                f"a strategy's score must be a prunebench.strategies.Score(name, compute), "
                f"got {self.score!r}"
            )
        for name, valid in (
            ("allocation", tuple(ALLOCATIONS)),
            ("structure", tuple(Structure)),
            ("pruning_schedule", tuple(PruningSchedule)),
        ):
            object.__setattr__(self, name, _member(getattr(self, name), valid, name))
        if self.options is None:
            default = SCHEDULE_OPTIONS.get(self.pruning_schedule, NoOptions)
            object.__setattr__(self, "options", default)
        self._check_options()

    def _check_options(self) -> None:
        if not (isinstance(self.options, type) and is_dataclass(self.options)):
            raise PrunebenchError(f"a strategy's options must be a dataclass, got {self.options!r}")
        required = [
            f.name
            for f in fields(self.options)
            if f.default is MISSING and f.default_factory is MISSING
        ]
        if required:
            raise PrunebenchError(f"option {required[0]!r} of the strategy has no default")
        if self.pruning_schedule in SCHEDULE_OPTIONS:
            wanted = SCHEDULE_OPTIONS[self.pruning_schedule]
            if not issubclass(self.options, wanted):
                raise PrunebenchError(
                    f"a {self.pruning_schedule} strategy's options must extend {wanted.__name__}"
                )
            # Masks are recomputed mid-training from the weights alone: no minibatches there.
            if self.structure != Structure.UNSTRUCTURED or self.needs_batches:
                raise PrunebenchError(
                    f"a {self.pruning_schedule} schedule needs an unstructured, data-free score"
                )

    @property
    def needs_batches(self) -> bool:
        """Whether its score reads minibatches (``Score.needs_batches``)."""
        return self.score.needs_batches

    def parse_options(self, raw: Mapping[str, Any] | None, name: str = "prune.options") -> Any:
        """The options dataclass from a params mapping; unknown keys refused in one line."""
        return from_mapping(self.options, dict(raw or {}), name)

    def properties(self, options: Any = None) -> dict[str, Any]:
        """What reporting reads: score, allocation, structure, schedule and the options.

        Plain JSON values under the keys the resolved configs have always had ("schedule" is the
        pruning schedule).
        """
        options = self.options() if options is None else options
        return {
            "score": self.score.name,
            "allocation": self.allocation.value,
            "structure": self.structure.value,
            "schedule": self.pruning_schedule.value,
            "options": as_mapping(options),
        }

    def training_rounds(self, options: Any) -> int:
        """How many times the finetuning recipe runs per cell: ``rounds`` if iterative, else 1."""
        return options.rounds if self.pruning_schedule == PruningSchedule.ITERATIVE else 1

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
        if self.pruning_schedule == PruningSchedule.GRADUAL:
            parameters = _prunable(model, include_classifier)
            initial_keep = _initial_keep(parameters, options)
            for compression in compressions:
                if initial_keep < keep_count(model, parameters, compression):
                    raise PrunebenchError(
                        f"initial_sparsity {options.initial_sparsity:g} already prunes more than "
                        f"compression {compression:g} does; lower it"
                    )
        if self.structure == Structure.CHANNEL:
            groups = _channel_groups(model, input_shape)
            if not groups:
                raise PrunebenchError(f"model {type(model).__name__} has no prunable channels")
            for compression in compressions:
                check_reachable(model, groups, compression)
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
        if self.pruning_schedule == PruningSchedule.ITERATIVE:
            return self.masks(model, compression ** (1 / options.rounds), options=options, **kwargs)
        if self.pruning_schedule == PruningSchedule.GRADUAL:
            parameters = _prunable(model, kwargs.get("include_classifier", False))
            count = _initial_keep(parameters, options)
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
        inputs = ScoreInputs(
            model, parameters, seed, batches, loss_function, options, input_shape=input_shape
        )
        if self.structure == Structure.CHANNEL:
            return self._channel_masks(inputs, compression)
        count = keep if keep is not None else keep_count(model, parameters, compression)
        scores = contract.unstructured_scores(self, replace(inputs, keep_count=count))
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

    def _channel_masks(self, inputs: ScoreInputs, compression: float | None) -> MaskSet:
        """The channel structure's masks: the selected groups' slices, biases and batch norm."""
        if inputs.input_shape is None or compression is None:
            raise PrunebenchError("a channel strategy needs input_shape and a compression")
        groups = _channel_groups(inputs.model, inputs.input_shape)
        scores = contract.channel_scores(self, replace(inputs, groups=groups))
        pruned = select_groups(scores, groups, inputs.model, compression, self.allocation)
        masks = group_masks(inputs.model, groups, pruned)
        contract.check_channel_kept(inputs.model, masks, groups, compression)
        return masks


def _member(value: object, valid: tuple[StrEnum, ...], name: str) -> StrEnum:
    """The member of ``valid`` equal to ``value`` (a member or its string), else a refusal."""
    for member in valid:
        if value == member:
            return member
    what = name.replace("_", " ")
    raise PrunebenchError(f"unknown {what} {value!r}; valid choices: {', '.join(valid)}")


def _channel_groups(model: nn.Module, input_shape: tuple[int, ...]) -> list[ChannelGroup]:
    # Imported here: tracing needs Torch-Pruning, which only a channel strategy uses.
    from prunebench.sparsity.channels.dependencies import channel_groups

    return channel_groups(model, input_shape)


def _initial_keep(parameters: dict[str, nn.Parameter], options: Any) -> int:
    """Prunable weights a gradual schedule keeps at first: all but ``initial_sparsity`` of them."""
    total = sum(weight.numel() for weight in parameters.values())
    return total - round(total * options.initial_sparsity)


def _prunable(model: nn.Module, include_classifier: bool) -> dict[str, nn.Parameter]:
    parameters = prunable_parameters(model, include_classifier=include_classifier)
    if not parameters:
        raise PrunebenchError(f"model {type(model).__name__} has no prunable weights")
    return parameters
