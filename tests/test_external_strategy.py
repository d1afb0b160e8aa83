"""A researcher's own strategy, ``package.module:attribute``, loaded without editing prunebench."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prunebench.data import load_dataset, materialize
from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.masks import load_masks
from prunebench.strategies import Strategy, find_strategy, source_files

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "src/prunebench/benchmarks/weights/fashion_mnist_sample_lenet5.safetensors"
SCORE = """
from dataclasses import dataclass

from prunebench.strategies import Score, Strategy


@dataclass(frozen=True)
class Options:
    power: float = {power}


def powered(inputs):
    return {{n: w.detach().abs() ** inputs.options.power for n, w in inputs.parameters.items()}}


def per_layer(inputs):
    return {{n: w.detach().abs() * (i + 1) for i, (n, w) in enumerate(inputs.parameters.items())}}


strategy = Strategy(Score("powered", powered), "global", options=Options)
layered = Strategy(Score("per_layer", per_layer), "global")


def make():
    return layered


def unnamed_score():
    return Strategy(powered, "global")


not_a_strategy = 3
"""


def write_package(root: Path, power: float = 1.0) -> None:
    package = root / "tmplab"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "scores.py").write_text(textwrap.dedent(SCORE.format(power=power)))


@pytest.fixture
def package(tmp_path, monkeypatch):
    write_package(tmp_path / "lab")
    monkeypatch.syspath_prepend(str(tmp_path / "lab"))
    yield tmp_path / "lab"
    for name in [name for name in sys.modules if name.startswith("tmplab")]:
        del sys.modules[name]


def test_a_strategy_object_or_factory_is_found_by_its_path(package):
    assert isinstance(find_strategy("tmplab.scores:strategy"), Strategy)
    assert find_strategy("tmplab.scores:make") is find_strategy("tmplab.scores:layered")
    properties = find_strategy("tmplab.scores:strategy").properties()
    assert (properties["score"], properties["options"]) == ("powered", {"power": 1.0})
    files = source_files("tmplab.scores:strategy")
    assert package / "tmplab" / "scores.py" in files
    assert ROOT / "src/prunebench/strategies/schedules.py" in files


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nolab.scores:strategy", "no module named 'nolab'"),
        ("tmplab.scores:missing", "'missing' is not defined there"),
        ("tmplab.scores:not_a_strategy", "is a int, not a prunebench Strategy"),
        ("tmplab.scores:unnamed_score", "score must be a prunebench.strategies.Score"),
        ("tmplab.scores:", "not of the form package.module:attribute"),
        ("tmplab-scores:strategy", "not of the form package.module:attribute"),
    ],
)
def test_a_bad_path_or_an_object_that_is_not_a_strategy_is_one_line(package, reference, message):
    with pytest.raises(PrunebenchError, match=message) as error:
        find_strategy(reference)
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "splits"
    materialize(load_dataset("fashion_mnist_sample", validation_size=1000, split_seed=0), out)
    return out


def prune_stage(lab: Path, splits: Path, out: Path, method: str) -> subprocess.CompletedProcess:
    config = out.parent / "prune.json"
    config.write_text(
        json.dumps(
            {
                "benchmark": "fashion_mnist_sample_lenet5",
                "dataset": "fashion_mnist_sample",
                "model": "lenet5",
                "compressions": [4],
                "seeds": [0, 1],
                "include_classifier": False,
                "score_batches": 1,
                "score_batch_size": 64,
            }
        )
    )
    environment = {**os.environ, "PYTHONPATH": str(lab), "PRUNEBENCH_DEVICE": "cpu"}
    command = [
        sys.executable,
        "stages/prune.py",
        "--method",
        method,
        "--out",
        str(out),
        "--config",
        str(config),
        "--data",
        str(splits),
        "--pretrained",
        str(WEIGHTS),
    ]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)


def manifests(out: Path) -> dict[str, str]:
    return {cell.name: (cell / "cell.json").read_text() for cell in sorted(out.iterdir())}


def test_the_prune_stage_runs_it_and_editing_it_recomputes_exactly_its_cells(tmp_path, splits):
    lab, out = tmp_path / "lab", tmp_path / "run" / "masks"
    out.parent.mkdir()
    write_package(lab, power=1.0)
    method = "tmplab.scores:strategy"
    first = prune_stage(lab, splits, out, method)
    assert first.returncode == 0, first.stderr
    before = manifests(out)
    assert sorted(before) == ["c4-s0", "c4-s1"]
    masks, metadata = load_masks(out / "c4-s0" / "masks.safetensors")
    assert metadata["strategy"] == method and metadata["options"] == {"power": 1.0}

    unchanged = prune_stage(lab, splits, out, method)
    assert unchanged.returncode == 0 and manifests(out) == before

    write_package(lab, power=2.0)  # the researcher edits the default of their option
    edited = prune_stage(lab, splits, out, method)
    assert edited.returncode == 0, edited.stderr
    after = manifests(out)
    assert all(after[cell] != before[cell] for cell in before)
    assert load_masks(out / "c4-s0" / "masks.safetensors")[1]["options"] == {"power": 2.0}


def test_the_prune_stage_refuses_a_bad_path_in_one_line_before_any_work(tmp_path, splits):
    out = tmp_path / "run" / "masks"
    out.parent.mkdir()
    refused = prune_stage(tmp_path, splits, out, "nolab.scores:strategy")
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "no module named 'nolab'" in refused.stderr
    assert not out.exists()
