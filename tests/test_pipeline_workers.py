"""Cells computed by Ray workers and by processes killed mid-cell: the same bytes as one worker,
nothing half-written accepted, and no Ray import on one worker.

The kills need cells that last a few seconds: those tests copy a finished run of their own
(``LONG_CELLS``, built once per session); the import test copies the tiny grid's (``repo``; see
``pipeline_repo``).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipeline_repo import TINY, copy_of, environment, file_digests, finished_run, ran, sh

from prunebench.pipeline.cells import MANIFEST_FILE

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


# The method alone, 16 epochs of the copies' ten steps a cell: cells long enough to be killed
# mid-way, few enough to recompute twice. Built once per session, like the tiny grid.
LONG_CELLS = TINY | {"baselines": [], "finetune__epochs": 16, "finetune__patience": 16}
FINETUNED = Path("models/strategy/finetuned")
CELL_ROOTS = (Path("models/strategy/masks"), FINETUNED, Path("results/cells/strategy"))


@pytest.fixture
def long_cells(session_dir, tmp_path) -> tuple[Path, Path]:
    """This test's own copy of the long cells' finished run, and that run (only to read)."""
    run = finished_run(session_dir, LONG_CELLS)
    return copy_of(run, tmp_path / "repo"), run.repo


def wait_for_a_cell_in_progress(repo: Path, process: subprocess.Popen) -> None:
    """Return once a finetune cell is being written (its staging folder exists)."""
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if list((repo / FINETUNED).glob(".*.partial-*")):
            return
        time.sleep(0.1)
    raise AssertionError("finetune never started a cell")


def test_sigkill_during_finetune_leaves_nothing_a_rerun_accepts(long_cells):
    repo, finished = long_cells
    shutil.rmtree(repo / FINETUNED)
    process = subprocess.Popen(
        ["dvc", "repro"],
        cwd=repo,
        env=environment(repo),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_a_cell_in_progress(repo, process)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert "finetune" in sh(repo, "dvc", "status").stdout
    assert "finetune" in ran(sh(repo, "dvc", "repro").stdout)
    assert "up to date" in sh(repo, "dvc", "status").stdout
    assert not list((repo / FINETUNED).glob(".*"))
    assert file_digests(repo / FINETUNED) == file_digests(finished / FINETUNED)


def test_two_ray_workers_one_killed_mid_cell_compute_the_cells_of_one_worker(long_cells):
    repo, finished = long_cells
    one_worker = {root: file_digests(finished / root) for root in CELL_ROOTS}
    cells = len(list((finished / FINETUNED).glob(f"*/{MANIFEST_FILE}")))
    for root in CELL_ROOTS:
        shutil.rmtree(repo / root)
    process = subprocess.Popen(
        ["dvc", "repro"],
        cwd=repo,
        env=environment(repo, PRUNEBENCH_WORKERS="2", PYTHONUNBUFFERED="1"),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Read until the finetune stage starts (its cells are the long ones), then kill the first
    # Ray worker seen running a cell: a Ray worker names its process after the task it runs.
    lines = []
    while not any(line.startswith("Running stage 'finetune'") for line in lines[-1:]):
        line = process.stdout.readline()
        assert line, "".join(lines)  # dvc ended before finetune
        lines.append(line)
    deadline, busy = time.monotonic() + 300, []
    while not busy and process.poll() is None and time.monotonic() < deadline:
        busy = subprocess.run(
            ["pgrep", "-f", "ray::_compute_files"], capture_output=True, text=True
        ).stdout.split()
        time.sleep(0.1)
    assert busy, "no Ray worker ever ran a finetune cell"
    time.sleep(0.5)
    os.kill(int(busy[0]), signal.SIGKILL)
    rest, _ = process.communicate(timeout=900)
    output = "".join(lines) + rest
    # Ray ran the killed cell again on another worker; the stage wrote only whole cells.
    assert process.returncode == 0, output
    for step in ("prune global_mag", "finetune strategy", "evaluate strategy"):
        assert f"{step}: {cells} cells on 2 workers on a local Ray instance" in output
    assert {"prune", "finetune", "evaluate"} <= ran(output)
    assert {root: file_digests(repo / root) for root in CELL_ROOTS} == one_worker
    assert not list((repo / FINETUNED).glob(".*"))
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_one_worker_never_imports_ray(repo, tmp_path):
    result = sh(
        repo,
        sys.executable,
        "-X",
        "importtime",
        "stages/evaluate.py",
        "--finetuned",
        "models/strategy/finetuned",
        "--out",
        str(tmp_path / "cells"),
    )
    finetuned = len(list((repo / "models/strategy/finetuned").glob(f"*/{MANIFEST_FILE}")))
    assert len(list((tmp_path / "cells").glob(f"*/{MANIFEST_FILE}"))) == finetuned > 1
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    # (-X importtime lists import statements; the runner, imported by name, is not among them)
    assert {"torch", "prunebench.pipeline.cells"} <= imported
    assert not {name for name in imported if name == "ray" or name.startswith("ray.")}
