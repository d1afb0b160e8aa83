"""Tests of prunebench.data on small files written in the real on-disk formats, and the sample."""

import dataclasses
import gzip
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from prunebench.data import (
    DATASETS,
    Dataset,
    TensorSplit,
    hold_out_validation,
    load_dataset,
    materialize,
    open_materialized,
)
from prunebench.data.augment import pad_crop_flip
from prunebench.data.catalog import SAMPLE_METADATA_PATH, SAMPLE_PATH
from prunebench.data.cifar import _reconstruct
from prunebench.data.idx import read_idx
from prunebench.foundations.errors import PrunebenchError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """Write ``array`` as an IDX file: magic, big-endian int32 dims, big-endian values."""
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">i4").tobytes()
    content = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(content) if compress else content)


def write_idx_dataset(directory: Path, train_size: int, test_size: int, compress: bool) -> None:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for prefix, size in (("train", train_size), ("t10k", test_size)):
        images = rng.integers(0, 256, (size, 28, 28), dtype=np.uint8)
        labels = (np.arange(size) % 10).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2 with NumPy 1 wrote the real CIFAR files.

    ``bytes`` become Python 2 ``str`` opcodes (BINSTRING), which the reader must decode as latin1,
    and array reconstruction is named ``numpy.core.multiarray._reconstruct``.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes) -> None:
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        if obj is _reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def write_cifar(root: Path, hundred: bool, images_per_batch: int = 20) -> np.ndarray:
    """Tiny CIFAR files in the real layout: dicts with bytes keys, ``data`` uint8 [N, 3072].

    CIFAR-10 is pickled the Python 2 way of the real files, CIFAR-100 by Python 3's pickle (as a
    user's re-pickled copy would be). Returns the first batch's data to check the reshape.
    """

    def dump(content: dict, path: Path) -> None:
        with path.open("wb") as file:
            if hundred:
                pickle.dump(content, file)
            else:
                Python2Pickler(file, protocol=2).dump(content)

    rng = np.random.default_rng(1)
    num_classes = 100 if hundred else 10
    label_key = b"fine_labels" if hundred else b"labels"
    directory = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    directory.mkdir(parents=True)
    train_files = ["train"] if hundred else [f"data_batch_{n}" for n in range(1, 6)]
    first_data = None
    for name in [*train_files, "test"] if hundred else [*train_files, "test_batch"]:
        data = rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8)
        labels = [int(label) for label in rng.integers(0, num_classes, images_per_batch)]
        batch = {b"batch_label": name.encode(), label_key: labels, b"data": data}
        batch[b"filenames"] = [f"image_{i}.png".encode() for i in range(images_per_batch)]
        if hundred:
            batch[b"coarse_labels"] = [label // 5 for label in labels]
        dump(batch, directory / name)
        first_data = data if first_data is None else first_data
    names_key = b"fine_label_names" if hundred else b"label_names"
    meta = {names_key: [f"class_{i}".encode() for i in range(num_classes)]}
    dump(meta, directory / ("meta" if hundred else "batches.meta"))
    return first_data


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = tmp_path_factory.mktemp("cifar")
    write_cifar(root, hundred=False)
    return load_dataset("cifar10", root=root, validation_size=10, split_seed=0)


# --- readers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_read_idx_round_trips_gzipped_and_raw(tmp_path: Path, compress: bool, dtype: type) -> None:
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / "array.idx", array, compress)
    read = read_idx(tmp_path / "array.idx")
    assert read.dtype == np.dtype(dtype) and np.array_equal(read, array)


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path: Path) -> None:
    (tmp_path / "text").write_bytes(b"not an idx file")
    with pytest.raises(PrunebenchError, match="not an IDX file"):
        read_idx(tmp_path / "text")
    write_idx(tmp_path / "cut", np.zeros((4, 5), dtype=np.uint8), compress=False)
    (tmp_path / "cut").write_bytes((tmp_path / "cut").read_bytes()[:-3])
    with pytest.raises(PrunebenchError, match="needs"):
        read_idx(tmp_path / "cut")


def test_mnist_reads_raw_idx_in_torchvision_layout(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path / "MNIST" / "raw", train_size=50, test_size=20, compress=False)
    dataset = load_dataset("mnist", root=tmp_path, validation_size=10, split_seed=0)
    assert dataset.split_sizes() == {"train": 40, "validation": 10, "test": 20}
    assert (
        dataset.train.images.shape == (40, 1, 28, 28) and dataset.train.images.dtype == torch.uint8
    )
    assert dataset.test.labels.dtype == torch.int64
    assert dataset.test.labels.tolist() == [i % 10 for i in range(20)]
    raw_labels = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    expected_sha256 = hashlib.sha256(raw_labels.read_bytes()).hexdigest()
    assert dataset.source_sha256["t10k-labels-idx1-ubyte"] == expected_sha256


def test_fashion_mnist_prefers_root_over_system_copy(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, train_size=30, test_size=10, compress=True)
    dataset = load_dataset("fashion_mnist", root=tmp_path, validation_size=10, split_seed=0)
    assert dataset.split_sizes() == {"train": 20, "validation": 10, "test": 10}
    assert dataset.info.class_names[0] == "T-shirt/top"
    assert set(dataset.source_sha256) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }


def test_cifar10_reads_python_batches(tmp_path: Path) -> None:
    first_data = write_cifar(tmp_path, hundred=False)
    dataset = load_dataset("cifar10", root=tmp_path, validation_size=0, split_seed=0)
    assert dataset.split_sizes() == {"train": 100, "validation": 0, "test": 20}
    assert dataset.info.class_names == tuple(f"class_{i}" for i in range(10))
    # A row is 1024 red, 1024 green, 1024 blue values, each a 32x32 image in row-major order.
    first = dataset.train.images[0]
    assert first.shape == (3, 32, 32)
    assert first[1, 2, 3].item() == first_data[0, 1024 + 2 * 32 + 3]
    assert len(dataset.source_sha256) == 7


def test_cifar100_reads_fine_labels(tmp_path: Path) -> None:
    write_cifar(tmp_path, hundred=True)
    dataset = load_dataset("cifar100", root=tmp_path, validation_size=5, split_seed=0)
    assert dataset.info.num_classes == 100 and len(dataset.info.class_names) == 100
    assert dataset.split_sizes() == {"train": 15, "validation": 5, "test": 20}
    assert int(dataset.test.labels.max()) < 100


class _RunsAShellCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_cifar_reader_refuses_a_pickle_that_calls_anything_else(tmp_path: Path) -> None:
    write_cifar(tmp_path, hundred=False)
    marker = tmp_path / "code_ran"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    with batch.open("wb") as file:
        pickle.dump({b"data": _RunsAShellCommand(marker), b"labels": []}, file)
    with pytest.raises(PrunebenchError, match=r"refusing to unpickle \w+\.system"):
        load_dataset("cifar10", root=tmp_path, validation_size=0, split_seed=0)
    assert not marker.exists()


def _write_image_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(2)
    for split, per_class in (("train", 3), ("val", 1)):
        for wnid in ("n01440764", "n01443537"):
            (root / split / wnid).mkdir(parents=True)
            for number in range(per_class):
                pixels = rng.integers(0, 256, (30 + 5 * number, 40, 3), dtype=np.uint8)
                suffix = "PNG" if number == 2 else "JPEG"
                Image.fromarray(pixels).save(root / split / wnid / f"{wnid}_{number}.{suffix}")


def test_imagenet_reads_an_image_folder_lazily(tmp_path: Path) -> None:
    _write_image_folder(tmp_path)
    dataset = load_dataset("imagenet", root=tmp_path, validation_size=2, split_seed=0)
    assert dataset.split_sizes() == {"train": 4, "validation": 2, "test": 2}
    assert dataset.info.class_names == ("n01440764", "n01443537")
    assert dataset.test.files == (
        "val/n01440764/n01440764_0.JPEG",
        "val/n01443537/n01443537_0.JPEG",
    )

    images, labels = next(dataset.batches("test", batch_size=8))
    assert images.shape == (2, 3, 224, 224) and images.dtype == torch.float32
    assert labels.tolist() == [0, 1]

    def augmented(split: object, seed: int) -> list[torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        batches = split.batches(
            dataset.info,
            3,
            shuffle=True,
            generator=generator,
            device=torch.device("cpu"),
            augment=True,
        )
        return [images for images, _ in batches]

    in_workers = augmented(dataset.train, seed=5)
    in_process = augmented(dataclasses.replace(dataset.train, loader_workers=0), seed=5)
    assert all(torch.equal(a, b) for a, b in zip(in_workers, in_process, strict=True))
    assert not torch.equal(in_process[0], augmented(dataset.train, seed=6)[0])

    materialize(dataset, tmp_path / "materialized")
    index = json.loads((tmp_path / "materialized" / "index.json").read_text())
    assert index["splits"]["test"]["files"] == list(dataset.test.files)
    reopened = open_materialized(tmp_path / "materialized")
    assert reopened.train.files == dataset.train.files
    assert torch.equal(next(reopened.batches("test", 8))[0], images)


# --- missing and unknown datasets ----------------------------------------------------------------


def test_unknown_dataset_lists_valid_names() -> None:
    with pytest.raises(PrunebenchError) as raised:
        load_dataset("svhn", validation_size=0, split_seed=0)
    for name in (
        "fashion_mnist_sample",
        "fashion_mnist",
        "mnist",
        "cifar10",
        "cifar100",
        "imagenet",
    ):
        assert name in str(raised.value)
    assert set(DATASETS.names()) == {
        "fashion_mnist_sample",
        "fashion_mnist",
        "mnist",
        "cifar10",
        "cifar100",
        "imagenet",
    }


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "imagenet"])
def test_missing_dataset_is_one_error_naming_where_and_how(name: str, tmp_path: Path) -> None:
    with pytest.raises(PrunebenchError) as raised:
        load_dataset(name, root=tmp_path, validation_size=0, split_seed=0)
    message = str(raised.value)
    assert "\n" not in message
    assert f"dataset {name} not found" in message and str(tmp_path) in message
    assert "data.root" in message


def test_missing_dataset_without_root_says_root_is_unset() -> None:
    with pytest.raises(PrunebenchError, match="data.root is unset"):
        load_dataset("cifar10", validation_size=0, split_seed=0)


# --- the embedded sample -----------------------------------------------------------------------


def test_sample_is_class_balanced_with_documented_sizes(sample: Dataset) -> None:
    metadata = json.loads(SAMPLE_METADATA_PATH.read_text())
    assert metadata["counts"] == {"train": 10000, "test": 3000}
    assert sample.split_sizes() == {"train": 9000, "validation": 1000, "test": 3000}
    train_labels = torch.cat([sample.train.labels, sample.validation.labels])
    assert torch.bincount(train_labels).tolist() == [1000] * 10
    assert torch.bincount(sample.test.labels).tolist() == [300] * 10
    assert torch.bincount(sample.validation.labels).tolist() == [100] * 10
    assert sample.info.input_shape == (1, 28, 28) and sample.info.num_classes == 10
    assert SAMPLE_PATH.stat().st_size <= 5_000_000


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist not installed")
def test_sample_is_the_first_images_per_class_of_the_official_files(sample: Dataset) -> None:
    metadata = json.loads(SAMPLE_METADATA_PATH.read_text())
    for name, recorded in metadata["source_sha256"].items():
        assert hashlib.sha256((DEBIAN_FASHION_MNIST / name).read_bytes()).hexdigest() == recorded
        assert sample.source_sha256[name] == recorded
    labels = read_idx(DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz")
    images = read_idx(DEBIAN_FASHION_MNIST / "t10k-images-idx3-ubyte.gz")
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == c)[:300] for c in range(10)]))
    assert np.array_equal(sample.test.images[:, 0].numpy(), images[chosen])


# --- splits --------------------------------------------------------------------------------------


def test_validation_split_is_seeded_disjoint_covering_and_stratified() -> None:
    labels = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    kept, held_out = hold_out_validation(labels, 20, seed=3)
    again_kept, again_held_out = hold_out_validation(labels, 20, seed=3)
    assert torch.equal(kept, again_kept) and torch.equal(held_out, again_held_out)
    assert not torch.equal(held_out, hold_out_validation(labels, 20, seed=4)[1])
    assert set(kept.tolist()).isdisjoint(held_out.tolist())
    assert sorted(kept.tolist() + held_out.tolist()) == list(range(100))
    assert torch.bincount(labels[held_out]).tolist() == [12, 6, 2]
    with pytest.raises(PrunebenchError, match="validation_size"):
        hold_out_validation(labels, 100, seed=0)


def test_same_split_seed_gives_the_same_validation_images(sample: Dataset) -> None:
    again = load_dataset("fashion_mnist_sample", validation_size=1000, split_seed=0)
    other = load_dataset("fashion_mnist_sample", validation_size=1000, split_seed=1)
    assert torch.equal(again.validation.images, sample.validation.images)
    assert not torch.equal(other.validation.images, sample.validation.images)


# --- batches and augmentation --------------------------------------------------------------------


def test_unshuffled_batches_are_the_split_in_order_and_normalised(sample: Dataset) -> None:
    batches = list(sample.batches("test", batch_size=1024))
    assert [len(labels) for _, labels in batches] == [1024, 1024, 952]
    images = torch.cat([images for images, _ in batches])
    expected = (sample.test.images.float() / 255 - 0.2860) / 0.3530
    assert torch.allclose(images, expected, atol=1e-5)
    assert torch.equal(torch.cat([labels for _, labels in batches]), sample.test.labels)


def test_shuffled_batches_visit_every_image_once_in_a_seeded_order(sample: Dataset) -> None:
    def label_order(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.cat(
            [y for _, y in sample.batches("validation", 64, shuffle=True, generator=generator)]
        )

    first = label_order(0)
    assert torch.equal(first, label_order(0)) and not torch.equal(first, label_order(1))
    assert torch.equal(first.sort().values, sample.validation.labels.sort().values)
    with pytest.raises(ValueError, match="generator"):
        sample.batches("train", 64, shuffle=True)


def test_mnist_like_augmentation_is_the_identity(sample: Dataset) -> None:
    generator = torch.Generator().manual_seed(0)
    augmented, _ = next(sample.batches("test", 64, generator=generator, augment=True))
    plain, _ = next(sample.batches("test", 64))
    assert torch.equal(augmented, plain)


def test_cifar_augmentation_is_seeded_and_changes_images(cifar10: Dataset) -> None:
    def first_batch(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return next(cifar10.batches("train", 32, shuffle=True, generator=generator, augment=True))[
            0
        ]

    assert torch.equal(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))
    generator = torch.Generator().manual_seed(0)
    augmented, _ = next(cifar10.batches("test", 20, generator=generator, augment=True))
    plain, _ = next(cifar10.batches("test", 20))
    assert not torch.equal(augmented, plain)


def test_pad_crop_flip_shifts_and_mirrors_each_image_within_the_padding() -> None:
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    augmented = pad_crop_flip(images, torch.Generator().manual_seed(0), padding=4)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for image, result in zip(padded, augmented, strict=True):
        candidates = [
            crop.flip(-1) if flip else crop
            for top in range(9)
            for left in range(9)
            for crop in [image[:, top : top + 32, left : left + 32]]
            for flip in (False, True)
        ]
        assert any(torch.equal(result, candidate) for candidate in candidates)


# --- materialisation -----------------------------------------------------------------------------


def test_materialize_round_trips_and_replaces_atomically(sample: Dataset, tmp_path: Path) -> None:
    out_dir = tmp_path / "data" / "fashion_mnist_sample"
    materialize(sample, out_dir)
    materialize(sample, out_dir)  # over an existing output
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["fashion_mnist_sample"]
    reopened = open_materialized(out_dir)
    assert reopened.info == sample.info
    assert reopened.source_sha256 == sample.source_sha256 and reopened.split_seed == 0
    for name in ("train", "validation", "test"):
        assert isinstance(reopened.split(name), TensorSplit)
        assert torch.equal(reopened.split(name).images, sample.split(name).images)
        assert torch.equal(reopened.split(name).labels, sample.split(name).labels)
    description = json.loads((out_dir / "dataset.json").read_text())
    assert description["split_sizes"] == {"train": 9000, "validation": 1000, "test": 3000}
    with pytest.raises(PrunebenchError, match="not a materialised dataset"):
        open_materialized(tmp_path / "nothing")


def test_opening_a_materialized_dataset_does_not_import_torchvision(
    sample: Dataset, tmp_path: Path
) -> None:
    materialize(sample, tmp_path / "sample")
    program = (
        "import sys; from prunebench.data import open_materialized; "
        f"dataset = open_materialized({str(tmp_path / 'sample')!r}); "
        "next(dataset.batches('test', 8)); "
        "assert 'torchvision' not in sys.modules, 'torchvision was imported'"
    )
    subprocess.run([sys.executable, "-c", program], check=True)
