"""Mask computation time on torchvision ResNet-50 (25.6M parameters), CPU; SPEC budget 0.3 s.

Times ``compute_masks`` for global_mag, layer_mag and global_grad (one minibatch of 8 images at
224x224) beside ``torch.nn.utils.prune.global_unstructured`` (L1, same prunable weights, same
number pruned), and checks that our global_mag masks agree with torch's on >= 99.99% of the
weights (they differ at most on ties). Random initialisation, seed 0, compression 10. Prints the
first call's time (cold caches and allocator) and the median and minimum of a few repeats.

    .venv/bin/python perf/mask_time.py [--repeats 5]
"""

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from prunebench.models import create_model
from prunebench.sparsity.masks import prunable_parameters
from prunebench.strategies import compute_masks

BUDGET_SECONDS = 0.3
COMPRESSION = 10
AGREEMENT_REQUIRED = 0.9999


def timed(
    run: Callable[[Any], Any], repeats: int, prepare: Callable[[], Any] = lambda: None
) -> tuple[list[float], Any]:
    """Seconds of each of ``repeats`` calls ``run(prepare())`` (``run`` alone), last result."""
    seconds, result = [], None
    for _ in range(repeats):
        prepared = prepare()
        start = time.perf_counter()
        result = run(prepared)
        seconds.append(time.perf_counter() - start)
    return seconds, result


def torch_global_unstructured(model: torch.nn.Module, pruned_count: int) -> dict:
    """torch's global L1 pruning of ``model``'s prunable weights; returns its masks by name."""
    from torch.nn.utils import prune

    names = list(prunable_parameters(model))
    modules = [model.get_submodule(name.rpartition(".")[0]) for name in names]
    prune.global_unstructured(
        [(module, "weight") for module in modules],
        pruning_method=prune.L1Unstructured,
        amount=pruned_count,
    )
    return {name: module.weight_mask.bool() for name, module in zip(names, modules, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = create_model("resnet50", 1000)
    generator = torch.Generator().manual_seed(0)
    batch = (torch.randn(8, 3, 224, 224, generator=generator), torch.randint(0, 1000, (8,)))
    total = sum(parameter.numel() for parameter in model.parameters())
    print(f"torchvision resnet50: {total:,} parameters, compression {COMPRESSION}")
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads\n")

    rows = []
    ours = None
    for strategy in ("global_mag", "layer_mag", "global_grad"):
        seconds, masks = timed(
            lambda _, strategy=strategy: compute_masks(
                model, strategy, COMPRESSION, seed=0, batches=[batch]
            ),
            args.repeats if strategy != "global_grad" else max(1, args.repeats // 2),
        )
        rows.append((f"prunebench {strategy}", seconds))
        ours = masks if strategy == "global_mag" else ours

    pruned_count = sum(int((~mask).sum()) for mask in ours.values())
    seconds, theirs = timed(
        lambda fresh: torch_global_unstructured(fresh, pruned_count),
        max(1, args.repeats // 2),
        prepare=lambda: copy.deepcopy(model),
    )
    rows.append(("torch global_unstructured (L1)", seconds))

    print(f"{'method':34} {'first s':>9} {'median s':>9} {'min s':>9}")
    for name, seconds in rows:
        median = statistics.median(seconds)
        print(f"{name:34} {seconds[0]:9.3f} {median:9.3f} {min(seconds):9.3f}")
    agreeing = sum(int((theirs[name] == mask).sum()) for name, mask in ours.items())
    weights = sum(mask.numel() for mask in ours.values())
    agreement = agreeing / weights
    print(f"\nglobal_mag vs torch: {agreement:.6%} of {weights:,} prunable weights agree")
    print(f"global_mag median {statistics.median(rows[0][1]):.3f} s; budget {BUDGET_SECONDS} s")
    if agreement < AGREEMENT_REQUIRED:
        raise SystemExit(f"agreement {agreement:.6%} is below {AGREEMENT_REQUIRED:.2%}")


if __name__ == "__main__":
    main()
