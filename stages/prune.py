"""Stage prune: one mask file and per-layer sparsity table per (compression, seed) of a method."""

import argparse
from itertools import islice
from pathlib import Path

from prunebench.benchmarks import BENCHMARKS
from prunebench.data import open_materialized
from prunebench.files import load_state_dict, write_csv_rows
from prunebench.grid import CellStore, file_digest, fingerprint, grid, tree_digest
from prunebench.masks import apply_masks, save_masks
from prunebench.metrics import layer_table, mask_compression
from prunebench.models import create_model
from prunebench.seeding import seed_everything
from prunebench.strategies import STRATEGIES, compute_masks

from common import code_digest, device_from_environment, load_params, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True, help="strategy registry name")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--data", default="data/splits", type=Path)
    parser.add_argument("--pretrained", default="models/pretrained", type=Path)
    args = parser.parse_args()
    params = load_params()
    STRATEGIES[args.method]
    benchmark = BENCHMARKS[params.benchmark]
    device = device_from_environment()
    dataset = open_materialized(args.data)
    pretrained = load_state_dict(args.pretrained / "model.safetensors")
    cells = grid(params.compressions, params.seeds)
    store = CellStore(args.out)
    store.retain_only(cells)
    inputs = dict(
        method=args.method,
        benchmark=params.benchmark,
        prune=vars(params.prune),
        pretrained=file_digest(args.pretrained / "model.safetensors"),
        data=tree_digest([args.data]),
        code=code_digest(),
    )
    for cell in cells:
        cell_fingerprint = fingerprint(cell=cell.name, **inputs)
        if store.is_current(cell, cell_fingerprint):
            continue
        model = create_model(benchmark.model, dataset.info.num_classes)
        model.load_state_dict(pretrained)
        model.to(device)
        data_order = seed_everything(cell.seed)
        batches = dataset.batches(
            "train",
            batch_size=params.prune.score_batch_size,
            shuffle=True,
            generator=data_order,
            device=device,
        )
        masks = compute_masks(
            model,
            args.method,
            cell.compression,
            seed=cell.seed,
            batches=list(islice(batches, params.prune.score_batches)),
            include_classifier=params.prune.include_classifier,
        )
        apply_masks(model, masks)
        metadata = {
            "strategy": args.method,
            "target_compression": cell.compression,
            "achieved_compression": mask_compression(model, masks),
            "seed": cell.seed,
            # The params the masks came from, passed down to the cell's metrics file.
            "benchmark": params.benchmark,
            "prune": vars(params.prune),
        }
        with store.writing(cell, cell_fingerprint) as staging:
            save_masks(staging / "masks.safetensors", masks, metadata)
            write_csv_rows(staging / "layers.csv", layer_table(model, dataset.info.input_shape))


if __name__ == "__main__":
    run(main)
