"""Stage evaluate: one metrics JSON per finetuned cell of a method, on the test split."""

import argparse
from pathlib import Path

from prunebench.benchmarks import BENCHMARKS
from prunebench.data import open_materialized
from prunebench.files import load_state_dict, read_json, write_json
from prunebench.grid import CellStore, fingerprint, tree_digest
from prunebench.masks import load_masks
from prunebench.models import create_model
from prunebench.results import measure

from common import code_digest, device_from_environment, load_params, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--masks", required=True, type=Path, help="the prune stage's output")
    parser.add_argument("--finetuned", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--data", default="data/splits", type=Path)
    args = parser.parse_args()
    params = load_params()
    benchmark = BENCHMARKS[params.benchmark]
    device = device_from_environment()
    dataset = open_materialized(args.data)
    finetuned = CellStore(args.finetuned)
    cells = finetuned.cells()
    store = CellStore(args.out)
    store.retain_only(cells)
    inputs = dict(evaluate=vars(params.evaluate), data=tree_digest([args.data]), code=code_digest())
    for cell in cells:
        cell_dir = finetuned.path(cell)
        cell_fingerprint = fingerprint(cell=cell.name, finetuned=tree_digest([cell_dir]), **inputs)
        if store.is_current(cell, cell_fingerprint):
            continue
        model = create_model(benchmark.model, dataset.info.num_classes)
        model.load_state_dict(load_state_dict(cell_dir / "model.safetensors"))
        masks, mask_metadata = load_masks(args.masks / cell.name / "masks.safetensors", model)
        training = read_json(cell_dir / "training.json")
        # Each stage's params come from its own output, so that none is read here undeclared.
        produced_from = {
            "benchmark": mask_metadata["benchmark"],
            "prune": mask_metadata["prune"],
            "finetune": training["recipe"],
            "evaluate": vars(params.evaluate),
        }
        metrics = measure(
            model,
            masks,
            dataset,
            device=device,
            batch_size=params.evaluate.batch_size,
            params=produced_from,
        )
        metrics.update(
            strategy=training["strategy"],
            target_compression=cell.compression,
            seed=cell.seed,
            finetune={
                key: training[key]
                for key in ("epochs_run", "best_epoch", "best_validation_top1", "history")
            },
        )
        with store.writing(cell, cell_fingerprint) as staging:
            write_json(staging / "metrics.json", metrics)


if __name__ == "__main__":
    run(main)
