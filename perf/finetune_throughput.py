"""Finetuning throughput (images/s) of CIFAR ResNet-20 at batch 64: our loop beside a plain one.

SPEC budget: on a GPU, data for CIFAR-scale benchmarks lives on the device and the input pipeline
is never the bottleneck. Two loops take the same number of Adam steps (lr 3e-4, the CIFAR
finetuning recipe) on the same random-initialised ResNet-20 with global magnitude masks at
compression 8, over the same synthetic CIFAR-size train split (random uint8 images, 3x32x32,
10 classes; throughput does not depend on the pixel values):

- ``prunebench``: ``prunebench.training.loop.train`` as the finetune stage runs it: the split lives
  on the device, each batch is indexed, augmented (pad-4 crop and flip) and normalised there, the
  masks are held by the optimizer hooks, and nothing is read back per step. One call of one epoch
  capped at the timed number of steps; its time includes the call's own set-up and the
  validation pass that ends the epoch (on a 64-image validation split).
- ``plain``: a loop in ShrinkBench's style: ``DataLoader(TensorDataset(images, labels),
  batch_size=64, shuffle=True)`` over the already normalised float32 images on the host (no
  augmentation: ShrinkBench's loader workers do it, here it is not paid for), ``.to(device)`` per
  batch, ``torch.optim.Adam`` with PyTorch's defaults, ``loss.item()`` and the top-1 count read
  back every step, pruned weights re-zeroed after every step.

Each repeat builds fresh copies of the masked model and runs both loops, warm-up steps first
(untimed; for ``prunebench`` a separate call), then the timed steps; the GPU is synchronised
before the clock is read. The median repeat is the figure to report. Runs on the GPU when one is
available, else on the CPU (``--device`` overrides); the CPU runs with the pipeline's pinned
numerics (two threads), as the stages do.

    uv run python perf/finetune_throughput.py [--steps N] [--warmup N] [--repeats N]
        [--device cuda|cpu] [--batch-size 64]
"""

import argparse
import copy
import os
import statistics
import time
from collections.abc import Callable

from prunebench.foundations.numerics import pin_cpu_numerics

COMPRESSION = 8
VALIDATION_IMAGES = 64
DEFAULT_STEPS = {"cpu": 40, "cuda": 500}
DEFAULT_WARMUP = {"cpu": 5, "cuda": 50}


def synthetic_cifar(train_images: int, seed: int = 0):
    """A CIFAR-10-shaped :class:`Dataset` of random uint8 images: the real types and statistics."""
    import torch

    from prunebench.data.augment import PAD_CROP_FLIP
    from prunebench.data.catalog import CIFAR10
    from prunebench.data.dataset import Dataset, DatasetInfo
    from prunebench.data.tensors import TensorSplit

    generator = torch.Generator().manual_seed(seed)

    def split(size: int) -> TensorSplit:
        images = torch.randint(0, 256, (size, 3, 32, 32), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, CIFAR10.num_classes, (size,), generator=generator)
        return TensorSplit(images, labels)

    info = DatasetInfo(
        name="synthetic_cifar10",
        num_classes=CIFAR10.num_classes,
        input_shape=(3, 32, 32),
        mean=CIFAR10.mean,
        std=CIFAR10.std,
        augmentation=PAD_CROP_FLIP,
        class_names=tuple(f"class {label}" for label in range(CIFAR10.num_classes)),
    )
    return Dataset(
        info=info,
        train=split(train_images),
        validation=split(VALIDATION_IMAGES),
        test=split(VALIDATION_IMAGES),
        source_sha256={},
        split_seed=seed,
    )


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prunebench_loop(model, masks, dataset, device, steps: int, warmup: int, batch_size: int):
    """Seconds of one ``train`` call taking ``steps`` optimizer steps (after a warm-up call)."""
    from prunebench.benchmarks.registry import CIFAR_FINETUNE
    from prunebench.training.loop import train

    def run(count: int) -> float:
        recipe = CIFAR_FINETUNE.updated(
            {"batch_size": batch_size, "epochs": 1, "patience": 1, "steps_per_epoch": count}
        )
        synchronize(device)
        start = time.perf_counter()
        result = train(
            model, dataset, recipe, seed=0, device=device, masks=masks, description="prunebench"
        )
        synchronize(device)
        assert result.steps == count, (result.steps, count)
        return time.perf_counter() - start

    if warmup:
        run(warmup)
    return run(steps)


def plain_loop(model, masks, images, labels, device, steps: int, warmup: int, batch_size: int):
    """Seconds of ``steps`` steps of a ShrinkBench-style loop (after ``warmup`` steps)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    model.to(device)
    model.train()
    parameters = dict(model.named_parameters())
    pruned = [(parameters[name], mask.to(device)) for name, mask in masks.items()]
    with torch.no_grad():
        for weight, mask in pruned:
            weight.mul_(mask)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True)
    taken, start = 0, None
    loss_sum, correct = 0.0, 0
    while taken < warmup + steps:
        for x, y in loader:
            if taken == warmup:
                synchronize(device)
                start = time.perf_counter()
            if taken == warmup + steps:
                break
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            with torch.no_grad():
                for weight, mask in pruned:
                    weight.mul_(mask)
            loss_sum += loss.item() / batch_size
            correct += (logits.argmax(dim=1) == y).sum().item()
            taken += 1
    synchronize(device)
    return time.perf_counter() - start


def device_description(device) -> str:
    import torch

    from prunebench.foundations.environment import cpu_model

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)}); host CPU {cpu_model()}"
    return f"cpu ({cpu_model()}), {torch.get_num_threads()} threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=None, help="timed steps (cpu 40, cuda 500)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (cpu 5, cuda 50)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--train-images",
        type=int,
        default=None,
        help="synthetic train split size (default: 10000, or more if the steps need it)",
    )
    args = parser.parse_args()
    pin_cpu_numerics()  # before torch is imported: the CPU numerics the stages run with
    os.environ.setdefault("TQDM_DISABLE", "1")  # train's progress bars would garble the table

    import torch

    from prunebench.data.dataset import normalize
    from prunebench.foundations.environment import choose_device
    from prunebench.foundations.numerics import cpu_numerics
    from prunebench.models import create_model
    from prunebench.strategies import compute_masks

    device = choose_device(args.device)
    steps = args.steps if args.steps is not None else DEFAULT_STEPS[device.type]
    warmup = args.warmup if args.warmup is not None else DEFAULT_WARMUP[device.type]
    # One epoch must hold the warm-up or the timed steps, so that each train call is one epoch.
    train_images = args.train_images or max(10_000, max(steps, warmup) * args.batch_size)
    if train_images < max(steps, warmup) * args.batch_size:
        parser.error(f"--train-images must be at least {max(steps, warmup) * args.batch_size}")

    dataset = synthetic_cifar(train_images)
    # The plain loop's input: the same images, normalised once on the host.
    float_images = normalize(dataset.train.images, dataset.info)
    torch.manual_seed(0)
    pruned = create_model("resnet20", dataset.info.num_classes)
    masks = compute_masks(pruned, "global_mag", COMPRESSION, seed=0)

    print(f"torch {torch.__version__}, CPU numerics {cpu_numerics()}")
    print(f"device {device_description(device)}")
    print(
        f"ResNet-20, global_mag masks at {COMPRESSION}x, batch {args.batch_size}, "
        f"{train_images} synthetic train images, {warmup} warm-up + {steps} timed steps, "
        f"{args.repeats} repeats"
    )
    loops: dict[str, Callable[[], float]] = {
        "prunebench": lambda: prunebench_loop(
            copy.deepcopy(pruned), masks, dataset, device, steps, warmup, args.batch_size
        ),
        "plain": lambda: plain_loop(
            copy.deepcopy(pruned),
            masks,
            float_images,
            dataset.train.labels,
            device,
            steps,
            warmup,
            args.batch_size,
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for repeat in range(1, args.repeats + 1):
        for name, loop in loops.items():
            rate = steps * args.batch_size / loop()
            rates[name].append(rate)
            print(f"repeat {repeat}: {name:<10} {rate:8.0f} images/s")

    print()
    print(f"{'loop':<46} {'images/s':>9} {'min':>8} {'max':>8}")
    labels = {
        "prunebench": "prunebench train() (data on the device)",
        "plain": "plain PyTorch, ShrinkBench style (DataLoader)",
    }
    for name, values in rates.items():
        print(
            f"{labels[name]:<46} {statistics.median(values):9.0f} {min(values):8.0f} "
            f"{max(values):8.0f}"
        )
    ratio = statistics.median(rates["prunebench"]) / statistics.median(rates["plain"])
    print(f"ratio prunebench / plain (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
