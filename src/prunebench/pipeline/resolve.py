"""What each later stage reads of params.yaml: one typed config per stage, defaults filled in.

:func:`resolve` turns validated params (:class:`~prunebench.pipeline.params.Params`) into the
records of ``prunebench.pipeline.configs``, which the ``resolve`` stage writes to
``resolved/<stage>.json``. The method of a per-method stage is not in them: it is on the
stage's command line, so that switching ``strategy`` never touches the baselines' inputs.
"""

from dataclasses import dataclass, fields, replace
from typing import Any

from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.foundations.typed import Record
from prunebench.pipeline.configs import (
    AggregateConfig,
    EvaluateConfig,
    EvaluatedStrategyConfig,
    FetchDataConfig,
    FetchPretrainedConfig,
    FinetuneConfig,
    LatencyConfig,
    LeaderboardConfig,
    MethodProperties,
    PruneConfig,
    TimedMethod,
)
from prunebench.pipeline.layout import Role, method_folder
from prunebench.pipeline.params import Params, method_options


class StageConfigs:
    """Stage configs as dataclass fields, each named after its stage's file."""

    def items(self) -> list[tuple[str, Record]]:
        """``[(file stem, config), ...]`` in the stages' order."""
        return [(item.name, getattr(self, item.name)) for item in fields(self)]


@dataclass(frozen=True)
class ResolvedStages(StageConfigs):
    """Every later stage's config; the field name is the stage's file name under ``resolved/``."""

    fetch_data: FetchDataConfig
    fetch_pretrained: FetchPretrainedConfig
    prune: PruneConfig
    strategy: EvaluatedStrategyConfig
    finetune: FinetuneConfig
    evaluate: EvaluateConfig
    aggregate: AggregateConfig
    latency: LatencyConfig


@dataclass(frozen=True)
class ResolvedLeaderboard(StageConfigs):
    """The leaderboard pipeline's configs (leaderboard/dvc.yaml): ``leaderboard/resolved/``."""

    prune: PruneConfig
    finetune: FinetuneConfig
    evaluate: EvaluateConfig
    latency: LatencyConfig
    leaderboard: LeaderboardConfig


@dataclass(frozen=True)
class ResolvedStudy(StageConfigs):
    """The study pipeline's configs (study/dvc.yaml): ``study/resolved/``. No fetch_data (the
    study reads the default pipeline's data/splits) and no latency (another initial model
    changes no layer shape and no count of nonzero weights: the default run's timings hold)."""

    fetch_pretrained: FetchPretrainedConfig
    prune: PruneConfig
    strategy: EvaluatedStrategyConfig
    finetune: FinetuneConfig
    evaluate: EvaluateConfig
    aggregate: AggregateConfig


def method_properties(params: Params, options: dict[str, Any]) -> dict[str, MethodProperties]:
    """What reporting reads of every method of the run (``options``: ``method_options``),
    matched controls included."""
    from prunebench.strategies import find_strategy
    from prunebench.strategies.matched import MATCHED_CONTROLS

    properties = {
        method: MethodProperties.from_json(find_strategy(method).properties(options[method]))
        for method in params.methods
    }
    for name in params.matched_controls:
        properties[name] = MethodProperties(
            score=MATCHED_CONTROLS[name].name,
            allocation=Allocation.MATCHED,
            structure=Structure.UNSTRUCTURED,
            schedule=PruningSchedule.ONE_SHOT,
        )
    return properties


def method_folders(params: Params) -> dict[str, str]:
    """Where each method's cells live under models/ and results/ (``pipeline.layout``)."""
    folders = {params.strategy: method_folder(Role.EVALUATED, params.strategy)}
    folders |= {
        name: method_folder(Role.BASELINE, name) for name in params.baselines if name not in folders
    }
    folders |= {name: method_folder(Role.MATCHED, name) for name in params.matched_controls}
    return folders


def resolve(params: Params) -> ResolvedStages:
    """What each later stage reads, benchmark defaults filled in.

    One deliberate coupling between methods: with ``equal_budget``, one-shot methods are
    finetuned for as many rounds as the run's iterative method, so switching to or from an
    iterative strategy re-finetunes the baselines.
    """
    from prunebench.benchmarks.registry import BENCHMARKS
    from prunebench.strategies import find_strategy

    benchmark = BENCHMARKS[params.benchmark]
    trains = params.pretrained.train or benchmark.pretrained is None
    names = {"benchmark": params.benchmark, "dataset": benchmark.dataset, "model": benchmark.model}
    finetune = benchmark.finetune.updated(params.finetune)
    options = method_options(params)
    properties = method_properties(params, options)
    rounds = [find_strategy(method).training_rounds(options[method]) for method in params.methods]
    # One initial model is left out of the files, which then read as before it was a factor.
    initial_models = None if params.initial_models == [0] else list(params.initial_models)
    return ResolvedStages(
        fetch_data=FetchDataConfig(
            **names,
            root=params.data.root,
            download=params.data.download,
            validation_size=params.data.validation_size or benchmark.validation_size,
            split_seed=params.data.split_seed,
        ),
        fetch_pretrained=FetchPretrainedConfig(
            **names,
            published=None if trains else benchmark.pretrained,
            mirror=params.pretrained.mirror,
            seed=params.pretrained.seed if trains else None,
            recipe=benchmark.pretrain.updated(params.pretrained.recipe) if trains else None,
            initial_models=initial_models,
        ),
        prune=PruneConfig(
            **names,
            compressions=params.compressions,
            seeds=params.seeds,
            include_classifier=params.prune.include_classifier,
            score_batches=params.prune.score_batches,
            score_batch_size=params.prune.score_batch_size,
            initial_models=initial_models,
        ),
        strategy=EvaluatedStrategyConfig(
            strategy=params.strategy, options=properties[params.strategy].options
        ),
        finetune=FinetuneConfig(
            **names,
            recipe=finetune,
            # equal_budget: a one-shot method runs the recipe's epochs as many times as the
            # run's most-rounds iterative method runs the recipe.
            one_shot_rounds=max(rounds) if params.equal_budget else 1,
        ),
        evaluate=EvaluateConfig(**names, batch_size=params.evaluate.batch_size),
        aggregate=AggregateConfig(
            **names,
            strategy=params.strategy,
            baselines=params.baselines,
            matched_controls=params.matched_controls,
            compressions=params.compressions,
            seeds=params.seeds,
            finetune=finetune,
            equal_budget=params.equal_budget,
            methods=properties,
            evaluation_batch_size=params.evaluate.batch_size,
            initial_models=initial_models,
        ),
        latency=LatencyConfig(
            **names,
            num_classes=benchmark.num_classes,
            input_shape=list(benchmark.input_shape),
            batch_sizes=params.latency.batch_sizes or [1, params.evaluate.batch_size],
            repeats=params.latency.repeats,
            warmup=params.latency.warmup,
            seeds=params.seeds if params.latency.seeds is None else params.latency.seeds,
            methods=[
                TimedMethod(name=name, folder=folder, structure=properties[name].structure)
                for name, folder in method_folders(params).items()
            ],
        ),
    )


def resolve_leaderboard(params: Params) -> ResolvedLeaderboard:
    """The leaderboard's configs: every method of ``params.baselines`` (from
    :func:`~prunebench.pipeline.params.leaderboard_params`) pruned, finetuned, evaluated and timed
    as a baseline is, in its baseline folder, then ranked."""
    from prunebench.strategies import STRATEGIES

    stages = resolve(params)
    aggregate = stages.aggregate
    properties = aggregate.methods
    timed = [
        TimedMethod(name=name, folder=method_folder(Role.BASELINE, name), structure=kind.structure)
        for name, kind in properties.items()
    ]
    return ResolvedLeaderboard(
        prune=stages.prune,
        finetune=stages.finetune,
        evaluate=stages.evaluate,
        latency=replace(stages.latency, methods=timed),
        leaderboard=LeaderboardConfig(
            benchmark=aggregate.benchmark,
            dataset=aggregate.dataset,
            model=aggregate.model,
            methods=properties,
            registered=STRATEGIES.names(),
            compressions=aggregate.compressions,
            seeds=aggregate.seeds,
            finetune=aggregate.finetune,
            equal_budget=aggregate.equal_budget,
            evaluation_batch_size=aggregate.evaluation_batch_size,
        ),
    )


def resolve_study(params: Params) -> ResolvedStudy:
    """The study's configs: the default run's (:func:`resolve`) on ``params.initial_models``
    (from :func:`~prunebench.pipeline.params.study_params`)."""
    stages = resolve(params)
    return ResolvedStudy(
        **{name: getattr(stages, name) for name in ResolvedStudy.__dataclass_fields__}
    )
