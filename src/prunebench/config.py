"""params.yaml as typed, validated dataclasses, and what each stage reads of it.

The pipeline's first stage, ``resolve``, parses the whole file (:func:`parse_params`) and writes
one small JSON per later stage (:func:`resolve`): exactly the values that stage's results depend
on, with every benchmark default filled in (the finetuning recipe, the validation size, the
model). Later stages read only their file, never params.yaml. So:

- a bad value or an unknown name stops ``dvc repro`` at the first stage, in one line, before DVC
  has deleted or replaced any output of a later stage;
- a benchmark's recipe edited in code changes the resolved file and re-runs exactly the stages
  that read it, like a params change does;
- a stage imports no validation code it does not run (strategies, benchmarks), so editing that
  code does not invalidate, say, finetuned cells.
"""

from dataclasses import dataclass, field, fields
from typing import Any, get_args

from prunebench.errors import PrunebenchError
from prunebench.grid import validate_grid


def _section(cls, raw: object, name: str):
    """Build dataclass ``cls`` from a params section, refusing unknown keys and wrong types."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PrunebenchError(f"params section {name!r} must be a mapping, got {raw!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise PrunebenchError(
            f"unknown key {name}.{unknown[0]}; valid keys: {', '.join(sorted(known))}"
        )
    for key, value in raw.items():
        hint = known[key].type
        allowed = tuple(kind for kind in get_args(hint) or (hint,) if kind is not type(None))
        if value is not None and not _is_instance(value, allowed):
            raise PrunebenchError(f"{name}.{key} has the wrong type: {value!r}")
    return cls(**raw)


def _is_instance(value: object, allowed: tuple) -> bool:
    for kind in allowed:
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind not in (int, float) and isinstance(value, kind):
            return True
    return False


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


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int = 1000


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

    @property
    def methods(self) -> list[str]:
        """The strategy under evaluation first, then the baselines, each once."""
        return [self.strategy] + [name for name in self.baselines if name != self.strategy]


REQUIRED = ("benchmark", "strategy", "baselines", "matched_controls", "compressions", "seeds")
SECTIONS = ("data", "pretrained", "prune", "finetune", "evaluate")


def parse_params(raw: object) -> Params:
    """Validate a loaded params.yaml; raise :class:`PrunebenchError` on the first problem."""
    from prunebench.benchmarks import BENCHMARKS
    from prunebench.strategies import STRATEGIES
    from prunebench.strategies.matched import MATCHED_CONTROLS

    if not isinstance(raw, dict):
        raise PrunebenchError("params.yaml must be a mapping of names to values")
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise PrunebenchError(f"params.yaml is missing {missing[0]!r}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(SECTIONS))
    if unknown:
        valid = ", ".join(REQUIRED + SECTIONS)
        raise PrunebenchError(f"unknown params key {unknown[0]!r}; valid keys: {valid}")
    benchmark = BENCHMARKS[raw["benchmark"]]
    strategy = raw["strategy"]
    if not isinstance(strategy, str):
        raise PrunebenchError(
            f"strategy must be a single name, got {strategy!r}; "
            f"valid choices: {', '.join(STRATEGIES.names())}"
        )
    STRATEGIES[strategy]
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
        data=_section(DataParams, raw.get("data"), "data"),
        pretrained=_section(PretrainedParams, raw.get("pretrained"), "pretrained"),
        prune=_section(PruneParams, raw.get("prune"), "prune"),
        finetune=raw.get("finetune") or {},
        evaluate=_section(EvaluateParams, raw.get("evaluate"), "evaluate"),
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
    if params.data.validation_size is not None and params.data.validation_size < 1:
        raise PrunebenchError("data.validation_size must be >= 1 (or null: the benchmark's)")
    if params.pretrained.seed < 0 or params.data.split_seed < 0:
        raise PrunebenchError("pretrained.seed and data.split_seed must be >= 0")
    return params


def check_reachable(params: Params) -> None:
    """Refuse a target compression that the benchmark's model cannot reach, before any work.

    The model is built on the meta device: only its parameter counts are needed.
    """
    import torch

    from prunebench.benchmarks import BENCHMARKS
    from prunebench.masks import prunable_parameters
    from prunebench.models import create_model
    from prunebench.strategies import keep_count

    benchmark = BENCHMARKS[params.benchmark]
    with torch.device("meta"):
        model = create_model(benchmark.model, benchmark.num_classes)
    prunable = prunable_parameters(model, include_classifier=params.prune.include_classifier)
    for compression in params.compressions:
        keep_count(model, prunable, compression)


def resolve(params: Params) -> dict[str, dict[str, Any]]:
    """What each later stage reads: ``{stage name: its inputs}``, benchmark defaults filled in.

    The method of a per-method stage is not here: it is on the stage's command line, so that
    switching ``strategy`` never touches the baselines' inputs.
    """
    from prunebench.benchmarks import BENCHMARKS

    benchmark = BENCHMARKS[params.benchmark]
    trains = params.pretrained.train or benchmark.pretrained is None
    common = {"benchmark": params.benchmark, "dataset": benchmark.dataset, "model": benchmark.model}
    finetune = benchmark.finetune.updated(params.finetune).as_dict()
    return {
        "fetch_data": {
            **common,
            "root": params.data.root,
            "download": params.data.download,
            "validation_size": params.data.validation_size or benchmark.validation_size,
            "split_seed": params.data.split_seed,
        },
        "fetch_pretrained": {
            **common,
            "published": None if trains else benchmark.pretrained,
            "mirror": params.pretrained.mirror,
            "seed": params.pretrained.seed if trains else None,
            "recipe": benchmark.pretrain.updated(params.pretrained.recipe).as_dict()
            if trains
            else None,
        },
        "prune": {
            **common,
            "compressions": params.compressions,
            "seeds": params.seeds,
            **vars(params.prune),
        },
        "finetune": {**common, "recipe": finetune},
        "evaluate": {**common, **vars(params.evaluate)},
        "aggregate": {
            **common,
            "strategy": params.strategy,
            "baselines": params.baselines,
            "matched_controls": params.matched_controls,
            "compressions": params.compressions,
            "seeds": params.seeds,
            "finetune": finetune,
        },
    }
