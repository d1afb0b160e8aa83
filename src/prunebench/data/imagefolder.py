"""Splits read lazily from an ImageFolder tree (``root/<split>/<class>/<image>``): ImageNet.

ImageNet does not fit in memory, so a split is a list of file paths and labels; images are decoded
and cropped batch by batch in loader worker processes. The random crop and flip of each batch come
from a seed that the main process draws from the caller's generator, so the augmentation is the
same whatever the number of workers. ``torchvision`` is imported only where files are listed or
decoded, never when a materialised index is opened.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import torch
import torch.utils.data

from prunebench.data.augment import random_resized_crop_box
from prunebench.data.dataset import Batch, DatasetInfo, normalize
from prunebench.foundations.errors import PrunebenchError

CROP_SIZE = 224
EVAL_RESIZE = 256  # shorter side before the centre crop, the standard ImageNet evaluation


def default_loader_workers() -> int:
    """Decoding processes per split: one per core, at most eight."""
    return min(8, os.cpu_count() or 1)


@dataclass(frozen=True, eq=False)
class ImageFileSplit:
    """Image files (POSIX paths relative to ``root``) and their int64 labels ``[N]``."""

    root: Path
    files: tuple[str, ...]
    labels: torch.Tensor
    loader_workers: int = field(default_factory=default_loader_workers)

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: torch.Tensor) -> Self:
        files = tuple(self.files[index] for index in indices.tolist())
        return type(self)(self.root, files, self.labels[indices], self.loader_workers)

    def batches(
        self,
        info: DatasetInfo,
        batch_size: int,
        *,
        shuffle: bool,
        generator: torch.Generator | None,
        device: torch.device,
        augment: bool,
    ) -> Iterator[Batch]:
        order = (
            torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        )
        batch_indices = list(torch.split(order, batch_size))
        seeds = (
            torch.randint(2**62, (len(batch_indices),), generator=generator).tolist()
            if augment
            else [0] * len(batch_indices)
        )
        decoder = _BatchDecoder(self, batch_indices, seeds, augment)
        loader = torch.utils.data.DataLoader(
            decoder,
            batch_size=None,
            num_workers=self.loader_workers,
            pin_memory=device.type == "cuda",
        )
        for images, labels in loader:
            yield normalize(images.to(device, non_blocking=True), info), labels.to(device)


class _BatchDecoder(torch.utils.data.Dataset):
    """Item ``i`` is batch ``i``: its images decoded, cropped (and augmented) to uint8."""

    def __init__(
        self,
        split: ImageFileSplit,
        batch_indices: list[torch.Tensor],
        seeds: list[int],
        augment: bool,
    ) -> None:
        self.split = split
        self.batch_indices = batch_indices
        self.seeds = seeds
        self.augment = augment

    def __len__(self) -> int:
        return len(self.batch_indices)

    def __getitem__(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image
        from torchvision.transforms.v2 import functional as F

        generator = torch.Generator().manual_seed(self.seeds[batch])
        images = []
        for index in self.batch_indices[batch].tolist():
            path = self.split.root / self.split.files[index]
            try:
                with Image.open(path) as file:
                    image = F.pil_to_tensor(file.convert("RGB"))
            except OSError as error:
                raise PrunebenchError(f"cannot decode image {path}: {error}") from None
            if self.augment:
                top, left, height, width = random_resized_crop_box(*image.shape[-2:], generator)
                image = F.resized_crop(
                    image, top, left, height, width, [CROP_SIZE, CROP_SIZE], antialias=True
                )
                if torch.rand(1, generator=generator).item() < 0.5:
                    image = image.flip(-1)
            else:
                image = F.center_crop(F.resize(image, [EVAL_RESIZE], antialias=True), [CROP_SIZE])
            images.append(image)
        return torch.stack(images), self.split.labels[self.batch_indices[batch]]


def scan_image_folder(root: Path, split_directory: str) -> tuple[tuple[str, ...], ImageFileSplit]:
    """List ``root/split_directory/<class>/<image>`` with torchvision's ImageFolder rules.

    Returns the class names (sorted folder names, which index the labels) and the split.
    """
    from torchvision.datasets import ImageFolder

    directory = root / split_directory
    try:
        folder = ImageFolder(str(directory))
    except (FileNotFoundError, NotADirectoryError) as error:
        raise PrunebenchError(f"no ImageFolder tree at {directory}: {error}") from None
    files = tuple(Path(path).relative_to(root).as_posix() for path, _ in folder.samples)
    labels = torch.tensor([label for _, label in folder.samples], dtype=torch.int64)
    return tuple(folder.classes), ImageFileSplit(root, files, labels)
