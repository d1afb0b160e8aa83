"""Step aggregate: every cell into one table, the summary metrics, figures and the report.

Cells are put side by side only if they were produced on the same footing: the same resolved
finetuning recipe, the same pretrained model and the same data (their digests), which is also
what the control was measured on. Anything else is refused in one line naming the first cells
that differ, rather than reported as a comparison.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prunebench.errors import PrunebenchError
from prunebench.files import atomic_write_bytes, check_writable, read_json, write_json
from prunebench.grid import CellStore

FOOTING = {
    "recipe": "finetuning recipe",
    "pretrained_sha256": "pretrained model",
    "data_sha256": "data",
}


def collect_cells(directories: Mapping[str, Path]) -> list[dict]:
    """The metrics records of every intact cell under ``directories`` (``{method: dir}``)."""
    cells = []
    for directory in directories.values():
        store = CellStore(directory)
        cells += [read_json(store.path(cell) / "metrics.json") for cell in store.require_intact()]
    return cells


def check_same_footing(cells: list[dict], control: Mapping[str, Any]) -> None:
    """Refuse cells that differ from each other or from the control in recipe, model or data."""
    if not cells:
        raise PrunebenchError("no evaluated cells to aggregate; run `dvc repro`")
    reference = cells[0]
    for cell in cells:
        inputs = cell.get("inputs")
        if inputs is None:
            raise PrunebenchError(
                f"{_name(cell)} records no inputs (written by an older prunebench); "
                "run `dvc repro` to recompute it"
            )
        for key, what in FOOTING.items():
            if inputs.get(key) != reference["inputs"].get(key):
                raise PrunebenchError(
                    f"refusing to compare {_name(reference)} and {_name(cell)}: they were "
                    f"produced with a different {what} ({_difference(reference, cell, key)}); "
                    "run `dvc repro` so that every method is recomputed the same way"
                )
    for key in ("pretrained_sha256", "data_sha256"):
        if control.get("inputs", {}).get(key) != reference["inputs"][key]:
            raise PrunebenchError(
                f"refusing to compare the cells with the control: they start from a different "
                f"{FOOTING[key]}; run `dvc repro`"
            )


def _name(cell: Mapping[str, Any]) -> str:
    return f"{cell['strategy']} at compression {cell['target_compression']:g}, seed {cell['seed']}"


def _difference(first: Mapping[str, Any], second: Mapping[str, Any], key: str) -> str:
    one, other = first["inputs"][key], second["inputs"].get(key)
    if isinstance(one, dict) and isinstance(other, dict):
        changed = sorted(
            name for name in one.keys() | other.keys() if one.get(name) != other.get(name)
        )
        return ", ".join(f"{name} {one.get(name)!r} vs {other.get(name)!r}" for name in changed)
    return f"{str(one)[:12]} vs {str(other)[:12]}"


def describe_source(source: Mapping[str, Any]) -> str:
    if source["kind"] == "published":
        return f"published weights `{source['name']}` (sha256 {source['sha256'][:12]}, verified)"
    recipe = source["recipe"]
    return (
        f"trained in the pipeline (seed {source['seed']}, {recipe['optimizer']} "
        f"lr {recipe['learning_rate']:g}, batch {recipe['batch_size']}, best of "
        f"{source['epochs_run']} epochs at epoch {source['best_epoch']})"
    )


def aggregate(config: Mapping[str, Any], *, results: Path, source: Path) -> None:
    """Read the cells under ``results/cells`` and the control; write the tables and report."""
    from prunebench.reporting import (
        cells_table,
        curves_data,
        grouped_table,
        plot_accuracy,
        plot_data,
        render_report,
        summary_metrics,
    )

    strategy, baselines = config["strategy"], config["baselines"]
    check_writable(results)
    control = read_json(results / "control.json")
    directories = {strategy: results / "cells" / "strategy"}
    for name in baselines:
        directories.setdefault(name, results / "cells" / "baselines" / name)
    cells = collect_cells(directories)
    check_same_footing(cells, control)

    table = cells_table(cells)
    grouped = grouped_table(table)
    _write_csv(results / "cells.csv", table)
    _write_csv(results / "aggregate.csv", grouped)
    _write_csv(results / "plots" / "accuracy.csv", plot_data(grouped, control, strategy, baselines))
    _write_csv(results / "plots" / "strategy_curves.csv", curves_data(cells, strategy))
    write_json(results / "summary.json", summary_metrics(grouped, control, strategy, baselines))

    environment = {
        key: ", ".join(f"{name} {value}" for name, value in entry.items())
        if isinstance(entry, dict)
        else entry
        for key, entry in control.get("provenance", {}).items()
        if key != "params"
    }
    setup = {
        "benchmark": config["benchmark"],
        "dataset": config["dataset"],
        "model": config["model"],
        "pretrained": {"source": describe_source(read_json(source)), "top1": control["top1"]},
        # Checked above: every cell was finetuned with this recipe.
        "finetune": cells[0]["inputs"]["recipe"],
        "seeds": config["seeds"],
        "compressions": config["compressions"],
        "environment": environment,
    }
    figures = {}
    metrics = ["top1", "top5"] if control.get("num_classes", 10) > 10 else ["top1"]
    for metric in metrics:
        for axis in ("compression", "speedup"):
            name = f"{metric}_vs_{axis}.png"
            plot_accuracy(
                grouped,
                control,
                results / "figures" / name,
                strategy=strategy,
                baselines=baselines,
                setup=setup,
                x=axis,
                metric=metric,
            )
            figures[f"{metric} against {axis}"] = f"figures/{name}"
    report = render_report(grouped, control, setup, strategy, baselines, figures)
    atomic_write_bytes(results / "report.md", report.encode())


def _write_csv(path: Path, frame) -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode())
