"""params.yaml validation: every malformed value is one line naming it, before any work."""

import re
from pathlib import Path

import pytest
import yaml
from params_edit import with_changes

from prunebench.benchmarks.registry import BENCHMARKS
from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.cells import Cell, grid
from prunebench.pipeline.params import check_reachable, parse_params
from prunebench.pipeline.resolve import resolve

DEFAULT = yaml.safe_load((Path(__file__).resolve().parent.parent / "params.yaml").read_text())


def test_the_committed_params_are_valid_and_give_the_default_grid():
    params = parse_params(DEFAULT)
    assert params.benchmark == "fashion_mnist_sample_lenet5"
    assert params.strategy == "lamp"
    assert params.methods == [
        "lamp",
        "random",
        "global_mag",
        "layer_mag",
        "global_grad",
        "layer_grad",
    ]
    assert params.compressions == [2, 4, 8, 16, 32]
    assert len(grid(params.compressions, params.seeds)) == 5 * len(params.seeds)
    assert Cell(32, 0) in grid(params.compressions, params.seeds)


def test_a_strategy_that_is_also_a_baseline_is_listed_once():
    assert parse_params(with_changes(DEFAULT, strategy="layer_grad")).methods[:2] == [
        "layer_grad",
        "random",
    ]
    assert (
        parse_params(with_changes(DEFAULT, strategy="layer_grad")).methods.count("layer_grad") == 1
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"benchmark": "cifar11"}, "unknown benchmark 'cifar11'; valid choices: cifar10_resnet110"),
        ({"strategy": "magic"}, "unknown strategy 'magic'; valid choices: global_act"),
        ({"strategy": ["lamp", "random"]}, "strategy must be a single name"),
        ({"baselines": ["random", "nope"]}, "unknown strategy 'nope'"),
        ({"baselines": "random"}, "baselines must be a list"),
        ({"matched_controls": ["matched_rnd"]}, "unknown matched control 'matched_rnd'; valid"),
        ({"matched_controls": "matched_mag"}, "matched_controls must be a list of distinct"),
        ({"matched_controls": ["matched_mag"] * 2}, "matched_controls must be a list of distinct"),
        ({"compressions": [2, 1]}, "compression 1 is out of range"),
        ({"seeds": [0, 0]}, "seeds contain duplicates"),
        ({"finetune__epochs": 0}, "recipe epochs must be a positive number"),
        ({"finetune__lr": 0.1}, "unknown recipe key 'lr'; valid keys: batch_size"),
        ({"finetune__optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"prune__include_classifier": "yes"}, "prune.include_classifier has the wrong type"),
        ({"prune__score_batches": 0}, "prune.score_batches and prune.score_batch_size must be"),
        ({"prune__gradient_batches": 2}, "unknown key prune.gradient_batches; valid keys:"),
        ({"evaluate": [1]}, "evaluate must be a mapping"),
        ({"latency__repeats": 10}, "latency.repeats is 10; a median and interquartile range need"),
        ({"latency__repeats": 30.5}, "latency.repeats has the wrong type"),
        ({"latency__warmup": -1}, "latency.warmup must be a whole number >= 0"),
        ({"latency__batch_sizes": [1, 0]}, "latency.batch_sizes must be null or a list of"),
        ({"latency__batch_sizes": [8, 8]}, "latency.batch_sizes must be null or a list of"),
        ({"latency__batch_sizes": 8}, "latency.batch_sizes must be null or a list of"),
        ({"latency__seeds": [7]}, "distinct seeds of the run, got .7.; valid seeds: 0, 1, 2, 3, 4"),
        ({"latency__seeds": []}, "latency.seeds must be null"),
        ({"extra": 1}, "unknown params key 'extra'"),
    ],
)
def test_malformed_params_name_the_problem(changes, message):
    with pytest.raises(PrunebenchError, match=message.replace("(", r"\(")):
        parse_params(with_changes(DEFAULT, **changes))


def test_missing_required_key():
    params = with_changes(DEFAULT)
    del params["seeds"]
    with pytest.raises(PrunebenchError, match="params.yaml is missing 'seeds'"):
        parse_params(params)


def test_the_shipped_params_override_no_recipe():
    assert all(value is None for value in DEFAULT["finetune"].values())
    resolved = resolve(parse_params(DEFAULT))
    assert resolved.finetune.recipe == BENCHMARKS[DEFAULT["benchmark"]].finetune
    assert resolved.fetch_pretrained.published == "prunebench_fashion_mnist_sample_lenet5"


def test_each_benchmark_gets_its_own_recipe_unless_params_override_it():
    cifar = resolve(parse_params(with_changes(DEFAULT, benchmark="cifar10_resnet56")))
    assert cifar.finetune.recipe.epochs == 30
    assert cifar.finetune.recipe.patience == 5
    assert cifar.fetch_pretrained.published == "shrinkbench_cifar10_resnet56"
    overridden = resolve(parse_params(with_changes(DEFAULT, finetune__weight_decay=0.01)))
    assert overridden.finetune.recipe.weight_decay == 0.01
    assert overridden.aggregate.finetune == overridden.finetune.recipe


def changed_stages(one, other) -> set[str]:
    return {stage for stage, config in one.items() if getattr(other, stage) != config}


def test_a_stage_reads_only_what_changes_its_results():
    base = resolve(parse_params(DEFAULT))
    other_method = resolve(parse_params(with_changes(DEFAULT, strategy="layer_grad")))
    changed = changed_stages(base, other_method)
    # resolved/strategy.json is read by the method's own prune stage only; latency times every
    # method's cells (its records of unchanged methods stay valid).
    assert changed == {"aggregate", "strategy", "latency"}
    other_lr = resolve(parse_params(with_changes(DEFAULT, finetune__learning_rate=1e-4)))
    assert changed_stages(base, other_lr) == {"finetune", "aggregate"}


def test_training_our_own_is_a_param():
    trained = resolve(parse_params(with_changes(DEFAULT, pretrained__train=True)))
    assert trained.fetch_pretrained.published is None
    assert trained.fetch_pretrained.recipe.epochs == 12
    with pytest.raises(PrunebenchError, match="has no pretraining recipe"):
        parse_params(with_changes(DEFAULT, benchmark="cifar10_resnet20", pretrained__train=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"compressions": [2, 1e9]}, r"compression 1e\+09 cannot be met"),
        ({"compressions": [2, 1000], "prune__include_classifier": True}, "cannot be met"),
        (
            {"strategy": "global_channel_l1", "compressions": [2, 5000]},
            "strategy 'global_channel_l1': compression 5000 cannot be met by removing channels",
        ),
    ],
)
def test_unreachable_compressions_are_refused_before_any_work(changes, message):
    with pytest.raises(PrunebenchError, match=message):
        check_reachable(parse_params(with_changes(DEFAULT, **changes)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"finetune__epochs": 1.5}, "recipe epochs must be a whole number"),
        ({"finetune__nesterov": "yes"}, "recipe nesterov must be true or false"),
        ({"finetune": [1]}, "recipe overrides must be a mapping"),
        ({"data__validation_size": 0}, "data.validation_size must be >= 1"),
        ({"pretrained__seed": -1}, "pretrained.seed and data.split_seed must be >= 0"),
    ],
)
def test_bad_recipe_and_seed_values_name_the_problem(changes, message):
    with pytest.raises(PrunebenchError, match=message):
        parse_params(with_changes(DEFAULT, **changes))


def test_equal_budget_gives_one_shot_methods_the_rounds_of_the_runs_iterative_method():
    imp = with_changes(DEFAULT, strategy="imp")
    assert resolve(parse_params(imp)).finetune.one_shot_rounds == 1
    equal = resolve(parse_params(with_changes(imp, equal_budget=True)))
    assert equal.finetune.one_shot_rounds == 3
    five = with_changes(imp, equal_budget=True, prune__options={"rounds": 5})
    assert resolve(parse_params(five)).finetune.one_shot_rounds == 5
    assert resolve(parse_params(five)).strategy.to_json() == {
        "strategy": "imp",
        "options": {"rounds": 5},
    }


def test_every_method_declares_its_properties_for_reporting():
    properties = resolve(parse_params(DEFAULT)).aggregate.methods
    assert set(properties) == {"lamp", *DEFAULT["baselines"], *DEFAULT["matched_controls"]}
    assert properties["layer_mag"].allocation == "layerwise"
    assert properties["matched_mag"].to_json() == {
        "score": "magnitude",
        "allocation": "matched",
        "structure": "unstructured",
        "schedule": "one_shot",
        "options": {},
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategy": "imp", "prune__options": {"round": 3}}, "prune.options.round; valid keys"),
        ({"strategy": "nolab.x:strategy"}, "no module named 'nolab'"),
        ({"equal_budget": "yes"}, "equal_budget must be true or false"),
    ],
)
def test_bad_strategy_options_and_references_are_refused(changes, message):
    with pytest.raises(PrunebenchError, match=re.escape(message)):
        parse_params(with_changes(DEFAULT, **changes))


def test_every_params_key_is_a_param_of_the_resolve_stage():
    """Otherwise `dvc exp run -S key=...` would not re-run resolve, and nothing would change;
    nor would a key added or misspelled (`+compresions=[4]`), which resolve must refuse. So
    resolve depends on the whole file (DVC's `params.yaml:` without keys)."""
    dvc_yaml = yaml.safe_load((Path(__file__).resolve().parent.parent / "dvc.yaml").read_text())
    assert dvc_yaml["stages"]["resolve"]["params"] == [{"params.yaml": None}]


def test_options_for_a_strategy_that_is_also_a_baseline_are_refused():
    changes = {"strategy": "global_mag", "prune__options": {"rounds": 2}}
    with pytest.raises(PrunebenchError, match="unknown key prune.options.rounds"):
        parse_params(with_changes(DEFAULT, **changes))
    changes = {"strategy": "imp", "baselines": ["imp", "random"], "prune__options": {"rounds": 2}}
    with pytest.raises(PrunebenchError, match="also a baseline run with its defaults"):
        parse_params(with_changes(DEFAULT, **changes))


def test_latency_times_every_method_at_batch_1_and_the_evaluation_batch():
    latency = resolve(parse_params(with_changes(DEFAULT, evaluate__batch_size=500))).latency
    assert latency.batch_sizes == [1, 500]
    assert latency.repeats >= 30
    assert latency.input_shape == [1, 28, 28]
    assert [method.folder for method in latency.methods] == [
        "strategy", "baselines/random", "baselines/global_mag", "baselines/layer_mag",
        "baselines/global_grad", "baselines/layer_grad", "matched/matched_random",
        "matched/matched_mag",
    ]  # fmt: skip
    channel = resolve(parse_params(with_changes(DEFAULT, strategy="global_channel_l1")))
    assert channel.latency.methods[0].structure == "channel"
    assert {method.structure for method in latency.methods} == {"unstructured"}


def test_latency_times_the_named_seeds_or_every_seed():
    assert resolve(parse_params(DEFAULT)).latency.seeds == [0]  # the committed default
    every = resolve(parse_params(with_changes(DEFAULT, latency__seeds=None))).latency
    assert every.seeds == [0, 1, 2, 3, 4]
    two = resolve(parse_params(with_changes(DEFAULT, latency__seeds=[3, 1]))).latency
    assert two.seeds == [3, 1]


def test_every_resolved_config_survives_its_json_round_trip():
    for stage, config in resolve(parse_params(with_changes(DEFAULT, strategy="imp"))).items():
        assert type(config).from_json(config.to_json()) == config, stage


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"initial_models": [0, 7]}, "initial model 7 of benchmark 'fashion_mnist_sample_lenet5' "
         "is not published; valid choices: 0, 1, 2 \\(or pretrained.train: true pretrains "
         "initial model k"),
        ({"initial_models": [1, 2]}, "including 0 .* got \\[1, 2\\]; valid choices: 0, 1, 2$"),
        ({"initial_models": [0, 0]}, "initial_models must be a list of distinct initial models"),
        ({"initial_models": 2}, "initial_models must be a list of distinct initial models"),
        ({"initial_models": [0, True]}, "initial_models must be a list of distinct initial"),
        ({"benchmark": "mnist_lenet5", "initial_models": [0, 1]},
         "initial model 1 does not exist for benchmark 'mnist_lenet5': it starts from weights "
         "published by others \\(shrinkbench_mnist_lenet5\\), one training run, so it has one "
         "initial model; valid choices: 0$"),
        ({"benchmark": "imagenet_resnet18", "initial_models": [0, 2]},
         "initial model 2 does not exist .* valid choices: 0$"),
    ],
)  # fmt: skip
def test_initial_models_the_run_cannot_start_from_are_refused(changes, message):
    with pytest.raises(PrunebenchError, match=message):
        parse_params(with_changes(DEFAULT, **changes))


def test_published_initial_models_and_our_own_pretrained_ones_are_valid():
    assert parse_params(DEFAULT).initial_models == [0]
    assert parse_params(with_changes(DEFAULT, initial_models=[0, 1, 2])).initial_models == [0, 1, 2]
    # Pretraining our own makes initial model k from seed pretrained.seed + k: any k.
    trained = with_changes(DEFAULT, initial_models=[0, 5], pretrained__train=True)
    assert parse_params(trained).initial_models == [0, 5]


def test_initial_model_0_keeps_its_cell_names_and_the_others_are_prefixed():
    assert Cell(2, 0).name == "c2-s0"  # the committed default run's cells are unchanged
    assert Cell(2.5, 3, 1).name == "i1-c2.5-s3"
    for cell in (Cell(2, 0), Cell(2.5, 3, 1), Cell(32, 4, 12)):
        assert Cell.from_name(cell.name) == cell
    cells = grid([2, 4], [0, 1], [0, 1])
    assert len(cells) == 8
    # Initial model 0's cells keep the order they always had.
    assert [c for c in cells if c.initial_model == 0] == grid([2, 4], [0, 1])


def test_several_initial_models_reach_the_stages_that_need_them_and_one_reads_as_before():
    from prunebench.pipeline.configs import grid_initial_models

    one = resolve(parse_params(DEFAULT))
    assert (
        "initial_models" not in one.prune.to_json()
    )  # the committed resolved files stay as they are
    assert grid_initial_models(one.prune) == [0]
    several = resolve(parse_params(with_changes(DEFAULT, initial_models=[0, 2])))
    for config in (several.fetch_pretrained, several.prune, several.aggregate):
        assert grid_initial_models(config) == [0, 2]
    # A cell's inputs are not the grid: adding an initial model changes no cell of the others.
    assert several.prune.cell_inputs() == one.prune.cell_inputs()
    assert several.finetune == one.finetune and several.evaluate == one.evaluate
