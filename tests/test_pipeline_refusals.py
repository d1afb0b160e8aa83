"""What the pipeline refuses, on the tiny grid, and what a refusal leaves: bad params, a missing
dataset, damaged published weights, an unwritable output, cells on different footing.

Each test gets its own copy of the session's finished run (``repo``, see ``pipeline_repo``).
"""

import json

import pytest
from params_edit import edit_params
from pipeline_repo import locked_stages, make_copy, sh, snapshot

pytestmark = pytest.mark.slow  # real dvc on the tiny grid

BAD_INPUTS = [
    ({"strategy": "no_such_method"}, "unknown strategy 'no_such_method'; valid choices: "),
    ({"baselines": ["random", "nope"]}, "unknown strategy 'nope'; valid choices: "),
    ({"benchmark": "cifar11"}, "unknown benchmark 'cifar11'; valid choices: "),
    ({"compressions": [2, 1e9]}, "compression 1e+09 cannot be met"),
    ({"compressions": [2, "1e9"]}, "compression '1e9' is text, not a number: YAML reads"),
    ({"seeds": [0, -1]}, "seed -1 is not a non-negative integer"),
    ({"finetune__learning_rate": -1}, "recipe learning_rate must be a positive number"),
    ({"finetune__epochs": 1.5}, "recipe epochs must be a whole number"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_INPUTS)
def test_bad_params_change_no_output(repo, changes, message):
    before = snapshot(repo)
    edit_params(repo, **changes)
    result = sh(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert snapshot(repo) == before
    assert not (repo / "models/baselines/nope").exists()


def test_bad_params_fail_before_any_work(tmp_path):
    repo = make_copy(tmp_path / "bad")  # nothing run yet
    edit_params(repo, strategy="no_such_method")
    result = sh(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert "error: unknown strategy 'no_such_method'; valid choices: " in result.stderr
    assert "global_mag" in result.stderr
    assert not (repo / "data/splits").exists()
    edit_params(repo, strategy="lamp", compressions=[2, 0.5])
    result = sh(repo, "dvc", "repro", check=False)
    assert "error: compression 0.5 is out of range" in result.stderr
    assert not (repo / "data/splits").exists()


def test_a_missing_dataset_changes_no_result(repo, tmp_path):
    before, locked_before = snapshot(repo), locked_stages(repo)
    edit_params(repo, benchmark="cifar10_resnet20", data__root=str(tmp_path))
    result = sh(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert "error: dataset cifar10 not found" in result.stderr and str(tmp_path) in result.stderr
    # resolve succeeded (the params are valid) and recorded that; nothing after it was touched
    after = snapshot(repo)
    resolved = ("resolved/", "dvc.lock")
    assert {k: v for k, v in after.items() if not k.startswith(resolved)} == {
        k: v for k, v in before.items() if not k.startswith(resolved)
    }
    assert locked_stages(repo)["fetch_data"] == locked_before["fetch_data"]


def test_damaged_published_weights_change_no_result(repo):
    before = snapshot(repo)
    weights = repo / "src/prunebench/benchmarks/weights/fashion_mnist_sample_lenet5.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    result = sh(repo, "dvc", "repro", check=False)
    assert result.returncode != 0
    assert "error: sha256 mismatch for " in result.stderr
    assert snapshot(repo) == before
    weights.write_bytes(original)
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_an_unwritable_output_is_one_line_before_any_work(repo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = sh(
        repo,
        "python",
        "stages/prune.py",
        "--method",
        "random",
        "--out",
        str(blocker / "masks"),
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {blocker}/masks: {blocker} is a file, not a directory"
    ]


def test_aggregate_refuses_cells_produced_on_different_footing(repo):
    lr = json.loads((repo / "resolved/finetune.json").read_text())["recipe"]["learning_rate"]
    edit_params(repo, finetune__learning_rate=lr / 2)
    sh(repo, "dvc", "repro", "resolve")
    sh(repo, "dvc", "repro", "--single-item", "finetune", "evaluate")  # the method only
    result = sh(repo, "dvc", "repro", "--single-item", "aggregate", check=False)
    assert result.returncode != 0
    assert "error: refusing to compare global_mag at compression 2, seed 0 and random" in (
        result.stderr
    )
    assert "different finetuning recipe (learning_rate" in result.stderr
    # The committed cells come back from DVC's cache.
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")
    assert "up to date" in sh(repo, "dvc", "status").stdout
