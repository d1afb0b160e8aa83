"""Data augmentation on whole batches of tensors, drawn from a caller's ``torch.Generator``.

Per-image PIL transforms cost more than a LeNet-5 step on the CPU and starve a GPU, so the
in-memory datasets augment a uint8 batch with one gather on the device it lives on. Every random
number comes from the generator the caller passes (on the CPU, then moved), so one seed fixes the
augmentation exactly, independent of the device and of any other random draws in the run.
"""

import math

import torch
import torch.nn.functional as F

# Names stored in DatasetInfo.augmentation.
NO_AUGMENTATION = "none"
PAD_CROP_FLIP = "pad4_crop32_flip"  # CIFAR: torchvision RandomCrop(32, padding=4) + flip
RESIZED_CROP_FLIP = "random_resized_crop224_flip"  # ImageNet: RandomResizedCrop(224) + flip


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor`` (drawn on the CPU, from the seeded generator) on ``device``.

    A copy from pageable host memory to a GPU waits for the work queued before it, once per
    training step; from pinned memory it is queued like a kernel.
    """
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def pad_crop_flip(
    images: torch.Tensor, generator: torch.Generator, padding: int = 4
) -> torch.Tensor:
    """Zero-pad each image by ``padding``, crop back to its size at a random offset, flip half.

    Same distribution as torchvision's ``RandomCrop(size, padding)`` followed by
    ``RandomHorizontalFlip()``: offsets uniform in ``[0, 2 * padding]``, flip probability 1/2,
    padding with black pixels. Works on any dtype; applied before normalisation, as torchvision's.
    """
    batch_size, channels, height, width = images.shape
    device = images.device
    offsets = _to_device(
        torch.randint(0, 2 * padding + 1, (2, batch_size), generator=generator), device
    )
    flipped = _to_device(torch.rand(batch_size, generator=generator) < 0.5, device)
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = offsets[0, :, None] + torch.arange(height, device=device)
    columns = offsets[1, :, None] + torch.arange(width, device=device)
    # Mirroring a crop is reading its columns in reverse order.
    columns = torch.where(flipped[:, None], columns.flip(1), columns)
    return padded[
        torch.arange(batch_size, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]


def random_resized_crop_box(
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """``(top, left, crop_height, crop_width)`` of torchvision's ``RandomResizedCrop``.

    The same sampling rule as ``RandomResizedCrop.get_params`` (ten tries at a random area and
    log-uniform aspect ratio, then a centre crop), but drawn from ``generator`` instead of torch's
    global generator, so the crop is fixed by the caller's seed even inside loader workers.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        draws = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
        target_area = area * (scale[0] + (scale[1] - scale[0]) * draws[0])
        aspect_ratio = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * draws[1])
        crop_width = round(math.sqrt(target_area * aspect_ratio))
        crop_height = round(math.sqrt(target_area / aspect_ratio))
        if 0 < crop_width <= width and 0 < crop_height <= height:
            top = int(torch.randint(0, height - crop_height + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
            return top, left, crop_height, crop_width
    in_ratio = width / height
    if in_ratio < ratio[0]:
        crop_width, crop_height = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        crop_width, crop_height = round(height * ratio[1]), height
    else:
        crop_width, crop_height = width, height
    return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width
