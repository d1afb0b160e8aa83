"""Safe, atomic files and directories: JSON, CSV and model checkpoints.

Everything is written under a temporary name in the destination directory and renamed into
place, so a killed process never leaves a half-written file (or directory) under a name a later
stage reads.
Checkpoints are safetensors: tensors only, nothing executed on load.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from prunebench.errors import PrunebenchError

if TYPE_CHECKING:  # torch costs seconds to import; the aggregate stage never needs it
    import torch


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``target``; on success it becomes ``target``.

    An existing ``target`` is swapped out and deleted only once the new one is complete
    (``os.replace`` cannot overwrite a non-empty directory, hence the swap). On an exception the
    staging directory is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            retired = target.parent / f".{target.name}.retired-{os.getpid()}"
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, payload: object) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PrunebenchError(f"{path} does not exist; run the stage that writes it") from None
    except json.JSONDecodeError as error:
        raise PrunebenchError(f"{path} is not valid JSON: {error}") from None


def write_csv_rows(path: Path, rows: list[dict]) -> None:
    """A list of same-keyed dicts as CSV (header from the first row's keys)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buffer.getvalue().encode())


def save_state_dict(path: Path, state_dict: "dict[str, torch.Tensor]") -> None:
    """Write a model's state dict as safetensors (contiguous CPU copies, shared storage split)."""
    from safetensors.torch import save

    tensors = {
        name: tensor.detach().cpu().contiguous().clone() for name, tensor in state_dict.items()
    }
    atomic_write_bytes(path, save(tensors))


def load_state_dict(path: Path) -> "dict[str, torch.Tensor]":
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise PrunebenchError(f"{path} does not exist; run the stage that writes it")
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own types for malformed headers
        raise PrunebenchError(f"{path} is not a valid safetensors checkpoint: {error}") from None
