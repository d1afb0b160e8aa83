"""Safe, atomic files and directories: JSON, CSV, checkpoints, and the one sha256 helper.

Everything is written under a temporary name in the destination directory and renamed into
place, so a killed process never leaves a half-written file (or directory) under a name a later
stage reads. What a kill leaves under a temporary name (hidden, ``.NAME.xxxxxxxx``), each stage
removes from its outputs before it writes them (:func:`prepare_outputs`), so that DVC never
records one as part of an output folder. A write that fails without saying where (a full disk's
``write()``) is reported with the path it was writing.

Written files get the permissions the user's umask gives (0644 usually), like any file opened
for writing, so teammates sharing a workspace or a cache can read them. Checkpoints are
safetensors: tensors only, nothing executed on load.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from prunebench.foundations.errors import PrunebenchError

if TYPE_CHECKING:  # torch costs seconds to import; the aggregate stage never needs it
    import torch

_CHUNK = 1 << 20


def _umask() -> int:
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks so that large files need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_file(path: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; once the block succeeds it becomes ``path``.

    For writers that want a file name (savefig, safetensors, a download). On an exception the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    try:
        with _naming(path):
            yield Path(temporary)
            # mkstemp creates the file 0600; give it the mode an ordinary open() would.
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    with atomic_file(path) as temporary:
        temporary.write_bytes(payload)


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
        with _naming(target):
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


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an ``OSError`` that names no file (``write()`` on a full disk) the path written."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


# What atomic_file (mkstemp's 8 random characters, then the writer's suffix) and
# atomic_directory leave under a temporary name when the process is killed.
_TEMPORARY = r"\.(?:[a-z0-9_]{8}(?:\.[A-Za-z0-9]+)?|partial-\d+|retired-\d+)"
_ANY_TEMPORARY = re.compile(rf"\..+{_TEMPORARY}")


def remove_temporaries(output: Path) -> list[Path]:
    """Remove what killed writers left of ``output``; return what was removed.

    Beside it, its hidden temporaries (``.NAME.xxxxxxxx``, ``.NAME.partial-PID``); inside it, if
    it is a folder, every hidden temporary of any of its files or folders. A leftover inside an
    output folder would otherwise be recorded by DVC as one more file of it.
    """
    output = Path(output)
    beside = re.compile(rf"\.{re.escape(output.name)}{_TEMPORARY}")
    found = [entry for entry in _entries(output.parent) if beside.fullmatch(entry.name)]
    if output.is_dir():
        found += [entry for entry in output.rglob(".*") if _ANY_TEMPORARY.fullmatch(entry.name)]
    for entry in found:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return found


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.is_dir() else []


def prepare_outputs(*paths: Path) -> None:
    """What a stage does before any work: refuse an output it cannot write
    (:func:`check_writable`) and remove what a killed run left of each (:func:`remove_temporaries`).
    """
    check_writable(*paths)
    for path in paths:
        remove_temporaries(path)


def json_bytes(payload: object) -> bytes:
    """The one JSON encoding of every file we write: sorted keys, indented, newline-terminated."""
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: Path, payload: object) -> None:
    atomic_write_bytes(path, json_bytes(payload))


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


def check_writable(*paths: Path) -> None:
    """Refuse, in one line naming the path, an output location this process cannot write.

    Called before expensive work: the nearest existing ancestor of each path must be a writable
    directory (and the path itself, if it exists, writable).
    """
    for path in paths:
        path = Path(path)
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.exists() and not os.access(probe, os.W_OK):
            raise PrunebenchError(f"cannot write {path}: {probe} is not writable")
        if probe.exists() and probe.is_file() and probe != path:
            raise PrunebenchError(f"cannot write {path}: {probe} is a file, not a directory")


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
