"""Publish our own pretrained weights for a benchmark whose model we train.

Runs the pipeline's own pretraining (``prunebench.stages.fetch_pretrained.pretrained_model``, the
benchmark's recipe and ``pretrained.seed`` from the shipped params.yaml, on the splits that
``fetch_data`` makes) and writes, under ``src/prunebench/benchmarks/weights/``:

- ``<benchmark>.safetensors``: the state dict of initial model 0 (``<benchmark>-i<k>.safetensors``
  for initial model k);
- ``<benchmark>.json`` (``<benchmark>-i<k>.json``): its sha256, the recipe, seed, data digest, the
  result of training and the machine that produced it.

Initial model k is pretrained from its own seed, ``pretrained.seed + k`` (params.yaml's
``pretrained.seed`` is 0, so initial model k has seed k): the same recipe and data, another
initialisation and data order, as the paper's Figure 8 compares.

``fetch_pretrained`` then uses these weights, verified by sha256, on every machine, so the control
and every cell start from the same model everywhere. Usage::

    uv run python scripts/publish_pretrained.py --benchmark fashion_mnist_sample_lenet5
    uv run python scripts/publish_pretrained.py --benchmark fashion_mnist_lenet5 --initial-model 1
"""

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from prunebench.foundations.numerics import pin_cpu_numerics  # noqa: E402

pin_cpu_numerics()

import yaml  # noqa: E402

from prunebench.benchmarks.pretrained import (  # noqa: E402
    BUNDLED,
    BUNDLED_DIR,
    initial_model_stem,
)
from prunebench.data import open_materialized  # noqa: E402
from prunebench.foundations.environment import choose_device, environment  # noqa: E402
from prunebench.foundations.files import save_state_dict, sha256_file, write_json  # noqa: E402
from prunebench.pipeline.cells import tree_digest  # noqa: E402
from prunebench.pipeline.params import parse_params  # noqa: E402
from prunebench.pipeline.resolve import resolve  # noqa: E402
from prunebench.stages.fetch_data import fetch_data  # noqa: E402
from prunebench.stages.fetch_pretrained import pretrained_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", required=True, choices=BUNDLED)
    parser.add_argument("--root", default=None, help="dataset directory (default: standard places)")
    parser.add_argument("--out", default=BUNDLED_DIR, type=Path)
    parser.add_argument(
        "--initial-model",
        default=0,
        type=int,
        help="which initial model (k >= 0): pretrained from seed pretrained.seed + k",
    )
    args = parser.parse_args()
    if args.initial_model < 0:
        parser.error(f"--initial-model must be >= 0, got {args.initial_model}")
    started = time.monotonic()
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw.update(benchmark=args.benchmark)
    raw["data"] = {**(raw.get("data") or {}), "root": args.root}
    raw["pretrained"] = {**(raw.get("pretrained") or {}), "train": True}
    resolved = resolve(parse_params(raw))
    device = choose_device("cpu")
    with tempfile.TemporaryDirectory() as scratch:
        splits = Path(scratch) / "splits"
        fetch_data(resolved.fetch_data, splits)
        dataset = open_materialized(splits)
        # Initial model k: the same recipe from its own seed.
        config = resolved.fetch_pretrained
        config = replace(config, seed=config.seed + args.initial_model)
        model, source = pretrained_model(config, dataset, device=device, cache=Path(scratch))
        data_sha256 = tree_digest([splits])
    stem = initial_model_stem(args.benchmark, args.initial_model)
    weights = args.out / f"{stem}.safetensors"
    save_state_dict(weights, model.state_dict())
    record = {
        "benchmark": args.benchmark,
        "model": config.model,
        "num_classes": dataset.info.num_classes,
        "sha256": sha256_file(weights),
        "data_sha256": data_sha256,
        "validation_size": resolved.fetch_data.validation_size,
        "split_seed": resolved.fetch_data.split_seed,
        **source.to_json(),
        "machine": environment(device).to_json(),
        "made_by": "scripts/publish_pretrained.py",
    }
    if args.initial_model:  # initial model 0's record predates the key: it stays as published
        record["initial_model"] = args.initial_model
    write_json(args.out / f"{stem}.json", record)
    print(
        f"{weights}: sha256 {record['sha256']}, seed {config.seed}, best validation top-1 "
        f"{source.best_validation_top1:.4f} at epoch {source.best_epoch}, "
        f"{time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
