"""params.yaml validation: every malformed value is one line naming it, before any work."""

from pathlib import Path

import pytest
import yaml
from params_edit import with_changes

from prunebench.config import parse_params
from prunebench.errors import PrunebenchError
from prunebench.grid import Cell, grid

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
        ({"compressions": [2, 1]}, "compression 1 is out of range"),
        ({"seeds": [0, 0]}, "seeds contain duplicates"),
        ({"finetune__epochs": 0}, "recipe epochs must be a positive number"),
        ({"finetune__lr": 0.1}, "unknown recipe key 'lr'; valid keys: batch_size"),
        ({"finetune__optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"prune__include_classifier": "yes"}, "prune.include_classifier has the wrong type"),
        ({"prune__score_batches": 0}, "prune.score_batches and prune.score_batch_size must be"),
        ({"prune__gradient_batches": 2}, "unknown key prune.gradient_batches; valid keys:"),
        ({"evaluate": [1]}, "params section 'evaluate' must be a mapping"),
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
