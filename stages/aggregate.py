"""Stage aggregate: every cell into one table, the summary metrics, figures and the report."""

from pathlib import Path

from prunebench.benchmarks import BENCHMARKS
from prunebench.files import atomic_write_bytes, read_json, write_json
from prunebench.grid import CellStore

from common import load_params, run

RESULTS = Path("results")


def main() -> None:
    params = load_params()
    from prunebench.reporting import (
        cells_table,
        curves_data,
        grouped_table,
        plot_accuracy,
        plot_data,
        render_report,
        summary_metrics,
    )

    benchmark = BENCHMARKS[params.benchmark]
    control = read_json(RESULTS / "control.json")
    groups = {params.strategy: RESULTS / "cells" / "strategy"}
    for name in params.baselines:
        groups.setdefault(name, RESULTS / "cells" / "baselines" / name)
    cells = []
    for directory in groups.values():
        store = CellStore(directory)
        cells += [read_json(store.path(cell) / "metrics.json") for cell in store.cells()]

    table = cells_table(cells)
    grouped = grouped_table(table)
    write_csv(RESULTS / "cells.csv", table)
    write_csv(RESULTS / "aggregate.csv", grouped)
    plots = plot_data(grouped, control, params.strategy, params.baselines)
    write_csv(RESULTS / "plots" / "accuracy.csv", plots)
    write_csv(RESULTS / "plots" / "strategy_curves.csv", curves_data(cells, params.strategy))
    write_json(
        RESULTS / "summary.json",
        summary_metrics(grouped, control, params.strategy, params.baselines),
    )

    setup = {
        "benchmark": params.benchmark,
        "dataset": benchmark.dataset,
        "model": benchmark.model,
        "pretrained": {
            "source": describe_source(read_json(Path("models/pretrained/source.json"))),
            "top1": control["top1"],
        },
        "finetune": benchmark.finetune.updated(params.finetune).as_dict(),
        "seeds": params.seeds,
        "compressions": params.compressions,
        "environment": {
            key: value for key, value in control.get("provenance", {}).items() if key != "params"
        },
    }
    figures = {}
    metrics = ["top1", "top5"] if control.get("num_classes", 10) > 10 else ["top1"]
    for metric in metrics:
        for axis in ("compression", "speedup"):
            name = f"{metric}_vs_{axis}.png"
            plot_accuracy(
                grouped,
                control,
                RESULTS / "figures" / name,
                strategy=params.strategy,
                baselines=params.baselines,
                setup=setup,
                x=axis,
                metric=metric,
            )
            figures[f"{metric} against {axis}"] = f"figures/{name}"
    report = render_report(grouped, control, setup, params.strategy, params.baselines, figures)
    atomic_write_bytes(RESULTS / "report.md", report.encode())


def describe_source(source: dict) -> str:
    if source["kind"] == "published":
        return f"published weights `{source['name']}` (sha256-verified)"
    recipe = source["recipe"]
    return (
        f"trained in the pipeline (seed {source['seed']}, {recipe['optimizer']} "
        f"lr {recipe['learning_rate']:g}, batch {recipe['batch_size']}, best of "
        f"{source['epochs_run']} epochs at epoch {source['best_epoch']})"
    )


def write_csv(path: Path, frame) -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode())


if __name__ == "__main__":
    run(main)
