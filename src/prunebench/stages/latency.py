"""Stage latency: time every finetuned cell and the dense control on this machine.

Latency is a fact about a machine, not about a method, so it never enters the deterministic
results (masks, models, metrics): it has its own records under ``results/latency``, each with
the hardware it was measured on. The hardware is part of every record's fingerprint, so a run on
another machine re-times every cell and the control, and one table never mixes two machines; on
the same machine a record stays valid until what it timed changes. Cells are timed one after the
other in this process, never on Ray workers: timings taken side by side would slow each other.
"""

from pathlib import Path

import torch

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import load_state_dict, prepare_outputs, read_json, sha256_file
from prunebench.measurement.latency.measure import LatencySetup, measure_cell, measure_control
from prunebench.measurement.latency.records import (
    CellLatencyFile,
    ControlLatencyFile,
    Hardware,
    LatencySettings,
)
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, fingerprint, run_cells, tree_digest
from prunebench.pipeline.configs import LatencyConfig
from prunebench.pipeline.layout import (
    CONTROL_LATENCY,
    LATENCY_FILE,
    MASKS_FILE,
    MODEL_FILE,
    finetuned_folder,
)
from prunebench.sparsity.masks import load_masks


def latency_cells(
    config: LatencyConfig,
    *,
    models: Path,
    pretrained: Path,
    out: Path,
    device: torch.device,
    code: str,
) -> int:
    """Time the control and every method's finetuned cells under ``models``; return how many
    cells were timed (records still valid on this machine are kept)."""
    prepare_outputs(out)
    settings = LatencySettings(
        batch_sizes=config.batch_sizes, repeats=config.repeats, warmup=config.warmup
    )
    setup = LatencySetup(settings, tuple(config.input_shape), device)
    common = dict(
        hardware=Hardware.of(device).to_json(),
        settings=settings.to_json(),
        code=code,
        pretrained_sha256=sha256_file(pretrained),
    )
    dense = create_model(config.model, config.num_classes)
    dense.load_state_dict(load_state_dict(pretrained))
    dense.to(device).eval()

    control_fingerprint = fingerprint(cell="control", **common)
    if _recorded_fingerprint(out / CONTROL_LATENCY) != control_fingerprint:
        control = measure_control(dense, setup)
        ControlLatencyFile.of(control, fingerprint=control_fingerprint).write(out / CONTROL_LATENCY)

    timed = 0
    for method in config.methods:
        finetuned = CellStore(finetuned_folder(method.folder, models))

        def fingerprint_of(cell: Cell, finetuned: CellStore = finetuned) -> str:
            sources = tree_digest([finetuned.path(cell)])
            return fingerprint(cell=cell.name, cell_files=sources, **common)

        def compute(cell: Cell, staging: Path, finetuned=finetuned, method=method) -> None:
            model = create_model(config.model, config.num_classes)
            with finetuned.reading(cell) as folder:
                model.load_state_dict(load_state_dict(folder / MODEL_FILE))
                model.to(device)
                masks, _ = load_masks(folder / MASKS_FILE, model)
            record = measure_cell(
                model, masks, structure=method.structure, dense=dense, setup=setup, seed=cell.seed
            )
            labelled = CellLatencyFile.of(
                record, strategy=method.name, target_compression=cell.compression
            )
            labelled.write(staging / LATENCY_FILE)

        # Always in this process, one cell after the other: timings taken side by side would
        # slow each other down.
        timed += run_cells(
            CellStore(out / method.folder),
            [
                cell
                for cell in finetuned.require_intact()
                # Like a seed, another initial model changes no layer shape and no count of
                # nonzero weights, which set a cell's latency: initial model 0's cells time every
                # point, against its dense model.
                if cell.seed in config.seeds and cell.initial_model == 0
            ],
            fingerprint_of,
            compute,
            f"latency {method.name}",
        )
    _remove_other_methods(out, [method.folder for method in config.methods])
    return timed


def _recorded_fingerprint(path: Path) -> str | None:
    try:
        return read_json(path).get("fingerprint")
    except (PrunebenchError, AttributeError):
        return None


def _remove_other_methods(out: Path, paths: list[str]) -> None:
    """Delete the records of methods no longer in the run (after every current one is done)."""
    import shutil

    kept = {out / path for path in paths}
    for group in ("baselines", "matched"):
        for directory in sorted((out / group).glob("*")) if (out / group).is_dir() else []:
            if directory not in kept:
                shutil.rmtree(directory)
