"""The records the stages write about each cell, typed: what one stage tells the next.

- :class:`MaskMetadata`: in every mask file's header (prune writes it, finetune adds the final
  masks' compression);
- :class:`TrainingSummary`: ``training.json`` of a finetuned cell (finetune writes, evaluate
  reads);
- :class:`PretrainedSource`: ``source.json`` beside the initial model (fetch_pretrained);
- :class:`CellMetrics` and :class:`ControlMetrics`: a cell's ``metrics.json`` and
  ``results/control.json``: the metrics record of ``prunebench.measurement.records`` with what
  the cell is and what it was produced from.

Field names are the files' keys. In a cell's records, ``strategy`` holds the name of the cell's
method (a registry name, ``package.module:attribute``, or a matched control) and ``schedule`` its
pruning schedule: the names the files have always had (``docs/design.md``, "Vocabulary").
"""

from dataclasses import dataclass, field
from typing import Any

from prunebench.foundations.taxonomy import PruningSchedule
from prunebench.foundations.typed import OMIT_IF_NONE, Record
from prunebench.measurement.records import ModelMetrics
from prunebench.training.recipe import Recipe


@dataclass(frozen=True)
class MaskMetadata(Record):
    """What a mask file's masks are: whose, for which cell, reaching what, made from what."""

    described_as = "mask metadata"

    strategy: str
    """The cell's method."""
    target_compression: float
    achieved_compression: float
    seed: int
    prune: dict[str, Any]
    """The prune stage's inputs less the grid (``PruneConfig.cell_inputs``)."""
    options: dict[str, Any] | None = field(default=None, metadata=OMIT_IF_NONE)
    """A strategy's hyperparameters (absent for a matched control)."""
    schedule: PruningSchedule | None = field(default=None, metadata=OMIT_IF_NONE)
    """A strategy's pruning schedule (absent for a matched control: one-shot)."""
    strategy_source: str | None = field(default=None, metadata=OMIT_IF_NONE)
    """Digest of the code a scheduled strategy runs in the finetune stage."""
    matched_to: str | None = field(default=None, metadata=OMIT_IF_NONE)
    """A matched control's method under evaluation."""

    @property
    def pruning_schedule(self) -> PruningSchedule:
        return self.schedule or PruningSchedule.ONE_SHOT


@dataclass(frozen=True)
class Budget(Record):
    """The training a cell used: epochs and optimizer steps over all rounds, and rounds."""

    epochs: int
    steps: int
    rounds: int


@dataclass(frozen=True)
class FinetuneOutcome(Record):
    """How a cell's finetuning went: epochs run, the best epoch, and every epoch's curves."""

    epochs_run: int
    best_epoch: int
    best_validation_top1: float
    history: list[dict[str, float]]


@dataclass(frozen=True)
class TrainingSummary(FinetuneOutcome):
    """``training.json``: what a finetuned cell was trained from, and how it went."""

    described_as = "training summary"

    strategy: str
    target_compression: float
    seed: int
    recipe: Recipe
    pretrained_sha256: str
    data_sha256: str
    budget: Budget

    def outcome(self) -> FinetuneOutcome:
        return FinetuneOutcome(
            epochs_run=self.epochs_run,
            best_epoch=self.best_epoch,
            best_validation_top1=self.best_validation_top1,
            history=self.history,
        )


@dataclass(frozen=True)
class PretrainedSource(Record):
    """``source.json``: where the initial model came from, published or trained here."""

    described_as = "pretrained source"

    kind: str
    """``"published"`` or ``"trained in the pipeline"``."""
    name: str | None = field(default=None, metadata=OMIT_IF_NONE)
    sha256: str | None = field(default=None, metadata=OMIT_IF_NONE)
    recipe: Recipe | None = field(default=None, metadata=OMIT_IF_NONE)
    seed: int | None = field(default=None, metadata=OMIT_IF_NONE)
    epochs_run: int | None = field(default=None, metadata=OMIT_IF_NONE)
    best_epoch: int | None = field(default=None, metadata=OMIT_IF_NONE)
    best_validation_top1: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True)
class CellInputs(Record):
    """What every cell must share with every other and with the control to be compared."""

    recipe: Recipe
    pretrained_sha256: str
    data_sha256: str


@dataclass(frozen=True)
class ControlInputs(Record):
    pretrained_sha256: str
    data_sha256: str


@dataclass(frozen=True)
class CellMetrics(ModelMetrics):
    """A cell's ``metrics.json``: a pruned, finetuned model measured on the test split."""

    strategy: str
    target_compression: float
    seed: int
    finetune: FinetuneOutcome
    budget: Budget
    schedule: PruningSchedule
    inputs: CellInputs
    initial_model: int | None = field(default=None, metadata=OMIT_IF_NONE)
    """The initial model it started from, k >= 1 (None: initial model 0, the key left out so that
    a run of one initial model writes the records it always wrote)."""


@dataclass(frozen=True)
class ControlMetrics(ModelMetrics):
    """``results/control.json``: the unpruned initial model measured the same way."""

    strategy: str
    """Always ``"control"``."""
    target_compression: float
    seed: int
    pretrained: PretrainedSource
    inputs: ControlInputs
    initial_model: int | None = field(default=None, metadata=OMIT_IF_NONE)
    """The initial model it started from, k >= 1 (None: initial model 0, the key left out so that
    a run of one initial model writes the records it always wrote)."""
