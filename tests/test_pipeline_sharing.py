"""A team's remote, on the tiny grid: results pushed, pulled and reused, never recomputed.

The test gets its own copy of the session's finished run (``repo``, see ``pipeline_repo``).
`dvc exp run` with another strategy and `dvc metrics diff` are in test_verdicts_pipeline.py,
whose grid has the matched controls an experiment must recompute too.
"""

import pytest
from params_edit import edit_params
from pipeline_repo import cell_files, commit, ran, sh

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


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
