"""Top-1 of the pipeline's pretrained model on the full Fashion-MNIST test set (10,000 images).

The default benchmark trains and tests on the embedded sample (3,000 test images); this checks
that its pretrained model's accuracy holds on every official test image. The sample's training
images come from the official training set, so none of the 10,000 test images was trained on.

    uv run python perf/pretrained_full_test.py [--model models/pretrained/model.safetensors]
"""

import argparse
from pathlib import Path

import torch

from prunebench.data import load_dataset
from prunebench.foundations.files import load_state_dict
from prunebench.measurement.accuracy import evaluate
from prunebench.models import create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/pretrained/model.safetensors"))
    parser.add_argument("--root", default=None, help="Fashion-MNIST IDX directory")
    args = parser.parse_args()
    device = torch.device("cpu")
    dataset = load_dataset(
        "fashion_mnist", root=args.root, validation_size=5000, split_seed=0, download=False
    )
    model = create_model("lenet5", dataset.info.num_classes)
    model.load_state_dict(load_state_dict(args.model))
    result = evaluate(model, dataset.batches("test", batch_size=1000, device=device), device)
    print(f"{args.model}: {len(dataset.test)} test images")
    print(f"top-1 {100 * result.top1:.2f}%  top-5 {100 * result.top5:.2f}%  "
          f"loss {result.loss:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
