"""Experiments and a team's remote, on the tiny grid: `dvc exp run` with another strategy and
`dvc metrics diff`; results pushed, pulled and reused, never recomputed.

Each test gets its own copy of the session's finished run (``repo``, see ``pipeline_repo``).
"""

import json

import pytest
from params_edit import edit_params
from pipeline_repo import cell_files, commit, ran, sh

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


def test_exp_run_with_another_strategy_recomputes_no_baseline_and_metrics_diff_shows_it(repo):
    result = sh(repo, "dvc", "exp", "run", "-S", "strategy=layer_mag")
    stages = ran(result.stdout)
    assert {"prune", "finetune", "evaluate", "aggregate"} <= stages
    assert not any("@" in stage for stage in stages), "a baseline was recomputed"
    diff = sh(repo, "dvc", "metrics", "diff", "--json").stdout
    changes = json.loads(diff)["results/summary.json"]
    assert "top1.c4" in changes and "curve.top1" in changes
    # The evaluated method is now a baseline name too: no list syntax, and it still runs.
    result = sh(repo, "dvc", "exp", "run", "-S", "strategy=random")
    assert not any("@" in stage for stage in ran(result.stdout))


def test_remote_round_trip_recomputes_nothing_pulled(repo, tmp_path):
    remote, origin = tmp_path / "remote", tmp_path / "origin.git"
    sh(repo, "dvc", "remote", "add", "-d", "team", str(remote))
    commit(repo, "team remote")
    sh(repo, "dvc", "push", "--run-cache")
    sh(repo, "git", "clone", "-q", "--bare", str(repo), str(origin))

    first = tmp_path / "first"  # a teammate runs part of a bigger grid and shares it
    sh(repo, "git", "clone", "-q", str(origin), str(first))
    sh(first, "dvc", "pull", "--run-cache")
    edit_params(first, seeds=[0, 1])
    stages = ran(sh(first, "dvc", "repro", "prune").stdout)
    assert stages == {"resolve", "prune"}
    sh(first, "dvc", "push", "--run-cache")
    commit(first, "seed 1, pruned")
    sh(first, "git", "push", "-q", "origin", "HEAD")

    second = tmp_path / "second"  # another teammate, on a fresh clone
    sh(repo, "git", "clone", "-q", str(origin), str(second))
    sh(second, "dvc", "pull", "--run-cache")
    pulled = cell_files(second)
    stages = ran(sh(second, "dvc", "repro").stdout)
    assert not {"fetch_data", "fetch_pretrained", "prune"} & stages
    assert {"prune_baseline@random", "finetune", "evaluate", "aggregate"} <= stages
    after = cell_files(second)
    assert all(after[path] == pulled[path] for path in pulled), "a pulled cell was recomputed"
    assert "up to date" in sh(second, "dvc", "status").stdout
