"""Splits held in memory as uint8 tensors: MNIST, Fashion-MNIST, CIFAR.

The whole split is copied to the training device once and cached there, so a GPU never waits
for host-to-device copies; each batch is an index into that copy, augmented and normalised on the
device. On the CPU the same path costs microseconds per batch.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Self

import torch

from prunebench.data.augment import NO_AUGMENTATION, PAD_CROP_FLIP, pad_crop_flip
from prunebench.data.dataset import Batch, DatasetInfo, normalize


@dataclass(frozen=True, eq=False)
class TensorSplit:
    """uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``, both on the CPU."""

    images: torch.Tensor
    labels: torch.Tensor
    _on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype}")
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError("labels must be int64 [N] with one label per image")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> Self:
        return type(self)(self.images[indices], self.labels[indices])

    def on_device(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels on ``device``, copied there on first use and cached."""
        if device.type == "cpu":
            return self.images, self.labels
        if device.index is None:  # "cuda" and "cuda:0" are one cache entry
            device = torch.empty(0, device=device).device
        if device not in self._on_device:
            self._on_device[device] = (self.images.to(device), self.labels.to(device))
        return self._on_device[device]

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
        images, labels = self.on_device(device)
        order = torch.randperm(len(self), generator=generator).to(device) if shuffle else None
        for start in range(0, len(self), batch_size):
            if order is None:
                batch_images = images[start : start + batch_size]
                batch_labels = labels[start : start + batch_size]
            else:
                batch_indices = order[start : start + batch_size]
                batch_images, batch_labels = images[batch_indices], labels[batch_indices]
            if augment and info.augmentation == PAD_CROP_FLIP:
                batch_images = pad_crop_flip(batch_images, generator)
            elif augment and info.augmentation != NO_AUGMENTATION:
                raise ValueError(f"in-memory splits cannot apply {info.augmentation!r}")
            yield normalize(batch_images, info), batch_labels
