"""A realistic run of cells for the reporting tests: four methods and lamp's two matched
controls, five compressions, seeds that scatter around each curve.

The curves mimic LeNet-5 on Fashion-MNIST: the global allocation (``global_mag``) keeps more
accuracy per parameter but saves fewer multiply-adds than the layerwise one (``layer_mag``), the
paper's metric disagreement. ``make_cells`` gives the evaluate stage's records in memory,
``write_run`` a whole run on disk as the aggregate step reads it.
"""

import json

from method_properties import PROPERTIES, parts

from prunebench.pipeline.configs import AggregateConfig
from prunebench.reporting import Pretrained, ReportSetup

COMPRESSIONS = [2, 4, 8, 16, 32]
PARAMS_TOTAL = 431_080
MACS_DENSE = 2_293_000
# Mean top-1 (%) and theoretical speedup per target compression.
CURVES = {
    "lamp": ([89.7, 89.5, 89.0, 88.0, 86.0], [1.3, 1.6, 2.2, 3.2, 5.0]),
    "global_mag": ([89.6, 89.4, 88.9, 87.8, 85.2], [1.15, 1.35, 1.7, 2.3, 3.1]),
    "layer_mag": ([89.5, 89.1, 88.2, 86.3, 81.0], [1.95, 3.8, 7.2, 13.5, 24.0]),
    "random": ([88.0, 85.0, 78.0, 65.0, 40.0], [1.95, 3.85, 7.4, 14.0, 26.0]),
}
BASELINES = ["global_mag", "layer_mag", "random"]
CONTROL = {"strategy": "control", "target_compression": 1, "top1": 0.9012, "top5": 0.9981}
SETUP = ReportSetup(
    benchmark="fashion_mnist_sample_lenet5",
    dataset="fashion_mnist_sample",
    model="lenet5",
    pretrained=Pretrained(source="trained in the pipeline", top1=0.9012),
    finetune={"optimizer": "adam", "learning_rate": 3e-4, "batch_size": 64, "epochs": 4},
    augmentation="none",
    seeds=[0, 1],
    compressions=COMPRESSIONS,
    equal_budget=False,
    environment={"prunebench": "0.1.0", "torch": "2.5.1", "device": "cpu"},
)
# The aggregate config's finetuning recipe: the default benchmark's (resolved/finetune.json).
FINETUNE = {
    "optimizer": "adam", "learning_rate": 3e-4, "momentum": 0.9, "nesterov": False,
    "weight_decay": 0.0, "batch_size": 64, "epochs": 1, "steps_per_epoch": 80,
    "schedule": "fixed", "patience": 1,
}  # fmt: skip
# The control's provenance, every field the evaluate stage records.
PROVENANCE = {
    "prunebench": "0.1.0", "torch": "2.5.1", "python": "3.12.3", "device": "cpu",
    "cpu": "Test CPU", "threads": "2", "cpu_capability": "AVX2",
    "cpu_numerics": {"mode": "pinned"}, "params": {},
}  # fmt: skip
# The matched controls of lamp: its layer sizes, random or magnitude weights within each layer.
MATCHED_CURVES = {
    "matched_random": ([89.0, 87.5, 84.0, 78.0, 65.0], CURVES["lamp"][1]),
    "matched_mag": ([89.7, 89.5, 88.9, 87.9, 85.9], CURVES["lamp"][1]),
}


def make_cell(
    strategy: str, target: float, seed: int, top1: float, speedup: float, steps: int = 160
) -> dict:
    """One evaluate-stage result file, as in docs/design.md (two epochs of 80 steps by default)."""
    nonzero = round(PARAMS_TOTAL / target)
    return {
        "strategy": strategy,
        "target_compression": target,
        "seed": seed,
        "top1": top1,
        "top5": min(0.999, top1 + 0.09),
        "loss": 0.3 + (0.9 - top1),
        "params_total": PARAMS_TOTAL,
        "params_nonzero": nonzero,
        "compression": PARAMS_TOTAL / nonzero,
        "effective_compression": PARAMS_TOTAL / nonzero * 1.02,
        "macs_dense": MACS_DENSE,
        "macs_nonzero": round(MACS_DENSE / speedup),
        "speedup": speedup,
        "activations_total": 12_345,
        "activations_nonzero": 9_876,
        "finetune": {
            "epochs_run": 2,
            "best_epoch": 2,
            "best_validation_top1": top1 + 0.01,
            "history": [
                {
                    "epoch": epoch,
                    "train_loss": 0.5 / epoch,
                    "train_top1": top1,
                    "validation_loss": 0.6 / epoch,
                    "validation_top1": top1 + 0.01 * (epoch - 1),
                    "validation_top5": 0.99,
                }
                for epoch in (1, 2)
            ],
        },  # fmt: skip
        "budget": {"epochs": 2, "steps": steps, "rounds": 1},
        "schedule": "one_shot",
        "num_classes": 10,
        "inputs": {"recipe": FINETUNE, "pretrained_sha256": "p" * 64, "data_sha256": "d" * 64},
        "provenance": PROVENANCE,
    }


def make_cells(seeds=(0, 1), compressions=COMPRESSIONS) -> list[dict]:
    """Seeds scatter deterministically around each curve (a few tenths of a point)."""
    cells = []
    for strategy, (top1s, speedups) in CURVES.items():
        for target, top1, speedup in zip(COMPRESSIONS, top1s, speedups, strict=True):
            if target not in compressions:
                continue
            for seed in seeds:
                # Each method scatters by its own amount, so paired differences vary by seed.
                spread = 1 + list(CURVES).index(strategy) / 3
                noise = 0.15 * (seed - 0.5) * (1 + COMPRESSIONS.index(target) / 4) * spread
                cells.append(make_cell(strategy, target, seed, (top1 + noise) / 100, speedup))
    return cells[::-1]  # unsorted on purpose


def write_cells(root, cells: list[dict], file: str = "metrics.json") -> None:
    """Each cell's record (``file``) as an intact cell directory, as a stage leaves it."""
    from prunebench.pipeline.cells import Cell, CellStore

    store = CellStore(root)
    for cell in cells:
        with store.writing(Cell(float(cell["target_compression"]), cell["seed"]), "test") as out:
            (out / file).write_text(json.dumps(cell))


EXTERNAL = "mylab.lamp:strategy"  # an external method under evaluation, iterative


def write_run(tmp_path, seeds=(0, 1, 2), compressions=(2, 8, 32)) -> tuple[AggregateConfig, dict]:
    """A run's evaluated cells and control on disk, as the evaluate stage leaves them.

    ``EXTERNAL`` (lamp's curve, iterative: three times the baselines' budget), the baselines
    and lamp's matched controls. Returns the aggregate config and the step's keyword arguments.
    """
    name, compressions = EXTERNAL, list(compressions)
    records = []
    iterative = {"epochs": 6, "steps": 480, "rounds": 3}
    for cell in make_cells(seeds, compressions):
        budget = iterative if cell["strategy"] == "lamp" else cell["budget"]
        schedule = "iterative" if cell["strategy"] == "lamp" else cell["schedule"]
        records.append(cell | {"budget": budget, "schedule": schedule})
    for matched, (top1s, speedups) in MATCHED_CURVES.items():
        for target in compressions:
            index = COMPRESSIONS.index(target)
            for seed in seeds:
                cell = make_cell(
                    matched, target, seed, top1s[index] / 100 - 0.001 * seed, speedups[index]
                )
                records.append(cell)
    results = tmp_path / "results"
    by_method = {}
    for record in records:
        by_method.setdefault(record["strategy"], []).append(record)
    write_cells(results / "cells/strategy", [r | {"strategy": name} for r in by_method["lamp"]])
    for method in BASELINES:
        write_cells(results / "cells/baselines" / method, by_method[method])
    for method in MATCHED_CURVES:
        write_cells(results / "cells/matched" / method, by_method[method])
    control = make_cell("control", 1, 0, CONTROL["top1"], 1.0)
    del control["finetune"], control["budget"], control["schedule"]
    control |= {
        "top5": CONTROL["top5"],
        "num_classes": 10,
        "pretrained": {"kind": "published", "name": "lenet5.pt", "sha256": "p" * 64},
        "inputs": {"pretrained_sha256": "p" * 64, "data_sha256": "d" * 64},
        "provenance": PROVENANCE,
    }
    (results / "control.json").write_text(json.dumps(control))
    source = tmp_path / "source.json"
    source.write_text(json.dumps({"kind": "published", "name": "lenet5.pt", "sha256": "a" * 64}))
    data = tmp_path / "dataset.json"
    data.write_text(json.dumps({"info": {"augmentation": "none"}}))
    config = AggregateConfig.from_json(
        {
            "benchmark": SETUP.benchmark,
            "dataset": SETUP.dataset,
            "model": SETUP.model,
            "strategy": name,
            "baselines": BASELINES,
            "matched_controls": list(MATCHED_CURVES),
            "compressions": compressions,
            "seeds": list(seeds),
            "finetune": FINETUNE,
            "equal_budget": False,
            "methods": PROPERTIES | {name: parts("lamp", schedule="iterative", rounds=3)},
            "evaluation_batch_size": 128,
        }
    )
    return config, {"results": results, "source": source, "data": data}
