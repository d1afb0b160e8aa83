"""A strategy's hyperparameters: a frozen dataclass, every field with a default.

Set from params (``prune.options``, parsed by ``foundations.typed.from_mapping``): an unknown key
is refused naming the valid ones, a bad value in one line by the dataclass itself. A scheduled
strategy's options extend its pruning schedule's (:data:`SCHEDULE_OPTIONS`), which the schedule
reads while finetuning (``prunebench.strategies.schedules``).
"""

import numbers
from dataclasses import dataclass

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import PruningSchedule


def require_whole_number(value: object, what: str) -> None:
    """Refuse ``value`` unless it is a whole number >= 1 (``what`` names it in the message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise PrunebenchError(f"{what} must be a whole number >= 1, got {value!r}")


@dataclass(frozen=True)
class NoOptions:
    """The hyperparameters of a strategy that has none."""


@dataclass(frozen=True)
class IterativeOptions:
    """Iterative pruning: ``rounds`` rounds, each pruning by the same compression factor
    (``target ** (1 / rounds)``), each followed by the benchmark's finetuning recipe."""

    rounds: int = 3

    def __post_init__(self) -> None:
        require_whole_number(self.rounds, "rounds")


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
        require_whole_number(self.frequency, "frequency")


SCHEDULE_OPTIONS: dict[PruningSchedule, type] = {
    PruningSchedule.ITERATIVE: IterativeOptions,
    PruningSchedule.GRADUAL: GradualOptions,
}
"""The options a strategy of each pruning schedule extends; a one-shot strategy's are its own."""
