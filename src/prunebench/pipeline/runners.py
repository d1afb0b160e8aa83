"""Where a stage's cells run: in the stage's own process, or on Ray workers.

A stage's cells are independent, so they can run side by side: on the GPUs or CPU cores of one
machine, or on a Ray cluster. The environment chooses, never params, because where a cell runs
must not change its result or its cache key:

- ``PRUNEBENCH_WORKERS=N`` (default 1): with N > 1, a local Ray instance runs N cells at a time
  (on a CUDA device, one GPU per cell, so at most one cell per GPU).
- ``PRUNEBENCH_RAY_ADDRESS=ADDRESS``: the cells run on the Ray cluster at ``ADDRESS`` (``auto``
  for the one this machine is part of); ``PRUNEBENCH_WORKERS``, if set, caps the cells in flight.

One worker is the stage process itself: Ray is never imported. With Ray, the stage process stays
the DVC stage and the only writer: a worker receives the cell's computation with the stage's
inputs (pretrained weights, data splits; or the path of a dataset on a shared filesystem),
reads the cell's upstream files (masks, a finetuned model) from the checkout, runs the cell in a
scratch directory and returns its files as bytes; the stage then commits them as one cell
(``prunebench.pipeline.cells.CellStore``). A worker that dies mid-cell therefore leaves nothing
behind: Ray runs the cell again elsewhere, or the stage stops and a re-run recomputes it.

Results are bit-identical to one worker because a cell computes the same thing wherever it runs:
every worker gets the stage's pinned CPU numerics (``prunebench.foundations.numerics``, the
same thread count included) before it imports torch, and each cell seeds every generator from
its own seed.
"""

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.numerics import MODE_VARIABLE, PINNED_ENVIRONMENT

if TYPE_CHECKING:
    import torch

    from prunebench.pipeline.cells import Cell

WORKERS_VARIABLE = "PRUNEBENCH_WORKERS"
ADDRESS_VARIABLE = "PRUNEBENCH_RAY_ADDRESS"
# Ray runs a task again when its worker process dies (a killed process, a lost node); a task
# that raises is never retried, since it would raise again.
RETRIES_AFTER_WORKER_DEATH = 2


@dataclass(frozen=True)
class Workers:
    """How many cells run at a time, and where."""

    count: int = 1
    address: str | None = None

    @property
    def uses_ray(self) -> bool:
        return self.count > 1 or self.address is not None

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
        return f"{self.count} workers on {where}" if self.count > 1 else where

    def run(
        self,
        compute: "Callable[[Cell, Path], None]",
        cells: "list[Cell]",
        *,
        device: "torch.device | None" = None,
    ) -> "Iterator[tuple[Cell, dict[str, bytes]]]":
        """Run the cells on Ray (``prunebench.pipeline.cells.Runner``)."""
        return run_remotely(compute, cells, self, device=device)


def runner_from_environment() -> Workers | None:
    """The runner the environment asks for, or None for one worker: the stage's own process,
    which then never imports Ray."""
    workers = workers_from_environment()
    return workers if workers.uses_ray else None


def workers_from_environment() -> Workers:
    """The workers named by ``PRUNEBENCH_WORKERS`` and ``PRUNEBENCH_RAY_ADDRESS``."""
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    address = os.environ.get(ADDRESS_VARIABLE, "").strip() or None
    if not text:
        return Workers(1, address)
    if not text.isdigit() or int(text) < 1:
        raise PrunebenchError(f"{WORKERS_VARIABLE}={text!r} is not a positive whole number")
    return Workers(int(text), address)


def run_remotely(
    compute: "Callable[[Cell, Path], None]",
    cells: "list[Cell]",
    workers: Workers,
    *,
    device: "torch.device | None" = None,
) -> "Iterator[tuple[Cell, dict[str, bytes]]]":
    """Run ``compute(cell, directory)`` for every cell on Ray; yield each cell's files as it ends.

    Files are yielded as ``{relative path: bytes}``, in the order the cells finish. The local
    Ray instance started here is shut down when the iteration ends.
    """
    # Run under `uv run` (as `make run` does), Ray would start the workers through `uv run` in a
    # copy of this directory without its untracked outputs (models/, data/): the workers must
    # run the stage's own interpreter in the checkout itself.
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(**_init_arguments(workers))
    try:
        task = ray.remote(_compute_files).options(
            max_retries=RETRIES_AFTER_WORKER_DEATH, **_cell_resources(workers, device)
        )
        computation = ray.put(compute)  # serialised once, not once per cell
        limit = workers.count if workers.count > 1 else len(cells)
        waiting, running = list(cells), {}
        while waiting or running:
            while waiting and len(running) < limit:
                cell = waiting.pop(0)
                running[task.remote(computation, cell, os.getcwd())] = cell
            [done], _ = ray.wait(list(running), num_returns=1)
            cell = running.pop(done)
            yield cell, _result(ray, done, cell)
    finally:
        if started_here:
            ray.shutdown()


def _init_arguments(workers: Workers) -> dict:
    # The workers start with the stage's numerics settings and import path, so a cell computes
    # exactly what it would in the stage process: same thread count and instruction set, and
    # the same modules (the checkout's stages/ and strategies/ folders included).
    names = (MODE_VARIABLE, *PINNED_ENVIRONMENT)
    environment = {name: os.environ[name] for name in names if name in os.environ}
    environment["PYTHONPATH"] = os.pathsep.join(_project_paths())
    arguments = {
        "runtime_env": {"env_vars": environment},
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": "WARNING",
        "configure_logging": True,
    }
    if workers.address is not None:
        return {**arguments, "address": workers.address}
    return {**arguments, "num_cpus": workers.count}


def _project_paths() -> list[str]:
    """The driver's import paths outside the Python installation (checkout folders)."""
    installed = {os.path.realpath(prefix) for prefix in (sys.prefix, sys.base_prefix)}
    paths = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else os.getcwd()
        if not any(real.startswith(prefix + os.sep) or real == prefix for prefix in installed):
            paths.append(real)
    return list(dict.fromkeys(paths))


def _cell_resources(workers: Workers, device: "torch.device | None") -> dict:
    if device is not None and device.type == "cuda":
        return {"num_cpus": 1, "num_gpus": 1}
    if workers.address is not None:
        # On a cluster a cell takes as many cores as the threads it runs (pinned numerics: 2).
        return {"num_cpus": int(PINNED_ENVIRONMENT["OMP_NUM_THREADS"])}
    return {"num_cpus": 1}  # the local instance has exactly `count` CPUs: `count` cells at once


def _compute_files(
    compute: "Callable[[Cell, Path], None]", cell: "Cell", checkout: str
) -> dict[str, bytes]:
    """On a worker: run one cell in a scratch directory and return its files.

    The cell reads its upstream files (masks, finetuned models) by their paths in the checkout,
    so the worker works in the stage's directory: the same checkout, at the same path, on every
    node (README, "Many workers").
    """
    os.chdir(checkout)
    with tempfile.TemporaryDirectory(prefix="prunebench-cell-") as scratch:
        directory = Path(scratch)
        compute(cell, directory)
        return {
            path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }


def _result(ray, reference, cell: "Cell") -> dict[str, bytes]:
    try:
        return ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        # The cell's own error (bad input, a non-finite loss): the same one line as in-process.
        if isinstance(error.cause, PrunebenchError | OSError):
            raise error.cause from None
        raise
    except ray.exceptions.RayError as error:
        raise PrunebenchError(
            f"cell {cell.name}: its worker failed {RETRIES_AFTER_WORKER_DEATH + 1} times "
            f"({type(error).__name__}); the finished cells are kept, a re-run computes the rest"
        ) from None
