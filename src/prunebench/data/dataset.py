"""The dataset object every stage works with: its info, three splits, and batch iteration.

A split is either held in memory as uint8 tensors (MNIST, Fashion-MNIST, CIFAR) or is a list of
image files read lazily (ImageNet). Both iterate the same way, so training and evaluation code
never needs to know which kind it has.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, Self

import torch

from prunebench.data.splits import SPLIT_NAMES
from prunebench.foundations.errors import PrunebenchError

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a report need to know about a dataset.

    ``mean`` and ``std`` are per channel on the [0, 1] pixel scale: the published statistics of
    the full training set, so pretrained weights see the inputs they were trained on.
    ``augmentation`` names the training augmentation (see :mod:`prunebench.data.augment`).
    """

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augmentation: str
    class_names: tuple[str, ...]


class Split(Protocol):
    """One split of a dataset: labelled images that can be subset and iterated in batches."""

    labels: torch.Tensor

    def __len__(self) -> int: ...

    def subset(self, indices: torch.Tensor) -> Self: ...

    def batches(
        self,
        info: DatasetInfo,
        batch_size: int,
        *,
        shuffle: bool,
        generator: torch.Generator | None,
        device: torch.device,
        augment: bool,
    ) -> Iterator[Batch]: ...


def normalize(images: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """uint8 images ``[B, C, H, W]`` -> float32 ``(pixel / 255 - mean) / std`` on their device."""
    # (pixel - 255 mean) / (255 std): two in-place passes over the converted batch.
    offset, scale = _normalization(tuple(info.mean), tuple(info.std), images.device)
    return images.float().sub_(offset).mul_(scale)


@functools.cache
def _normalization(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``normalize``'s per-channel offset and scale ``[1, C, 1, 1]``, float32 on ``device``.

    Made once per device: copying them to a GPU for every batch would be two host-to-device
    copies, each of which waits for the device, per training step.
    """
    with torch.inference_mode(False):  # usable outside inference mode, whoever asks first
        mean64 = torch.tensor(mean, dtype=torch.float64)
        std64 = torch.tensor(std, dtype=torch.float64)
        offset = (255 * mean64).float().to(device).view(1, -1, 1, 1)
        scale = (1 / (255 * std64)).float().to(device).view(1, -1, 1, 1)
    return offset, scale


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset split into train, validation (held out of train) and test.

    ``source_sha256`` maps each file the data was read from to its sha256, for provenance;
    ``split_seed`` is the seed that chose the validation images.
    """

    info: DatasetInfo
    train: Split
    validation: Split
    test: Split
    source_sha256: dict[str, str]
    split_seed: int

    def split(self, name: str) -> Split:
        """The split called ``name`` (``train``, ``validation`` or ``test``)."""
        if name not in SPLIT_NAMES:
            raise PrunebenchError(
                f"unknown split {name!r}; valid choices: {', '.join(SPLIT_NAMES)}"
            )
        return getattr(self, name)

    def split_sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)) for name in SPLIT_NAMES}

    def batches(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        augment: bool = False,
    ) -> Iterator[Batch]:
        """Yield ``(images, labels)``: float32 normalised ``[B, C, H, W]`` and int64 ``[B]``.

        Both are on ``device``. Without ``shuffle`` the split comes in its stored order. Shuffling
        and augmentation draw only from ``generator`` (a CPU generator, required for either), so
        one seed fixes the order and the augmented pixels. The last batch may be smaller.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if (shuffle or augment) and generator is None:
            raise ValueError("shuffle and augment draw from a generator; pass generator=")
        return self.split(split).batches(
            self.info,
            batch_size,
            shuffle=shuffle,
            generator=generator,
            device=torch.device(device),
            augment=augment,
        )
