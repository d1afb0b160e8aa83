"""Top-1 and time per cell of candidate finetuning recipes for the default benchmark.

Why the default benchmark finetunes 80 steps of batch 64: it must fit 120 cells in the ten-minute
budget. For a few methods at 8x and 32x (seed 0, the published sample model, the pipeline's own
masks functions), each recipe finetunes the same pruned model; the table gives test top-1 and
wall time of the finetuning alone.

    uv run python perf/finetune_recipe.py
"""

import argparse
import time

from prunebench.foundations.numerics import pin_cpu_numerics

pin_cpu_numerics()  # as every stage does, before torch is imported

import torch  # noqa: E402

from prunebench.benchmarks.pretrained import BUNDLED_DIR  # noqa: E402
from prunebench.data import load_dataset  # noqa: E402
from prunebench.foundations.files import load_state_dict  # noqa: E402
from prunebench.measurement.accuracy import evaluate  # noqa: E402
from prunebench.models import create_model  # noqa: E402
from prunebench.stages.finetune import finetune_cell  # noqa: E402
from prunebench.strategies import compute_masks  # noqa: E402
from prunebench.training.loop import Recipe  # noqa: E402

CPU = torch.device("cpu")
# (batch size, steps per epoch): a whole epoch at 128 and 64, and capped epochs.
RECIPES = [(128, None), (64, None), (128, 40), (64, 80), (64, 60)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--methods", nargs="+", default=["lamp", "random", "layer_mag"])
    parser.add_argument("--compressions", nargs="+", type=float, default=[8.0, 32.0])
    args = parser.parse_args()
    dataset = load_dataset("fashion_mnist_sample", validation_size=1000, split_seed=0)
    pretrained = load_state_dict(BUNDLED_DIR / "fashion_mnist_sample_lenet5.safetensors")
    model = create_model("lenet5", 10)
    model.load_state_dict(pretrained)
    print("| method | target | " + " | ".join(f"b{b} s{s}" for b, s in RECIPES) + " |")
    for method in args.methods:
        for compression in args.compressions:
            masks = compute_masks(model, method, compression, seed=0, batches=None)
            cells = []
            for batch_size, steps in RECIPES:
                recipe = Recipe(batch_size=batch_size, epochs=1, patience=1, steps_per_epoch=steps)
                start = time.perf_counter()
                tuned = finetune_cell(
                    "lenet5", pretrained, masks, {}, dataset, recipe, seed=0, device=CPU
                ).model
                seconds = time.perf_counter() - start
                top1 = evaluate(tuned, dataset.batches("test", batch_size=1000), CPU).top1
                cells.append(f"{100 * top1:.2f}% {seconds:.1f}s")
            print(f"| {method} | {compression:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
