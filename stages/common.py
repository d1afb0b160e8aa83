"""What every stage script shares: params, the device, error reporting, the code fingerprint."""

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

import prunebench
from prunebench.config import Params, parse_params
from prunebench.errors import PrunebenchError

REPO = Path(__file__).resolve().parent.parent
# Where the code that runs lives: the installed package (the repository's own src/ in an editable
# install) and the stage scripts.
CODE_ROOTS = (Path(prunebench.__file__).resolve().parent, Path(__file__).resolve().parent)


def load_params(path: Path = REPO / "params.yaml") -> Params:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as error:
        raise PrunebenchError(f"{path} is not valid YAML: {error}") from None
    return parse_params(raw)


def device_from_environment():
    """``PRUNEBENCH_DEVICE`` (``cpu``, ``cuda``, ``auto``); recorded in every metrics file."""
    from prunebench.provenance import choose_device

    return choose_device(os.environ.get("PRUNEBENCH_DEVICE"))


def code_digest() -> str:
    """Digest of the project's modules this process has loaded: a cell's code fingerprint.

    Only the code the stage actually runs counts, so editing the reporting package never
    invalidates a finetuned cell.
    """
    digest = hashlib.sha256()
    for module in sorted(sys.modules.values(), key=lambda m: getattr(m, "__name__", "")):
        source = getattr(module, "__file__", None)
        if source and any(Path(source).resolve().is_relative_to(r) for r in CODE_ROOTS):
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()


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
    """Run a stage; bad input becomes one ``error:`` line on stderr and exit status 2."""
    try:
        main()
    except PrunebenchError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
