"""What each stage reads: one typed record per ``resolved/<stage>.json``.

The ``resolve`` stage writes them (``prunebench.pipeline.resolve``) from params.yaml with the
benchmark's defaults filled in; every later stage reads only its own, so a stage declares in
``dvc.yaml`` exactly the params its results depend on. Field names are the files' keys.

Example::

    >>> config = EvaluateConfig(benchmark="b", dataset="d", model="m", batch_size=128)
    >>> EvaluateConfig.from_json(config.to_json()) == config
    True
"""

from dataclasses import dataclass, field
from typing import Any

from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.foundations.typed import OMIT_IF_NONE, Record
from prunebench.training.recipe import Recipe


@dataclass(frozen=True)
class StageConfig(Record):
    """What every stage knows of the benchmark: its registry key and what that names."""

    described_as = "resolved stage config"

    benchmark: str
    dataset: str
    model: str


@dataclass(frozen=True)
class FetchDataConfig(StageConfig):
    root: str | None
    """Directory of a non-embedded dataset (None: the standard locations)."""
    download: bool
    validation_size: int
    """Images held out of the train split for early stopping."""
    split_seed: int


@dataclass(frozen=True)
class FetchPretrainedConfig(StageConfig):
    published: str | None
    """Registry name of the published weights; None: train our own with ``recipe``."""
    mirror: str | None
    seed: int | None
    """Seed of our own pretraining: initial model k is pretrained from ``seed + k``."""
    recipe: Recipe | None
    initial_models: list[int] | None = field(default=None, metadata=OMIT_IF_NONE)
    """The initial models of the grid (params ``initial_models``); None: initial model 0 alone,
    left out of the file so that a run of one initial model reads as it always did."""


@dataclass(frozen=True)
class PruneConfig(StageConfig):
    compressions: list[float]
    seeds: list[int]
    include_classifier: bool
    score_batches: int
    score_batch_size: int
    initial_models: list[int] | None = field(default=None, metadata=OMIT_IF_NONE)
    """The initial models of the grid (params ``initial_models``); None: initial model 0 alone,
    left out of the file so that a run of one initial model reads as it always did."""

    def cell_inputs(self) -> dict[str, Any]:
        """What one cell depends on: these inputs less the grid (the cell is its own point)."""
        return {
            key: value
            for key, value in self.to_json().items()
            if key not in ("compressions", "seeds", "initial_models")
        }


@dataclass(frozen=True)
class EvaluatedStrategyConfig(Record):
    """``resolved/strategy.json``: the method under evaluation and its options, read only by its
    own prune stage (baselines run with their defaults), so that a change of either never
    touches the baselines' stages."""

    described_as = "resolved stage config"

    strategy: str
    options: dict[str, Any]


@dataclass(frozen=True)
class FinetuneConfig(StageConfig):
    recipe: Recipe
    one_shot_rounds: int
    """How many times a one-shot method runs the recipe (params ``equal_budget``)."""


@dataclass(frozen=True)
class EvaluateConfig(StageConfig):
    batch_size: int


@dataclass(frozen=True)
class TimedMethod(Record):
    """A method whose finetuned cells the latency stage times."""

    name: str
    folder: str
    """Its folder under ``models/`` and ``results/latency`` (``pipeline.layout``)."""
    structure: Structure


@dataclass(frozen=True)
class LatencyConfig(StageConfig):
    num_classes: int
    input_shape: list[int]
    batch_sizes: list[int]
    repeats: int
    warmup: int
    seeds: list[int]
    """The seeds whose cells are timed (params ``latency.seeds``; all of them by default)."""
    methods: list[TimedMethod]


@dataclass(frozen=True)
class MethodProperties(Record):
    """What reporting reads of a method: the taxonomy, from the strategy object itself."""

    score: str
    allocation: Allocation
    structure: Structure
    schedule: PruningSchedule
    """The pruning schedule (the files' key)."""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AggregateConfig(StageConfig):
    strategy: str
    """The method under evaluation (params ``strategy``)."""
    baselines: list[str]
    matched_controls: list[str]
    compressions: list[float]
    seeds: list[int]
    finetune: Recipe
    equal_budget: bool
    methods: dict[str, MethodProperties]
    """Every method of the run by name, matched controls included."""
    evaluation_batch_size: int
    initial_models: list[int] | None = field(default=None, metadata=OMIT_IF_NONE)
    """The initial models of the grid (params ``initial_models``); None: initial model 0 alone,
    left out of the file so that a run of one initial model reads as it always did."""


@dataclass(frozen=True)
class LeaderboardConfig(StageConfig):
    """``leaderboard/resolved/leaderboard.json``: what the leaderboard page ranks and how its
    cells were made."""

    methods: dict[str, MethodProperties]
    """Every ranked method by name, with what it is (its strategy's declared parts)."""
    registered: list[str]
    """Every registered method when the leaderboard was resolved: the page names those left out."""
    compressions: list[float]
    seeds: list[int]
    finetune: Recipe
    equal_budget: bool
    evaluation_batch_size: int


def grid_initial_models(config: FetchPretrainedConfig | PruneConfig | AggregateConfig) -> list[int]:
    """The initial models of ``config``'s grid: ``[0]`` unless params chose several."""
    return list(config.initial_models or [0])
