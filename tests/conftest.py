"""Fixtures shared by the test modules; tests run with the pipeline's pinned CPU numerics.

The numerics are set here, before anything imports torch. Helper modules (``params_edit``,
``pipeline_repo``, ...) live beside the tests and are imported as top-level modules; a test
module never imports another test module.
"""

import os
import sys
from pathlib import Path

import pytest

from prunebench.foundations.numerics import pin_cpu_numerics

sys.path.insert(0, str(Path(__file__).resolve().parent))

# pytest-xdist runs two workers side by side, each with the pinned two threads (and each stage
# that a pipeline test starts has two more): on a 2-core machine OpenMP threads that spin while
# they wait take the cores from the other process. Waiting asleep changes no result (the same
# bytes, measured) and made two finetunes side by side 2.4x faster here; alone it costs ~7%, so
# only the tests set it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if "torch" not in sys.modules:
    pin_cpu_numerics()


@pytest.fixture(scope="session")
def sample():
    """The embedded Fashion-MNIST sample, split as the default benchmark splits it."""
    from prunebench.data import load_dataset

    return load_dataset("fashion_mnist_sample", validation_size=1000, split_seed=0)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    """A directory shared by every process of the session, pytest-xdist's workers included."""
    own = tmp_path_factory.getbasetemp()
    # xdist gives each worker a directory of its own inside the session's.
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


@pytest.fixture(scope="session")
def tiny_run(session_dir):
    """The repository on the tiny grid after its first `dvc repro`, built once per session
    (``pipeline_repo.FinishedRun``); never run anything in it: take ``repo``."""
    from pipeline_repo import finished_run

    return finished_run(session_dir)


@pytest.fixture
def repo(tiny_run, tmp_path) -> Path:
    """This test's own copy of the tiny grid's finished run, committed and up to date."""
    from pipeline_repo import copy_of

    return copy_of(tiny_run, tmp_path / "repo")
