"""The dataset registry ``DATASETS``: where each dataset is found, how it is read and fetched.

Every entry reads the standard on-disk format of its dataset (IDX, CIFAR python batches,
ImageFolder) from a user directory (``data.root``), falling back to a system copy where one
exists, and downloads with checksum verification only when asked to. A dataset that cannot be
found is one :class:`PrunebenchError` naming every place looked and how to get it.
"""

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from prunebench.data.augment import NO_AUGMENTATION, PAD_CROP_FLIP, RESIZED_CROP_FLIP
from prunebench.data.cifar import read_cifar_batches, read_cifar_class_names
from prunebench.data.dataset import Dataset, DatasetInfo, Split
from prunebench.data.idx import read_idx
from prunebench.data.imagefolder import CROP_SIZE, scan_image_folder
from prunebench.data.splits import hold_out_validation
from prunebench.data.tensors import TensorSplit
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import sha256_file
from prunebench.foundations.registry import Registry


@dataclass(frozen=True, eq=False)
class DatasetSource:
    """A dataset as read from disk: the whole training set (no validation held out yet), test."""

    info: DatasetInfo
    train: Split
    test: Split
    source_sha256: dict[str, str]


DatasetReader = Callable[[Path | None, bool], DatasetSource]
"""``(root, download) -> DatasetSource``; ``root`` is ``data.root``, or None when unset."""

DATASETS: Registry[DatasetReader] = Registry("dataset")


def load_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    validation_size: int,
    split_seed: int,
    download: bool = False,
) -> Dataset:
    """Read dataset ``name`` and hold ``validation_size`` training images out as validation.

    The validation split is stratified by class and fixed by ``split_seed`` (see
    :func:`prunebench.data.splits.hold_out_validation`); the test split is the dataset's own.
    """
    source = DATASETS[name](None if root is None else Path(root).expanduser(), download)
    kept, held_out = hold_out_validation(source.train.labels, validation_size, split_seed)
    return Dataset(
        info=source.info,
        train=source.train.subset(kept),
        validation=source.train.subset(held_out),
        test=source.test,
        source_sha256=source.source_sha256,
        split_seed=split_seed,
    )


def _not_found(
    name: str, looked_for: str, directories: list[Path], how_to_get: str
) -> PrunebenchError:
    where = ", ".join(str(directory) for directory in directories) or "nowhere (data.root is unset)"
    return PrunebenchError(
        f"dataset {name} not found: looked for {looked_for} in {where}; {how_to_get}"
    )


def _download_error(name: str, url: str, error: Exception) -> PrunebenchError:
    return PrunebenchError(f"downloading {name} from {url} failed: {error}")


def _labels(values: np.ndarray, count: int, num_classes: int, source: str) -> torch.Tensor:
    """Labels as int64, checked to be one per image and inside ``[0, num_classes)``."""
    labels = torch.from_numpy(np.asarray(values, dtype=np.int64))
    if labels.shape != (count,):
        raise PrunebenchError(f"{source}: {labels.numel()} labels for {count} images")
    if count and not (0 <= int(labels.min()) and int(labels.max()) < num_classes):
        raise PrunebenchError(f"{source}: labels outside [0, {num_classes})")
    return labels


# --- Fashion-MNIST and MNIST: IDX files -------------------------------------------------------

IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Mean and std of the 60k training images on the [0, 1] scale.
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class IdxDistribution:
    """Where an IDX dataset is published and where local copies are looked for."""

    info: DatasetInfo
    torchvision_directory: str  # torchvision's layout: <root>/<torchvision_directory>/raw/
    mirrors: tuple[str, ...]
    gzip_md5: dict[str, str]  # md5 of each published .gz file, as torchvision checks them
    system_directory: Path | None
    how_to_get: str


FASHION_MNIST = IdxDistribution(
    info=DatasetInfo(
        name="fashion_mnist",
        num_classes=10,
        input_shape=(1, 28, 28),
        mean=FASHION_MNIST_MEAN,
        std=FASHION_MNIST_STD,
        augmentation=NO_AUGMENTATION,
        class_names=FASHION_MNIST_CLASSES,
    ),
    torchvision_directory="FashionMNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    gzip_md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    system_directory=DEBIAN_FASHION_MNIST,
    how_to_get=(
        "install it with `apt-get install dataset-fashion-mnist`, set data.root to a directory "
        "holding the IDX files, or set data.download to fetch them"
    ),
)

MNIST = IdxDistribution(
    info=DatasetInfo(
        name="mnist",
        num_classes=10,
        input_shape=(1, 28, 28),
        mean=(0.1307,),
        std=(0.3081,),
        augmentation=NO_AUGMENTATION,
        class_names=tuple(str(digit) for digit in range(10)),
    ),
    torchvision_directory="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    gzip_md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    system_directory=None,
    how_to_get=(
        "set data.root to a directory holding the IDX files, or set data.download to fetch them"
    ),
)


def find_idx_files(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory`` (each ``.gz`` or raw), or None unless all are there."""
    found = {}
    for part, stem in IDX_STEMS.items():
        candidates = [directory / f"{stem}.gz", directory / stem]
        existing = [path for path in candidates if path.is_file()]
        if not existing:
            return None
        found[part] = existing[0]
    return found


def _download_idx(distribution: IdxDistribution, directory: Path) -> None:
    """Fetch the four .gz files into ``directory``, each verified against its published md5.

    A file already there is kept only if its md5 matches. Each file is downloaded under a
    temporary name and renamed once its md5 matched, so a failed or corrupted download never
    leaves a file that a later run would read.
    """
    from torchvision.datasets.utils import check_integrity, download_url

    for file_name, md5 in distribution.gzip_md5.items():
        if check_integrity(str(directory / file_name), md5):
            continue
        errors = []
        for mirror in distribution.mirrors:
            partial_name = f".{file_name}.partial-{os.getpid()}"
            try:
                download_url(mirror + file_name, str(directory), filename=partial_name, md5=md5)
            except (OSError, RuntimeError) as error:
                errors.append(f"{mirror + file_name}: {error}")
                (directory / partial_name).unlink(missing_ok=True)
                continue
            os.replace(directory / partial_name, directory / file_name)
            break
        else:
            raise PrunebenchError(
                f"downloading {distribution.info.name} failed: {'; '.join(errors)}"
            )


def _read_idx_distribution(
    distribution: IdxDistribution, root: Path | None, download: bool
) -> DatasetSource:
    directories = []
    if root is not None:
        directories += [root, root / distribution.torchvision_directory / "raw"]
    if distribution.system_directory is not None:
        directories.append(distribution.system_directory)
    files = next((found for found in map(find_idx_files, directories) if found is not None), None)
    if files is None and download:
        if root is None:
            raise PrunebenchError(
                f"downloading {distribution.info.name} needs a target directory: set data.root"
            )
        root.mkdir(parents=True, exist_ok=True)
        _download_idx(distribution, root)
        files = find_idx_files(root)
    if files is None:
        looked_for = "[.gz], ".join(IDX_STEMS.values()) + "[.gz]"
        raise _not_found(distribution.info.name, looked_for, directories, distribution.how_to_get)
    arrays = {part: read_idx(path) for part, path in files.items()}
    splits = {}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.shape[1:] != distribution.info.input_shape[1:]:
            raise PrunebenchError(
                f"{files[f'{split}_images']}: expected uint8 images [N, 28, 28], "
                f"got {images.dtype} {list(images.shape)}"
            )
        splits[split] = TensorSplit(
            torch.from_numpy(images).unsqueeze(1),
            _labels(
                labels, len(images), distribution.info.num_classes, str(files[f"{split}_labels"])
            ),
        )
    return DatasetSource(
        info=distribution.info,
        train=splits["train"],
        test=splits["test"],
        source_sha256={path.name: sha256_file(path) for path in files.values()},
    )


@DATASETS.register("fashion_mnist")
def read_fashion_mnist(root: Path | None, download: bool) -> DatasetSource:
    """Fashion-MNIST, 60k train / 10k test, from ``root`` or Debian's dataset-fashion-mnist."""
    return _read_idx_distribution(FASHION_MNIST, root, download)


@DATASETS.register("mnist")
def read_mnist(root: Path | None, download: bool) -> DatasetSource:
    """MNIST, 60k train / 10k test, from ``root``."""
    return _read_idx_distribution(MNIST, root, download)


# --- The embedded Fashion-MNIST sample ---------------------------------------------------------

SAMPLE_PATH = Path(__file__).with_name("fashion_mnist_sample.npz")
SAMPLE_METADATA_PATH = SAMPLE_PATH.with_suffix(".json")


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-order bytes: its identity, whatever compressor stored it."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@DATASETS.register("fashion_mnist_sample")
def read_fashion_mnist_sample(root: Path | None, download: bool) -> DatasetSource:
    """The class-balanced Fashion-MNIST sample shipped in the package (``root`` is not used).

    Built by ``scripts/build_fashion_mnist_sample.py`` from the official files; its JSON records
    their sha256 and the sha256 of every array, which are checked here so a damaged install fails
    loudly instead of training on different data.
    """
    metadata = json.loads(SAMPLE_METADATA_PATH.read_text())
    with np.load(SAMPLE_PATH) as stored:
        arrays = {name: stored[name] for name in stored.files}
    for name, expected in metadata["array_sha256"].items():
        if name not in arrays or array_sha256(arrays[name]) != expected:
            raise PrunebenchError(
                f"{SAMPLE_PATH}: array {name!r} does not match its recorded sha256"
            )
    info = DatasetInfo(
        name="fashion_mnist_sample",
        num_classes=10,
        input_shape=(1, 28, 28),
        mean=FASHION_MNIST_MEAN,
        std=FASHION_MNIST_STD,
        augmentation=NO_AUGMENTATION,
        class_names=FASHION_MNIST_CLASSES,
    )
    splits = {
        split: TensorSplit(
            torch.from_numpy(arrays[f"{split}_images"]).unsqueeze(1),
            torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64)),
        )
        for split in ("train", "test")
    }
    return DatasetSource(
        info=info,
        train=splits["train"],
        test=splits["test"],
        source_sha256={**metadata["source_sha256"], SAMPLE_PATH.name: sha256_file(SAMPLE_PATH)},
    )


# --- CIFAR-10 and CIFAR-100: python batches ----------------------------------------------------


@dataclass(frozen=True)
class CifarDistribution:
    """One CIFAR "python version" archive: its statistics, file names and where it is published."""

    name: str
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    directory: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    label_key: str
    class_names_key: str
    url: str
    archive_md5: str


CIFAR10 = CifarDistribution(
    name="cifar10",
    num_classes=10,
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    directory="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{number}" for number in range(1, 6)),
    test_files=("test_batch",),
    meta_file="batches.meta",
    label_key="labels",
    class_names_key="label_names",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    archive_md5="c58f30108f718f92721af3b95e74349a",
)

CIFAR100 = CifarDistribution(
    name="cifar100",
    num_classes=100,
    mean=(0.5071, 0.4865, 0.4409),
    std=(0.2673, 0.2564, 0.2762),
    directory="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    meta_file="meta",
    label_key="fine_labels",
    class_names_key="fine_label_names",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
)


def _read_cifar(
    distribution: CifarDistribution, root: Path | None, download: bool
) -> DatasetSource:
    file_names = [*distribution.train_files, *distribution.test_files, distribution.meta_file]
    directories = [] if root is None else [root / distribution.directory, root]

    def find() -> Path | None:
        return next(
            (d for d in directories if all((d / name).is_file() for name in file_names)), None
        )

    directory = find()
    if directory is None and download:
        if root is None:
            raise PrunebenchError(
                f"downloading {distribution.name} needs a target directory: set data.root"
            )
        from torchvision.datasets.utils import download_and_extract_archive

        try:
            download_and_extract_archive(distribution.url, str(root), md5=distribution.archive_md5)
        except (OSError, RuntimeError) as error:
            raise _download_error(distribution.name, distribution.url, error) from None
        directory = find()
    if directory is None:
        raise _not_found(
            distribution.name,
            f"{distribution.directory}/{{{','.join(file_names)}}}",
            directories,
            f"set data.root to the directory holding {distribution.directory}/ (the python version "
            f"of {distribution.url}), or set data.download to fetch it",
        )
    meta_path = directory / distribution.meta_file
    class_names = read_cifar_class_names(meta_path, distribution.class_names_key)
    if len(class_names) != distribution.num_classes:
        raise PrunebenchError(
            f"{meta_path}: {len(class_names)} class names, expected {distribution.num_classes}"
        )
    info = DatasetInfo(
        name=distribution.name,
        num_classes=distribution.num_classes,
        input_shape=(3, 32, 32),
        mean=distribution.mean,
        std=distribution.std,
        augmentation=PAD_CROP_FLIP,
        class_names=class_names,
    )
    splits = {}
    for split, names in (("train", distribution.train_files), ("test", distribution.test_files)):
        images, labels = read_cifar_batches(
            [directory / name for name in names], distribution.label_key
        )
        splits[split] = TensorSplit(
            torch.from_numpy(images), _labels(labels, len(images), info.num_classes, str(directory))
        )
    return DatasetSource(
        info=info,
        train=splits["train"],
        test=splits["test"],
        source_sha256={name: sha256_file(directory / name) for name in file_names},
    )


@DATASETS.register("cifar10")
def read_cifar10(root: Path | None, download: bool) -> DatasetSource:
    """CIFAR-10, 50k train / 10k test, from ``root/cifar-10-batches-py``."""
    return _read_cifar(CIFAR10, root, download)


@DATASETS.register("cifar100")
def read_cifar100(root: Path | None, download: bool) -> DatasetSource:
    """CIFAR-100 (fine labels), 50k train / 10k test, from ``root/cifar-100-python``."""
    return _read_cifar(CIFAR100, root, download)


# --- ImageNet: an ImageFolder tree -------------------------------------------------------------


@DATASETS.register("imagenet")
def read_imagenet(root: Path | None, download: bool) -> DatasetSource:
    """ImageNet (ILSVRC 2012) as ``root/train/<wnid>/*.JPEG`` and ``root/val/<wnid>/*.JPEG``.

    The official validation set is the test split; validation is held out of train. The 1.3M
    files are not hashed, so ``source_sha256`` is empty. There is no download: the licence
    requires each user to fetch ImageNet from image-net.org.
    """
    how_to_get = (
        "set data.root to an ImageFolder tree with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG "
        "(ImageNet must be obtained from https://image-net.org; it cannot be downloaded here)"
    )
    directories = [] if root is None else [root]
    if root is None or not (root / "train").is_dir() or not (root / "val").is_dir():
        raise _not_found("imagenet", "train/ and val/", directories, how_to_get)
    class_names, train = scan_image_folder(root, "train")
    test_class_names, test = scan_image_folder(root, "val")
    if test_class_names != class_names:
        raise PrunebenchError(f"{root}/val has other class folders than {root}/train")
    info = DatasetInfo(
        name="imagenet",
        num_classes=len(class_names),
        input_shape=(3, CROP_SIZE, CROP_SIZE),
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        augmentation=RESIZED_CROP_FLIP,
        class_names=class_names,
    )
    return DatasetSource(info=info, train=train, test=test, source_sha256={})
