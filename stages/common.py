"""What every stage script shares: CPU numerics, the device, error reporting, code, curves.

Imported first by every stage: it pins the CPU numerics (``prunebench.foundations.numerics``) before
anything imports torch.
"""

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from prunebench.foundations.errors import PrunebenchError, describe_failure
from prunebench.foundations.numerics import pin_cpu_numerics


def refuse(message: str) -> NoReturn:
    """End the stage with one ``error:`` line and exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


try:
    pin_cpu_numerics()
except PrunebenchError as error:  # an invalid PRUNEBENCH_CPU_NUMERICS, before main() runs
    refuse(str(error))

# A researcher's own strategies (`strategy: package.module:attribute`) may live in the checkout's
# strategies/ folder, which the stages that load them declare as a dep. Appended, so that it
# never shadows an installed module.
STRATEGIES_FOLDER = Path(__file__).resolve().parent.parent / "strategies"
sys.path.append(str(STRATEGIES_FOLDER))

from prunebench.pipeline.sources import code_digest  # noqa: E402

__all__ = [
    "code_digest",
    "device_from_environment",
    "epoch_curves",
    "run",
    "runner_from_environment",
]


def device_from_environment():
    """``PRUNEBENCH_DEVICE`` (``cpu``, ``cuda``, ``auto``); recorded in every metrics file."""
    from prunebench.foundations.environment import choose_device

    return choose_device(os.environ.get("PRUNEBENCH_DEVICE"))


def runner_from_environment():
    """Where cells run (``PRUNEBENCH_WORKERS``, ``PRUNEBENCH_RAY_ADDRESS``), injected into the
    stage: None is this process. The runner is declared outside every code fingerprint
    (``prunebench.pipeline.sources.NOT_FINGERPRINTED``), since where a cell runs must change
    neither its result nor its cache key."""
    from prunebench.pipeline.runners import runner_from_environment

    return runner_from_environment()


def pretrained_cache() -> Path:
    """Where downloaded weights are kept: outside the repository, like torch.hub's."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prunebench"


@contextlib.contextmanager
def epoch_curves(directory: Path) -> Iterator[Callable[[dict], None]]:
    """dvclive's per-epoch curves under ``directory``; yields the ``on_epoch`` callback of train.

    Each row's ``train_loss`` becomes the metric ``train/loss`` and so on, one step per epoch.
    """
    from dvclive import Live

    with Live(str(directory), save_dvc_exp=False, dvcyaml=None, report=None) as live:

        def log_epoch(row: dict) -> None:
            for name, value in row.items():
                if name != "epoch":
                    live.log_metric(name.replace("_", "/", 1), value)
            live.next_step()

        yield log_epoch


def run(main: Callable[[], None]) -> None:
    """Run a stage; bad input or an unwritable path becomes one ``error:`` line and exit 2.

    So do ``MemoryError`` (a file asking for more memory than the machine has) and an interrupt
    (``KeyboardInterrupt``): the stage did not finish, and its exit status must say so.
    """
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    try:
        main()
    except PrunebenchError as error:
        refuse(str(error))
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        refuse(f"cannot write or read{where}: {error.strerror or error}")
    except (MemoryError, KeyboardInterrupt) as error:
        refuse(f"the stage stopped: {describe_failure(error)}")
