"""Build the Fashion-MNIST sample shipped in the package, byte for byte reproducibly.

    .venv/bin/python scripts/build_fashion_mnist_sample.py [--source DIRECTORY_OF_IDX_FILES]

Selection rule (no randomness, so nothing depends on an RNG implementation): the first
``--train-per-class`` images of each class in the official training file and the first
``--test-per-class`` of each class in the official test file, kept in file order.

Output, next to the package code:

- ``fashion_mnist_sample.npz``: uint8 ``train_images`` ``[N, 28, 28]``, ``train_labels`` ``[N]``,
  ``test_images``, ``test_labels``, in a zip with LZMA compression (NumPy's default deflate would
  exceed the 5 MB budget) and fixed timestamps, so the same inputs give the same bytes.
- ``fashion_mnist_sample.json``: the rule, the counts, the sha256 of each source file (as read)
  and of its decompressed IDX content, and the sha256 of each array. The content hashes identify
  the data independently of compression: Debian's ``dataset-fashion-mnist`` re-gzipped the
  official files without their stored names, so the .gz hashes differ while the IDX content is
  the same.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from prunebench.data.catalog import (
    DEBIAN_FASHION_MNIST,
    SAMPLE_PATH,
    array_sha256,
    find_idx_files,
)
from prunebench.data.idx import read_idx
from prunebench.foundations.files import sha256_file

SIZE_LIMIT_BYTES = 5_000_000
NUM_CLASSES = 10
# Zip entries carry a modification time and the creating OS; fixing both fixes the bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_UNIX = 3


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` images of every class, in ascending (file) order."""
    chosen = []
    for label in range(NUM_CLASSES):
        of_class = np.flatnonzero(labels == label)[:per_class]
        if len(of_class) < per_class:
            sys.exit(f"class {label} has only {len(of_class)} images, {per_class} requested")
        chosen.append(of_class)
    return np.sort(np.concatenate(chosen))


def idx_content_sha256(path: Path) -> str:
    raw = path.read_bytes()
    return hashlib.sha256(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).hexdigest()


def write_npz_lzma(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` that ``np.load`` reads as usual, LZMA-compressed, written atomically."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            entry.create_system = ZIP_UNIX
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_LZMA
            archive.writestr(entry, buffer.getvalue())
    os.replace(partial, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_FASHION_MNIST)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=300)
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    arguments = parser.parse_args()

    files = find_idx_files(arguments.source)
    if files is None:
        sys.exit(
            f"no Fashion-MNIST IDX files in {arguments.source}; "
            "`apt-get install dataset-fashion-mnist` or pass --source"
        )
    arrays = {}
    for split, per_class in (
        ("train", arguments.train_per_class),
        ("test", arguments.test_per_class),
    ):
        images, labels = read_idx(files[f"{split}_images"]), read_idx(files[f"{split}_labels"])
        chosen = first_per_class(labels, per_class)
        arrays[f"{split}_images"] = np.ascontiguousarray(images[chosen])
        arrays[f"{split}_labels"] = np.ascontiguousarray(labels[chosen])
    write_npz_lzma(arguments.out, arrays)

    metadata = {
        "dataset": "Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), MIT licence",
        "builder": "scripts/build_fashion_mnist_sample.py",
        "selection": "first N images of each class in official file order, kept in file order",
        "train_per_class": arguments.train_per_class,
        "test_per_class": arguments.test_per_class,
        "counts": {split: int(len(arrays[f"{split}_labels"])) for split in ("train", "test")},
        "source_sha256": {path.name: sha256_file(path) for path in files.values()},
        "source_idx_content_sha256": {
            path.name: idx_content_sha256(path) for path in files.values()
        },
        "array_sha256": {name: array_sha256(array) for name, array in arrays.items()},
    }
    arguments.out.with_suffix(".json").write_text(
        json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    )

    size = arguments.out.stat().st_size
    print(
        f"{arguments.out}: {size} bytes, {metadata['counts']}, sha256 {sha256_file(arguments.out)}"
    )
    if size > SIZE_LIMIT_BYTES:
        sys.exit(f"{arguments.out} is {size} bytes, over the {SIZE_LIMIT_BYTES}-byte budget")


if __name__ == "__main__":
    main()
