"""Results that cannot be wrong (issue 19), driven by real `dvc` where the issue found it so.

Each test probes its own copy of the session's tiny run (``repo``, see ``pipeline_repo``: the
method global_mag beside the baseline random, compressions 2 and 4, seed 0), in the words of the
issue: a misspelled params key, a strategy that misses its target or exits, a cell whose content
is broken under valid digests, the leftovers of a kill. Every probe must end in one ``error:``
line and a non-zero exit, with ``dvc.lock`` recording nothing, where before it exited 0 or stayed
stuck. The unit-level probes are in test_integrity.py.
"""

import math
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from params_edit import edit_params
from pipeline_repo import sh
from safetensors.torch import load_file, save_file

from prunebench.pipeline.cells import Cell, CellManifest, CellStore

pytestmark = pytest.mark.slow  # real dvc, real stages: several minutes together

MASKS = Path("models/strategy/masks")
PROBES = {
    "subset.py": """
        from prunebench.strategies import Score, Strategy


        def subset_scores(inputs):  # scores only the first prunable layer
            name, weight = next(iter(inputs.parameters.items()))
            return {name: weight.detach().abs()}


        strategy = Strategy(Score("subset", subset_scores), "global")
    """,
    "exiting.py": """
        import sys

        from prunebench.strategies import Score, Strategy


        def exiting_scores(inputs):
            sys.exit()


        strategy = Strategy(Score("exiting", exiting_scores), "global")
    """,
}


def succeeds(repo: Path, *command: str) -> str:
    return sh(repo, *command, timeout=900).stdout


def refused(repo: Path, *command: str, passing: tuple[str, ...] = ()) -> str:
    """The one ``error:`` line a refused ``dvc`` command printed.

    ``dvc.lock`` records nothing of the refused stage: it is unchanged but for the entries of
    the stages that ran before it and passed (``passing``).
    """
    before = recorded(repo, passing)
    result = sh(repo, *command, check=False, timeout=900)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode != 0 and len(errors) == 1, f"{result.stdout}\n{result.stderr}"
    assert recorded(repo, passing) == before
    return errors[0]


def recorded(repo: Path, but: tuple[str, ...]) -> dict:
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return {name: stage for name, stage in stages.items() if name not in but}


def restore(repo: Path) -> None:
    """Back to the committed run: params, strategies and outputs as the copy came."""
    succeeds(repo, "git", "checkout", "--", ".")
    succeeds(repo, "git", "clean", "-fdq", "strategies")


def test_a_misspelled_params_key_is_refused_not_ignored(repo):
    """Finding 3: resolve depended on thirteen keys only, so it never saw a new one (likewise
    `learning_rate: 0.1` appended to params.yaml)."""
    line = refused(repo, "dvc", "exp", "run", "prune", "-S", "+compresions=[4]")
    assert line.startswith(
        "error: unknown params key 'compresions'; valid keys: benchmark, strategy, baselines, "
        "matched_controls, compressions, seeds, "
    )


def test_a_strategy_that_misses_its_target_is_refused_naming_it(repo):
    """Finding 1: scores of one layer pruned nothing, and the report compared that with
    confidence; an option given as NaN was accepted."""
    write_probes(repo)
    subset = ("-S", "strategy=probes.subset:strategy")
    line = refused(repo, "dvc", "exp", "run", "prune", *subset, passing=("resolve",))
    assert line.startswith(
        "error: strategy 'probes.subset:strategy', cell c2-s0: score 'subset' leaves out "
        "'conv2.weight': it must score every prunable weight (conv1.weight, conv2.weight, "
    )
    restore(repo)
    # `power: .nan` in params.yaml (`-S` would write the text ".nan", refused as text before).
    edit_params(repo, strategy="mylab.fan_in:strategy", prune__options={"power": math.nan})
    line = refused(repo, "dvc", "repro", "prune")
    assert line == "error: prune.options.power is NaN; give a number"


def test_sys_exit_in_strategy_code_never_exits_0(repo):
    """Finding 2: `strategy: sys:exit` and a score calling sys.exit() both exited 0 without
    writing anything, and dvc.lock recorded them as done."""
    masks = cell_bytes(repo / MASKS)
    edit_params(repo, strategy="sys:exit")
    line = refused(repo, "dvc", "repro", "prune")
    assert line == (
        "error: strategy 'sys:exit' is a builtin_function_or_method, not a prunebench Strategy, "
        "and calling it with no arguments failed (SystemExit: it called sys.exit())"
    )
    restore(repo)
    write_probes(repo)
    edit_params(repo, strategy="probes.exiting:strategy")
    line = refused(repo, "dvc", "repro", "prune", passing=("resolve",))
    assert line == (
        "error: strategy 'probes.exiting:strategy', cell c2-s0: score 'exiting' raised "
        "SystemExit: it called sys.exit()"
    )
    assert cell_bytes(repo / MASKS) == masks


def test_a_cell_with_valid_digests_but_broken_content_names_the_folder_to_delete(repo):
    """Finding 7: finetune refused such a cell forever and said to run `dvc repro`, which
    changed nothing; deleting the cell's folder recovers."""
    store, cell = CellStore(repo / MASKS), Cell(2.0, 0)
    folder = store.path(cell)
    masks_file, layers = folder / "masks.safetensors", (folder / "layers.csv").read_bytes()
    original, tensors = masks_file.read_bytes(), load_file(masks_file)
    # What a writer that got the metadata wrong would leave: a cell with its digests.
    with store.writing(cell, CellManifest.of(folder).fingerprint) as staging:
        save_file(tensors, staging / "masks.safetensors", metadata={"prunebench": "{not json"})
        (staging / "layers.csv").write_bytes(layers)
    line = refused(repo, "dvc", "repro", "finetune", passing=("prune",))
    assert line == (
        f"error: mask file {MASKS}/c2-s0/masks.safetensors has no valid 'prunebench' JSON "
        "metadata; the cell matches the digests it was written with, so a re-run keeps it: "
        f"delete {MASKS}/c2-s0 and run `dvc repro` to recompute it"
    )
    shutil.rmtree(folder)
    succeeds(repo, "dvc", "repro", "prune")
    assert masks_file.read_bytes() == original


def test_a_stage_removes_what_a_kill_left_before_dvc_records_it(repo):
    """Finding 6: a kill between a temporary file and its rename left `.NAME.xxxx`, which no
    later run removed, and dvc.lock recorded one as a fourth file of results/figures."""
    leftovers = [
        repo / "results/figures/.top1_vs_compression.png.k2j4h6g8.png",
        repo / "results/.report.md.x1y2z3w4",
        repo / "resolved/.prune.json.q9w8e7r6",
    ]
    figures = list((repo / "results/figures").iterdir())
    for path in leftovers:
        path.write_bytes(b"half-written")
    succeeds(repo, "dvc", "repro", "--force", "--single-item", "resolve", "aggregate")
    assert [path for path in leftovers if path.exists()] == []
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    recorded = next(out for out in lock["stages"]["aggregate"]["outs"]
                    if out["path"] == "results/figures")  # fmt: skip
    assert recorded["nfiles"] == len(figures)
    # resolve ran again and wrote the same configs: no later stage is out of date.
    assert "up to date" in succeeds(repo, "dvc", "status")


def write_probes(repo: Path) -> None:
    probes = repo / "strategies/probes"
    probes.mkdir(exist_ok=True)
    (probes / "__init__.py").write_text("")
    for name, source in PROBES.items():
        (probes / name).write_text(textwrap.dedent(source).lstrip())


def cell_bytes(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*.safetensors")}
