"""Finetuning throughput of LeNet-5-Caffe on the full Fashion-MNIST, batch 64, masks applied.

SPEC budget: at least twice as fast as ShrinkBench's loop on the same machine; ShrinkBench takes
about 44 s for its prune-time evaluation, one training epoch and one validation epoch. We time the
same three steps: evaluate the pruned model on the validation split, then one finetuning epoch
(which ends with its own validation pass). Each repeat starts from the same pruned model; the
median repeat is the figure to report, since a shared machine's timings vary by 20% or more.

    uv run python perf/train_throughput.py [--root /usr/share/datasets/fashion-mnist]
"""

import argparse
import copy
import statistics
import time

import torch

from prunebench.data import load_dataset
from prunebench.measurement.accuracy import evaluate
from prunebench.models import create_model
from prunebench.strategies import compute_masks
from prunebench.training.loop import Recipe, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=None, help="Fashion-MNIST IDX directory")
    parser.add_argument("--compression", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device("cpu")
    dataset = load_dataset(
        "fashion_mnist", root=args.root, validation_size=5000, split_seed=0, download=False
    )
    torch.manual_seed(0)
    pruned = create_model("lenet5", dataset.info.num_classes)
    masks = compute_masks(pruned, "global_mag", args.compression, seed=0)
    recipe = Recipe(optimizer="adam", learning_rate=3e-4, batch_size=64, epochs=1, patience=1)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    print(f"train images {len(dataset.train)}, validation images {len(dataset.validation)}")
    totals = []
    for repeat in range(1, args.repeats + 1):
        model = copy.deepcopy(pruned)
        start = time.perf_counter()
        evaluate(model, dataset.batches("validation", batch_size=1000, device=device), device)
        prune_time_evaluation = time.perf_counter() - start
        start = time.perf_counter()
        train(model, dataset, recipe, seed=0, device=device, masks=masks, description="epoch")
        epoch_with_validation = time.perf_counter() - start
        total = prune_time_evaluation + epoch_with_validation
        totals.append(total)
        print(
            f"repeat {repeat}: prune-time evaluation {prune_time_evaluation:5.2f} s, "
            f"train epoch + validation {epoch_with_validation:6.2f} s, total {total:6.2f} s, "
            f"{len(dataset.train) / epoch_with_validation:5.0f} train images/s"
        )
    print(
        f"median total {statistics.median(totals):6.2f} s "
        f"(min {min(totals):.2f}, max {max(totals):.2f}); ShrinkBench ~44 s, budget <= 22 s"
    )


if __name__ == "__main__":
    main()
