"""Real `dvc` in temporary copies of the repository: what the pipeline tests share.

A test gets its own copy of a *finished run*: the repository on a small grid after one
`dvc repro`, committed. The run is built once per pytest session and grid (pytest-xdist's workers
share it through a file lock) and copied for each test, so every test starts from the same state,
runs alone, and changes nothing another test sees; only the first `dvc repro` is shared.

Grid ``TINY``: strategy global_mag plus baseline random (no matched controls:
test_verdicts_pipeline runs them), compressions 2 and 4, one seed, the published initial model,
the benchmark's finetuning recipe.
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from params_edit import edit_params

from prunebench.pipeline.cells import MANIFEST_FILE

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TINY = {
    "strategy": "global_mag",
    "baselines": ["random"],
    "matched_controls": [],
    "compressions": [2, 4],
    "seeds": [0],
}
# Timing every cell at the evaluation batch (1000 images) would dominate the tests' run time.
QUICK_LATENCY = {"latency__batch_sizes": [1, 16], "latency__warmup": 1}
# These tests check what the pipeline does with cells, not how well a model recovers: ten
# optimizer steps a cell instead of the recipe's 80 make every finetune eight times cheaper.
QUICK_TRAINING = {"finetune__steps_per_epoch": 10}
# Everything a stage may write; what a refused run must leave byte-identical.
OUTPUTS = ("data", "models", "results", "resolved", "dvc.lock")
# The leaderboard's and the study's own pipelines (leaderboard/, study/) stay out of the copy: a
# plain `dvc status` would list their stages, which these tests never run.
OTHER_PIPELINES = ("leaderboard/", "study/")


def environment(repo: Path, **variables: str) -> dict[str, str]:
    """The environment a command in ``repo`` runs with: the copy's code, on the CPU."""
    env = dict(os.environ, **variables)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(repo / "src")  # the copy's code, not the checkout's
    env["PRUNEBENCH_DEVICE"] = "cpu"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("DVC_EXP_NAME", None)
    return env


def sh(
    repo: Path, *command: str, check: bool = True, timeout: float = 1800, **variables: str
) -> subprocess.CompletedProcess:
    """Run ``command`` in ``repo`` (``variables`` added to its environment); fail on an error
    unless ``check`` is false.

    ``timeout`` (seconds) guards against a hang, not a slow machine. On it, or on an interrupted
    test run, the command's whole process group is killed: a stage that `dvc` started would
    otherwise run on.
    """
    with subprocess.Popen(
        command,
        cwd=repo,
        env=environment(repo, **variables),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:  # the timeout, or the test run interrupted
            os.killpg(process.pid, signal.SIGKILL)
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def ran(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran."""
    return {
        line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")
    }


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


def source_files() -> list[str]:
    """The checkout's files a copy holds: tracked and untracked ones, outputs left out."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(
        name
        for name in files
        if (ROOT / name).is_file() and not name.startswith(OUTPUTS + OTHER_PIPELINES)
    )


def make_copy(destination: Path, grid: dict | None = None) -> Path:
    """A fresh git repository at ``destination`` holding the checkout's code on ``grid``
    (default ``TINY``), committed, nothing run."""
    for name in source_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    edit_params(destination, **(QUICK_LATENCY | QUICK_TRAINING | (TINY if grid is None else grid)))
    sh(destination, "git", "init", "-q")
    sh(destination, "git", "config", "user.email", "test@example.com")
    sh(destination, "git", "config", "user.name", "test")
    commit(destination, "tiny grid")
    return destination


@dataclass(frozen=True)
class FinishedRun:
    """A committed copy of the repository after its first `dvc repro`, shared by a session.

    ``repo`` is never to be run in or changed: :func:`copy_of` gives a test its own copy.
    ``ran`` holds the stages that first `dvc repro` ran, ``written`` the paths it left changed
    or new (``git status``).
    """

    repo: Path
    ran: frozenset[str]
    written: tuple[str, ...]


def finished_run(shared: Path, grid: dict | None = None) -> FinishedRun:
    """The finished run of ``grid`` (default ``TINY``) under the directory ``shared``, built by
    whichever process asks first.

    The run is keyed by the grid and a digest of the code it ran, so two grids never share one,
    nor does code edited during the session. The other processes wait on a file lock; a build
    that failed fails them at once with its message instead of being built again.
    """
    key = run_key(grid)
    place = shared / f"run-{key}"
    with open(shared / f"run-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        failure = place.with_suffix(".failed")
        if failure.exists():
            raise AssertionError(f"the shared run failed to build:\n{failure.read_text()}")
        if not place.exists():
            try:
                build_run(place.with_suffix(".building"), grid)
            except Exception as error:
                failure.write_text(str(error))
                raise
            place.with_suffix(".building").rename(place)
    record = json.loads((place / "record.json").read_text())
    return FinishedRun(place / "repo", frozenset(record["ran"]), tuple(record["written"]))


def run_key(grid: dict | None) -> str:
    """A digest of ``grid`` and of the files a run reads (names and contents): a copy's files
    but the tests, so that editing a test does not rebuild a run."""
    digest = hashlib.sha256(json.dumps(grid, sort_keys=True).encode())
    for name in source_files():
        if name.startswith("tests/"):
            continue
        digest.update(name.encode() + b"\0" + hashlib.sha256((ROOT / name).read_bytes()).digest())
    return digest.hexdigest()[:16]


def build_run(place: Path, grid: dict | None) -> None:
    """Copy, `dvc repro` and commit at ``place``/repo; what the run did in ``place``/record.json."""
    shutil.rmtree(place, ignore_errors=True)  # left by a process killed mid-build
    repo = make_copy(place / "repo", grid)
    stages = ran(sh(repo, "dvc", "repro", timeout=3600).stdout)
    status = sh(repo, "git", "status", "--porcelain", "--untracked-files=all").stdout
    written = [line[3:] for line in status.splitlines()]
    commit(repo, "finished run")
    (place / "record.json").write_text(json.dumps({"ran": sorted(stages), "written": written}))


def copy_of(run: FinishedRun, destination: Path) -> Path:
    """A copy of ``run``'s repository at ``destination``, git and DVC cache included."""
    shutil.copytree(run.repo, destination, symlinks=True)
    return destination


def cell_files(repo: Path) -> dict[str, int]:
    """Modification time of every finished cell's manifest, by path."""
    return {
        str(path.relative_to(repo)): path.stat().st_mtime_ns
        for root in ("models", "results/cells")
        for path in (repo / root).rglob(MANIFEST_FILE)
    }


def file_digests(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by path relative to it."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def snapshot(repo: Path) -> dict[str, str]:
    """sha256 of every file under the outputs (and which files exist), by path."""
    files = {}
    for name in OUTPUTS:
        root = repo / name
        if root.is_file():
            files[name] = hashlib.sha256(root.read_bytes()).hexdigest()
        elif root.is_dir():
            files.update({f"{name}/{path}": digest for path, digest in file_digests(root).items()})
    return files


def locked_stages(repo: Path) -> dict:
    """dvc.lock's record of each stage."""
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
