"""Stage finetune: train every pruned cell of a method with the masks held fixed.

Each cell gets the finetuned model (masks folded in: pruned weights are plain zeros), its
training summary, and dvclive's per-epoch curves.
"""

import argparse
from pathlib import Path

from prunebench.benchmarks import BENCHMARKS
from prunebench.data import open_materialized
from prunebench.files import load_state_dict, save_state_dict, write_json
from prunebench.grid import CellStore, file_digest, fingerprint, tree_digest
from prunebench.masks import fold_masks, load_masks
from prunebench.models import create_model
from prunebench.training import train

from common import code_digest, device_from_environment, epoch_curves, load_params, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--masks", required=True, type=Path, help="the prune stage's output")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--data", default="data/splits", type=Path)
    parser.add_argument("--pretrained", default="models/pretrained", type=Path)
    args = parser.parse_args()
    params = load_params()
    benchmark = BENCHMARKS[params.benchmark]
    recipe = benchmark.finetune.updated(params.finetune)
    device = device_from_environment()
    dataset = open_materialized(args.data)
    pretrained = load_state_dict(args.pretrained / "model.safetensors")
    pruned = CellStore(args.masks)
    cells = pruned.cells()
    store = CellStore(args.out)
    store.retain_only(cells)
    inputs = dict(
        recipe=recipe.as_dict(),
        pretrained=file_digest(args.pretrained / "model.safetensors"),
        data=tree_digest([args.data]),
        code=code_digest(),
    )
    for cell in cells:
        mask_file = pruned.path(cell) / "masks.safetensors"
        cell_fingerprint = fingerprint(cell=cell.name, masks=file_digest(mask_file), **inputs)
        if store.is_current(cell, cell_fingerprint):
            continue
        model = create_model(benchmark.model, dataset.info.num_classes)
        model.load_state_dict(pretrained)
        masks, metadata = load_masks(mask_file, model)
        with store.writing(cell, cell_fingerprint) as staging:
            with epoch_curves(staging / "live") as log_epoch:
                result = train(
                    model,
                    dataset,
                    recipe,
                    seed=cell.seed,
                    device=device,
                    masks=masks,
                    on_epoch=log_epoch,
                    description=f"finetune {metadata['strategy']} {cell.name}",
                )
            fold_masks(model, masks)
            save_state_dict(staging / "model.safetensors", model.state_dict())
            write_json(
                staging / "training.json",
                {
                    "strategy": metadata["strategy"],
                    "target_compression": cell.compression,
                    "seed": cell.seed,
                    "recipe": recipe.as_dict(),
                    "epochs_run": result.epochs_run,
                    "best_epoch": result.best_epoch,
                    "best_validation_top1": result.best_validation_top1,
                    "history": result.history,
                },
            )


if __name__ == "__main__":
    run(main)
