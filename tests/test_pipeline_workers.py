"""Cells computed by Ray workers and by processes killed mid-cell, on the tiny grid: the same
bytes as one worker, nothing half-written accepted, and no Ray import on one worker.

Each test gets its own copy of the session's finished run (``repo``, see ``pipeline_repo``).
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from params_edit import edit_params
from pipeline_repo import environment, file_digests, ran, sh

from prunebench.pipeline.cells import MANIFEST_FILE

pytestmark = pytest.mark.slow  # real dvc on the tiny grid


def test_sigkill_during_finetune_leaves_nothing_a_rerun_accepts(repo):
    edit_params(repo, finetune__epochs=30, finetune__patience=30, finetune__learning_rate=0.0001)
    process = subprocess.Popen(
        ["dvc", "repro"],
        cwd=repo,
        env=environment(repo),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    finetuned = repo / "models/strategy/finetuned"
    deadline = time.monotonic() + 300
    while not list(finetuned.glob(".*.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(finetuned.glob(".*.partial-*")), "finetune never started"
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert "finetune" in sh(repo, "dvc", "status").stdout
    edit_params(repo, finetune__epochs=1, finetune__patience=1)
    stages = ran(sh(repo, "dvc", "repro").stdout)
    assert "finetune" in stages
    assert "up to date" in sh(repo, "dvc", "status").stdout
    assert not list(finetuned.glob(".*"))


def test_two_ray_workers_compute_the_cells_of_one_worker_byte_for_byte(repo):
    roots = ("models/strategy/masks", "models/strategy/finetuned", "results/cells/strategy")
    one_worker = {root: file_digests(repo / root) for root in roots}
    cells = len(list((repo / roots[1]).glob(f"*/{MANIFEST_FILE}")))
    for root in roots:
        shutil.rmtree(repo / root)
    result = sh(repo, "dvc", "repro", PRUNEBENCH_WORKERS="2")
    output = result.stdout + result.stderr
    for step in ("prune global_mag", "finetune strategy", "evaluate strategy"):
        assert f"{step}: {cells} cells on 2 workers on a local Ray instance" in output
    assert {"prune", "finetune", "evaluate"} <= ran(result.stdout)
    assert {root: file_digests(repo / root) for root in roots} == one_worker
    assert "up to date" in sh(repo, "dvc", "status").stdout


def test_a_ray_worker_killed_mid_cell_leaves_nothing_accepted_and_the_cell_reruns(repo):
    # 32 epochs of the copy's ten steps: a cell long enough to be killed mid-way.
    edit_params(repo, finetune__epochs=32, finetune__patience=32)
    sh(repo, "dvc", "repro")  # one worker: the reference
    finetuned = repo / "models/strategy/finetuned"
    one_worker = file_digests(finetuned)
    shutil.rmtree(finetuned)
    process = subprocess.Popen(
        ["dvc", "repro"],
        cwd=repo,
        env=environment(repo, PRUNEBENCH_WORKERS="2"),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # A Ray worker names its process after the task it runs.
    deadline, busy = time.monotonic() + 300, []
    while not busy and process.poll() is None and time.monotonic() < deadline:
        busy = subprocess.run(
            ["pgrep", "-f", "ray::_compute_files"], capture_output=True, text=True
        ).stdout.split()
        time.sleep(0.1)
    assert busy, "no Ray worker ever ran a cell"
    time.sleep(0.5)
    os.kill(int(busy[0]), signal.SIGKILL)
    output, _ = process.communicate(timeout=600)
    # Ray ran the killed cell again on another worker; the stage wrote only whole cells.
    assert process.returncode == 0, output
    assert file_digests(finetuned) == one_worker
    assert not list(finetuned.glob(".*"))
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
