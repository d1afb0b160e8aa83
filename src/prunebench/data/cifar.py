"""Reader for the CIFAR-10 / CIFAR-100 "python version" batch files.

Those batches are pickles, and unpickling runs whatever callables the file names. A downloaded or
user-supplied file is untrusted, so it is read with :class:`CifarUnpickler`, which resolves only
the few globals the real files use (NumPy array and dtype reconstruction, plain lists and dicts)
and refuses every other one before it can be called.
"""

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from prunebench.foundations.errors import PrunebenchError

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy < 2 has no numpy._core
    from numpy.core.multiarray import _reconstruct

# (module, name) as written in the pickle -> the object it may resolve to. The files were written
# by Python 2 with NumPy 1, so they name ``numpy.core``; files re-pickled by NumPy 2 name
# ``numpy._core``. ``__builtin__`` is mapped to ``builtins`` by the unpickler itself.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "list"): list,
    ("builtins", "dict"): dict,
}

CIFAR_IMAGE_SHAPE = (3, 32, 32)


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only NumPy arrays, lists and dicts, and refuses any other global."""

    def __init__(self, file: Any, source: Path) -> None:
        # latin1 is NumPy's documented way to read Python 2 array pickles: it maps the raw bytes
        # of each array's buffer one to one onto the str that Python 2 wrote.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise PrunebenchError(
                f"refusing to unpickle {module}.{name} from {self.source}: CIFAR batches hold "
                "only NumPy arrays, lists and dicts"
            ) from None


def load_cifar_pickle(path: Path) -> dict[str, Any]:
    """Unpickle one CIFAR file with :class:`CifarUnpickler`; keys come back as ``str``.

    Python 2 wrote the keys as ``str`` (read back as ``str`` under latin1); a file pickled by
    Python 3 with ``bytes`` keys (``b"data"``) reads the same after the keys are decoded.
    """
    try:
        with path.open("rb") as file:
            content = CifarUnpickler(file, path).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise PrunebenchError(f"{path} is not a readable CIFAR batch: {error}") from None
    except MemoryError as error:  # an array header may claim any size (a real batch is 30 MB)
        raise PrunebenchError(f"{path} is not a readable CIFAR batch: {error}") from None
    if not isinstance(content, dict):
        raise PrunebenchError(f"{path} is not a CIFAR batch: it holds a {type(content).__name__}")
    return {
        key.decode("latin1") if isinstance(key, bytes) else key: value
        for key, value in content.items()
    }


def _as_str(value: Any) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def read_cifar_batches(paths: list[Path], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate CIFAR batches into uint8 images ``[N, 3, 32, 32]`` and int64 labels ``[N]``.

    Each row of ``data`` is the 1024 red, then green, then blue values of a 32x32 image in
    row-major order, so a plain reshape gives channels-first images.
    """
    images, labels = [], []
    for path in paths:
        batch = load_cifar_pickle(path)
        if "data" not in batch or label_key not in batch:
            raise PrunebenchError(f"{path} is not a CIFAR batch: it lacks 'data' or '{label_key}'")
        data = np.asarray(batch["data"])
        batch_labels = np.asarray(batch[label_key], dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != np.prod(CIFAR_IMAGE_SHAPE):
            raise PrunebenchError(
                f"{path}: 'data' must be uint8 [N, 3072], got {data.dtype} {list(data.shape)}"
            )
        if batch_labels.shape != (data.shape[0],):
            raise PrunebenchError(
                f"{path}: {data.shape[0]} images but {batch_labels.size} '{label_key}'"
            )
        images.append(data.reshape(-1, *CIFAR_IMAGE_SHAPE))
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def read_cifar_class_names(path: Path, names_key: str) -> tuple[str, ...]:
    """Read the class names (``label_names`` or ``fine_label_names``) from a CIFAR meta file."""
    meta = load_cifar_pickle(path)
    if names_key not in meta:
        raise PrunebenchError(f"{path} is not a CIFAR meta file: it lacks '{names_key}'")
    return tuple(_as_str(name) for name in meta[names_key])
