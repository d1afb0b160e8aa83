"""params.yaml as typed, validated dataclasses.

The pipeline's first stage, ``resolve``, parses the whole file (:func:`parse_params`), refuses
what no method can reach (:func:`check_reachable`) and writes one small record per later stage
(:func:`prunebench.pipeline.resolve.resolve`): exactly the values that stage's results depend on,
with every benchmark default filled in (the finetuning recipe, the validation size, the model).
Later stages read only their record, never params.yaml. So:

- a bad value or an unknown name stops ``dvc repro`` at the first stage, in one line, before DVC
  has deleted or replaced any output of a later stage;
- a benchmark's recipe edited in code changes the resolved file and re-runs exactly the stages
  that read it, like a params change does;
- a stage imports no validation code it does not run (strategies, benchmarks), so editing that
  code does not invalidate, say, finetuned cells.
"""

from dataclasses import dataclass, field
from typing import Any

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.typed import from_mapping
from prunebench.pipeline.cells import validate_grid


@dataclass(frozen=True)
class DataParams:
    """Where non-embedded datasets live and how the validation split is held out of train."""

    root: str | None = None
    download: bool = False
    validation_size: int | None = None  # None: the benchmark's own
    split_seed: int = 0


@dataclass(frozen=True)
class PretrainedParams:
    """Local mirror of published weights, and the seed and recipe of our own pretraining."""

    mirror: str | None = None  # None: $PRUNEBENCH_PRETRAINED_MIRROR, else download by URL
    train: bool = False  # True: train our own even where published weights exist
    seed: int = 0
    recipe: dict = field(default_factory=dict)  # overrides of the benchmark's pretrain recipe


@dataclass(frozen=True)
class PruneParams:
    """How masks are computed: prunable set and the data that gradient/activation scores see."""

    include_classifier: bool = False
    score_batches: int = 1
    score_batch_size: int = 64
    # Hyperparameters of the method under evaluation (its options dataclass; baselines run with
    # their defaults). Add one with `dvc exp run -S +prune.options.rounds=5`.
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int = 1000


@dataclass(frozen=True)
class LatencyParams:
    """How measured latency is timed (``docs/design.md``, "Measured speed")."""

    repeats: int = 30  # timed runs per timing, after the warm-up (at least MINIMUM_REPEATS)
    warmup: int = 5
    batch_sizes: list[int] | None = None  # None: 1 and the evaluation batch size
    # Whose cells are timed; None: every seed of the run. A cell's latency is set by its layer
    # shapes and its count of nonzero weights, which the target fixes for every seed.
    seeds: list[int] | None = None


MINIMUM_REPEATS = 30


@dataclass(frozen=True)
class Params:
    benchmark: str
    strategy: str
    baselines: list[str]
    matched_controls: list[str]
    compressions: list[float]
    seeds: list[int]
    data: DataParams
    pretrained: PretrainedParams
    prune: PruneParams
    finetune: dict[str, Any]  # overrides of the benchmark's finetune recipe
    evaluate: EvaluateParams
    latency: LatencyParams = field(default_factory=LatencyParams)
    equal_budget: bool = False  # one-shot methods finetune as many rounds as the iterative ones
    # Which initial models the grid starts from (a factor like the seed); 0 is the default run's.
    initial_models: list[int] = field(default_factory=lambda: [0])

    @property
    def methods(self) -> list[str]:
        """The strategy under evaluation first, then the baselines, each once."""
        return [self.strategy] + [name for name in self.baselines if name != self.strategy]


REQUIRED = ("benchmark", "strategy", "baselines", "matched_controls", "compressions", "seeds")
SECTIONS = ("data", "pretrained", "prune", "finetune", "evaluate", "latency")
OPTIONAL = ("equal_budget", "initial_models")


def parse_params(raw: object) -> Params:
    """Validate a loaded params.yaml; raise :class:`PrunebenchError` on the first problem."""
    from prunebench.benchmarks.registry import BENCHMARKS
    from prunebench.strategies import STRATEGIES, find_strategy
    from prunebench.strategies.matched import MATCHED_CONTROLS

    if not isinstance(raw, dict):
        raise PrunebenchError("params.yaml must be a mapping of names to values")
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise PrunebenchError(f"params.yaml is missing {missing[0]!r}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(SECTIONS) - set(OPTIONAL))
    if unknown:
        valid = ", ".join(REQUIRED + SECTIONS + OPTIONAL)
        raise PrunebenchError(f"unknown params key {unknown[0]!r}; valid keys: {valid}")
    benchmark = BENCHMARKS[raw["benchmark"]]
    strategy = raw["strategy"]
    if not isinstance(strategy, str):
        raise PrunebenchError(
            f"strategy must be a single name, got {strategy!r}; "
            f"valid choices: {', '.join(STRATEGIES.names())} or package.module:attribute"
        )
    find_strategy(strategy)
    baselines = raw["baselines"]
    if not isinstance(baselines, list):
        raise PrunebenchError(f"baselines must be a list of strategy names, got {baselines!r}")
    for name in baselines:
        STRATEGIES[name]
    if len(set(baselines)) != len(baselines):
        raise PrunebenchError(f"baselines contain duplicates: {baselines!r}")
    matched = raw["matched_controls"]
    if not isinstance(matched, list) or len(set(map(str, matched))) != len(matched):
        raise PrunebenchError(
            f"matched_controls must be a list of distinct names, got {matched!r}; "
            f"valid choices: {', '.join(MATCHED_CONTROLS.names())}"
        )
    for name in matched:
        MATCHED_CONTROLS[name]
    validate_grid(raw["compressions"], raw["seeds"])
    params = Params(
        benchmark=raw["benchmark"],
        strategy=strategy,
        baselines=list(baselines),
        matched_controls=list(matched),
        compressions=[float(c) for c in raw["compressions"]],
        seeds=list(raw["seeds"]),
        data=from_mapping(DataParams, raw.get("data"), "data"),
        pretrained=from_mapping(PretrainedParams, raw.get("pretrained"), "pretrained"),
        prune=from_mapping(PruneParams, raw.get("prune"), "prune"),
        finetune=raw.get("finetune") or {},
        evaluate=from_mapping(EvaluateParams, raw.get("evaluate"), "evaluate"),
        latency=from_mapping(LatencyParams, raw.get("latency"), "latency"),
        equal_budget=raw.get("equal_budget", False),
        initial_models=raw.get("initial_models", [0]),
    )
    if not isinstance(params.equal_budget, bool):
        raise PrunebenchError(f"equal_budget must be true or false, got {params.equal_budget!r}")
    find_strategy(strategy).parse_options(params.prune.options)
    if params.prune.options and strategy in params.baselines:
        raise PrunebenchError(
            f"prune.options are for the method under evaluation, {strategy!r}, which is also a "
            "baseline run with its defaults: the two would share a name; drop it from baselines "
            "or the options"
        )
    # Building the recipes validates their keys and ranges now rather than mid-pipeline.
    benchmark.finetune.updated(params.finetune)
    if benchmark.pretrain is not None:
        benchmark.pretrain.updated(params.pretrained.recipe)
    if params.pretrained.train and benchmark.pretrain is None:
        raise PrunebenchError(
            f"pretrained.train is true, but benchmark {params.benchmark!r} has no pretraining "
            "recipe; it uses published weights only"
        )
    if params.prune.score_batches < 1 or params.prune.score_batch_size < 1:
        raise PrunebenchError("prune.score_batches and prune.score_batch_size must be >= 1")
    if params.evaluate.batch_size < 1:
        raise PrunebenchError("evaluate.batch_size must be >= 1")
    _check_latency(params.latency, params.seeds)
    _check_initial_models(params, benchmark.pretrained)
    if params.data.validation_size is not None and params.data.validation_size < 1:
        raise PrunebenchError("data.validation_size must be >= 1 (or null: the benchmark's)")
    if params.pretrained.seed < 0 or params.data.split_seed < 0:
        raise PrunebenchError("pretrained.seed and data.split_seed must be >= 0")
    return params


def _check_latency(latency: LatencyParams, seeds: list[int]) -> None:
    if latency.repeats < MINIMUM_REPEATS:  # types: checked by from_mapping
        raise PrunebenchError(
            f"latency.repeats is {latency.repeats}; a median and interquartile range need at "
            f"least {MINIMUM_REPEATS} timed runs"
        )
    if latency.warmup < 0:
        raise PrunebenchError(f"latency.warmup must be a whole number >= 0, got {latency.warmup!r}")
    sizes = latency.batch_sizes
    if sizes is not None and (
        not isinstance(sizes, list)
        or not sizes
        or any(isinstance(size, bool) or not isinstance(size, int) or size < 1 for size in sizes)
        or len(set(sizes)) != len(sizes)
    ):
        raise PrunebenchError(
            "latency.batch_sizes must be null or a list of distinct whole numbers >= 1, "
            f"got {sizes!r}"
        )
    timed = latency.seeds
    if timed is not None and (
        not isinstance(timed, list)
        or not timed
        or len(set(timed)) != len(timed)
        or any(seed not in seeds for seed in timed)
    ):
        valid = ", ".join(str(seed) for seed in seeds)
        raise PrunebenchError(
            f"latency.seeds must be null (every seed) or distinct seeds of the run, got "
            f"{timed!r}; valid seeds: {valid}"
        )


def _check_initial_models(params: Params, published: str | None) -> None:
    """Refuse ``initial_models`` naming an initial model the run cannot start from, in one line.

    Published weights are the initial models that ship (ours: ``scripts/publish_pretrained.py``
    makes initial model k from seed k); weights published by others (ShrinkBench's,
    torchvision's) are one training run, so one initial model. Pretraining our own
    (``pretrained.train``, or a benchmark without published weights) makes initial model k from
    seed ``pretrained.seed + k``, so any k is valid there.
    """
    from prunebench.benchmarks.pretrained import (
        INITIAL_MODELS,
        initial_model_source,
        published_initial_models,
        verify_bundled,
    )

    chosen = params.initial_models
    trains = params.pretrained.train or published is None
    valid = [0] if trains else published_initial_models(published)
    choices = "0, 1, 2, ... (each pretrained here)" if trains else ", ".join(map(str, valid))
    malformed = (
        not isinstance(chosen, list)
        or not chosen
        or any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in chosen)
        or len(set(chosen)) != len(chosen)
    )
    if malformed or 0 not in chosen:
        raise PrunebenchError(
            f"initial_models must be a list of distinct initial models including 0 (the one "
            f"every run shares), got {chosen!r}; valid choices: {choices}"
        )
    if trains:
        return
    unpublished = [k for k in chosen if k not in valid]
    if unpublished and published not in INITIAL_MODELS:
        raise PrunebenchError(
            f"initial model {unpublished[0]} does not exist for benchmark {params.benchmark!r}: "
            f"it starts from weights published by others ({published}), one training run, so "
            "it has one initial model; valid choices: 0"
        )
    if unpublished:
        raise PrunebenchError(
            f"initial model {unpublished[0]} of benchmark {params.benchmark!r} is not published; "
            f"valid choices: {choices} (or pretrained.train: true pretrains initial model k "
            "from seed pretrained.seed + k)"
        )
    # Resolve depends on the whole benchmarks folder, the bundled weights included: damaged
    # weights must stop the run here, before resolve is recorded as done.
    if published in INITIAL_MODELS:
        for initial_model in chosen:
            verify_bundled(initial_model_source(published, initial_model))


def check_reachable(params: Params) -> None:
    """Refuse a target compression that a method of the run cannot reach, before any work.

    Unstructured strategies count parameters on a model built on the meta device; channel
    strategies trace a freshly initialised model (the groups do not depend on the weights).
    """
    import torch

    from prunebench.benchmarks.registry import BENCHMARKS
    from prunebench.models import create_model
    from prunebench.strategies import find_strategy

    benchmark = BENCHMARKS[params.benchmark]
    options = method_options(params)
    for method in params.methods:
        strategy = find_strategy(method)
        with torch.device("cpu" if strategy.structure == "channel" else "meta"):
            model = create_model(benchmark.model, benchmark.num_classes)
        try:
            strategy.check_reachable(
                model,
                params.compressions,
                input_shape=benchmark.input_shape,
                include_classifier=params.prune.include_classifier,
                options=options[method],
            )
        except PrunebenchError as error:
            raise PrunebenchError(f"strategy {method!r}: {error}") from None


def method_options(params: Params) -> dict[str, Any]:
    """Each method's options dataclass: ``prune.options`` for the strategy, defaults otherwise."""
    from prunebench.strategies import find_strategy

    return {
        method: find_strategy(method).parse_options(
            params.prune.options if method == params.strategy else {}
        )
        for method in params.methods
    }


LEADERBOARD_KEYS = ("methods", "compressions", "seeds")


def leaderboard_params(raw: object, leaderboard: object) -> Params:
    """params.yaml's benchmark and settings on the leaderboard's methods and grid.

    ``leaderboard`` is leaderboard/params.yaml: ``methods`` (registered names), ``compressions``
    and ``seeds``. Every method runs with its defaults, as a baseline does, so params.yaml's
    ``strategy``, ``baselines``, ``matched_controls`` and ``prune.options`` do not apply.
    """
    from prunebench.strategies import STRATEGIES

    if not isinstance(leaderboard, dict) or set(leaderboard) != set(LEADERBOARD_KEYS):
        raise PrunebenchError(
            f"leaderboard/params.yaml must hold exactly the keys {', '.join(LEADERBOARD_KEYS)}"
        )
    methods = leaderboard["methods"]
    if not isinstance(methods, list) or len(methods) < 2 or len(set(methods)) != len(methods):
        raise PrunebenchError(
            f"leaderboard methods must be a list of at least two distinct names, got {methods!r}; "
            f"valid choices: {', '.join(STRATEGIES.names())}"
        )
    for name in methods:
        STRATEGIES[name]
    compressions = leaderboard["compressions"]
    if isinstance(compressions, list) and len(compressions) < 2:
        raise PrunebenchError(
            f"a curve average needs at least two leaderboard compressions, got {compressions!r}"
        )
    if not isinstance(raw, dict):
        raise PrunebenchError("params.yaml must be a mapping of names to values")
    prune = raw.get("prune") or {}
    if isinstance(prune, dict):
        prune = prune | {"options": {}}
    grid = {"compressions": compressions, "seeds": leaderboard["seeds"], "prune": prune}
    methods_as_baselines = {"strategy": methods[0], "baselines": methods, "matched_controls": []}
    # The leaderboard ranks methods from the default pipeline's initial model alone (its stages
    # read models/pretrained/model.safetensors): one grid, one footing.
    one_initial_model = {"initial_models": [0]}
    return parse_params(raw | grid | methods_as_baselines | one_initial_model)


STUDY_KEYS = ("initial_models",)
"""What study/params.yaml sets; everything else is params.yaml's."""


def study_params(raw: object, study: object) -> Params:
    """params.yaml's run on the study's initial models (study/params.yaml: ``initial_models``).

    The study is the default run (its method, baselines, matched controls, grid and settings)
    repeated from several initial models, so a verdict can be checked on each (the paper's
    Figure 8 question); study/dvc.yaml writes it under results/study, beside the default run.
    """
    if not isinstance(study, dict) or set(study) != set(STUDY_KEYS):
        raise PrunebenchError(
            f"study/params.yaml must hold exactly the keys {', '.join(STUDY_KEYS)}"
        )
    chosen = study["initial_models"]
    if not isinstance(chosen, list) or len(chosen) < 2:
        raise PrunebenchError(
            f"a study compares initial models: study initial_models must list at least two, "
            f"got {chosen!r}"
        )
    if not isinstance(raw, dict):
        raise PrunebenchError("params.yaml must be a mapping of names to values")
    return parse_params(raw | {"initial_models": chosen})
