"""Measured speed: the latency stage's timings of every cell, in tables beside the theoretical.

The latency stage (``results/latency``) times each finetuned cell against the dense model on the
machine that runs it, at several batch sizes, in every way the pruned model can be executed, and
records the fastest (``best_execution``) and its speedup over the dense model timed in the same
call (``measured_speedup``). Here those records become one row per cell and batch size
(:func:`latency_cells_table`), then means over seeds per method, target compression and batch
size beside the theoretical speedup (:func:`latency_table`). The aggregate step checks that every
record comes from one machine before it calls anything here.

Timings are facts about a machine, not results of a method: the tables are written apart from the
deterministic ``aggregate.csv`` and never enter ``summary.json``, so re-timing on a busier or
faster machine changes no metric that ``dvc metrics diff`` compares across experiments.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.tables import finite

FIGURE_NAME = "measured_vs_theoretical_speedup.png"
"""The measured-speed figure's file name under ``results/figures``."""

# What each execution is, in the report's words.
EXECUTION_WORDS = {
    "dense_with_zeros": "dense with zeros",
    "sparse": "sparse kernels",
    "semi_structured_2_4": "2:4 semi-structured",
    "physically_smaller": "physically smaller",
}
# The hardware fields a reader looks for first, in this order; any other field follows, as
# recorded, so that a field added to the records later is printed without a change here.
HARDWARE_ORDER = ("cpu", "threads", "logical_cpus", "gpu", "torch", "device")
CELL_KEYS = ["strategy", "target_compression", "seed", "batch_size"]
POINT_KEYS = ["strategy", "target_compression", "batch_size"]


@dataclass(frozen=True)
class MeasuredSpeed:
    """A run's timings, all taken on one machine: what the report's section and figure show.

    ``hardware`` and ``settings`` are the records' own (identical in every record);
    ``control`` maps each batch size to the dense control's timing (``median_ms``, ``iqr_ms``,
    ``repeats``); ``cells`` is :func:`latency_cells_table`, ``table`` :func:`latency_table`.
    ``evaluation_batch`` is the batch size the test split is evaluated with where the run's
    config says so (``evaluation_batch_known``), else the largest batch size timed.
    """

    hardware: Mapping[str, str]
    settings: Mapping[str, Any]
    control: Mapping[int, Mapping[str, Any]]
    cells: pd.DataFrame
    table: pd.DataFrame
    evaluation_batch: int
    evaluation_batch_known: bool

    @property
    def batch_sizes(self) -> list[int]:
        """The batch sizes timed, ascending."""
        return sorted(int(size) for size in self.table["batch_size"].unique())

    def batch_title(self, batch: int) -> str:
        """``"batch 1"``, ``"batch 1000 (evaluation batch)"`` or ``"... (largest timed)"``."""
        if batch != self.evaluation_batch:
            return f"batch {batch}"
        which = "evaluation batch" if self.evaluation_batch_known else "largest timed"
        return f"batch {batch} ({which})"

    @property
    def on_gpu(self) -> bool:
        """Whether the timings ran on a CUDA device."""
        return str(self.hardware.get("device", "cpu")).startswith("cuda")


def measured_speed(
    records: Sequence[Mapping[str, Any]],
    control: Mapping[str, Any],
    cells: pd.DataFrame,
    grouped: pd.DataFrame,
    *,
    evaluation_batch: int | None = None,
) -> MeasuredSpeed:
    """The :class:`MeasuredSpeed` of the latency ``records`` of a run and its ``control``'s.

    ``cells`` and ``grouped`` are the run's cells and grouped tables (the theoretical speedups);
    ``evaluation_batch`` the evaluation's batch size if known. The records must already be known
    to come from one machine with one set of settings (the aggregate step checks it).
    """
    timed_cells = latency_cells_table(records, cells)
    table = latency_table(timed_cells, grouped)
    batches = sorted(int(size) for size in timed_cells["batch_size"].unique())
    known = evaluation_batch is not None and int(evaluation_batch) in batches
    return MeasuredSpeed(
        hardware={str(key): str(value) for key, value in control.get("hardware", {}).items()},
        settings=dict(control.get("settings", {})),
        control={int(size): _control_timing(entry) for size, entry in control["batches"].items()},
        cells=timed_cells,
        table=table,
        evaluation_batch=int(evaluation_batch) if known else max(batches),
        evaluation_batch_known=known,
    )


def latency_cells_table(records: Sequence[Mapping[str, Any]], cells: pd.DataFrame) -> pd.DataFrame:
    """One row per latency record and batch size, sorted by strategy, target, seed and batch.

    Columns: ``strategy``, ``target_compression``, ``seed``, ``batch_size``, ``structure``,
    ``theoretical_speedup`` (the cell's ``speedup`` in ``cells``; NaN where it has no evaluated
    cell), ``dense_median_ms`` and ``dense_iqr_ms`` (the dense model timed in the same call),
    ``best_execution``, ``best_median_ms``, ``best_iqr_ms``, ``measured_speedup``, then
    ``<execution>_median_ms`` for every execution any record names (NaN where it was not
    applicable). A record timed twice would count twice in a mean, so it is refused.
    """
    if not records:
        raise PrunebenchError("no latency records to aggregate; run `dvc repro`")
    rows = []
    for record in records:
        for size, batch in record["batches"].items():
            best = batch["best_execution"]
            timing = batch["executions"].get(best)
            if not isinstance(timing, Mapping):
                raise PrunebenchError(
                    f"the latency record of {_record_name(record)} names {best!r} as its best "
                    f"execution at batch {size} but has no timing of it; run `dvc repro`"
                )
            row = {
                "strategy": record["strategy"],
                "target_compression": float(record["target_compression"]),
                "seed": record["seed"],
                "batch_size": int(size),
                "structure": record.get("structure"),
                "dense_median_ms": batch["dense"]["median_ms"],
                "dense_iqr_ms": batch["dense"]["iqr_ms"],
                "best_execution": best,
                "best_median_ms": timing["median_ms"],
                "best_iqr_ms": timing["iqr_ms"],
                "measured_speedup": batch["measured_speedup"],
            }
            for name, execution in batch["executions"].items():
                # NaN, not a missing column, where it was not applicable (2:4 off CUDA): the
                # CSV's columns then say which executions were considered on every machine.
                row[f"{name}_median_ms"] = (
                    execution["median_ms"] if isinstance(execution, Mapping) else math.nan
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    duplicated = table.duplicated(CELL_KEYS, keep=False)
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise PrunebenchError(
            f"the latency of {first['strategy']} at compression {first['target_compression']:g}, "
            f"seed {first['seed']}, batch {first['batch_size']} is recorded more than once"
        )
    theoretical = cells[["strategy", "target_compression", "seed", "speedup"]].assign(
        target_compression=cells["target_compression"].astype(float)
    )
    table = table.merge(
        theoretical.rename(columns={"speedup": "theoretical_speedup"}),
        on=["strategy", "target_compression", "seed"],
        how="left",
    )
    first = [*CELL_KEYS, "structure", "theoretical_speedup"]
    table = table[first + [column for column in table.columns if column not in first]]
    return table.sort_values(CELL_KEYS, kind="stable", ignore_index=True)


def latency_table(timed_cells: pd.DataFrame, grouped: pd.DataFrame) -> pd.DataFrame:
    """Per (strategy, target compression, batch size): the timings over seeds.

    Columns: ``strategy``, ``target_compression``, ``batch_size``, ``structure``, ``n_seeds``,
    ``theoretical_speedup`` (``grouped``'s ``speedup``: the mean over seeds of dense / nonzero
    multiply-adds), ``measured_speedup_mean`` and ``measured_speedup_std`` (sample std, NaN for
    a single seed), ``best_execution`` (the most frequent over seeds; on a tie the lowest
    seed's), ``dense_median_ms`` and ``best_median_ms`` (means over seeds of the medians).
    """
    groups = timed_cells.groupby(POINT_KEYS, sort=True)
    table = pd.DataFrame(
        {
            "structure": groups["structure"].first(),
            "n_seeds": groups["seed"].count(),
            "measured_speedup_mean": groups["measured_speedup"].mean(),
            "measured_speedup_std": groups["measured_speedup"].std(ddof=1),
            # Rows are sorted by seed and value_counts keeps the first of equal counts first.
            "best_execution": groups["best_execution"].agg(
                lambda values: values.value_counts().index[0]
            ),
            "dense_median_ms": groups["dense_median_ms"].mean(),
            "best_median_ms": groups["best_median_ms"].mean(),
        }
    ).reset_index()
    theoretical = grouped[["strategy", "target_compression", "speedup"]].assign(
        target_compression=grouped["target_compression"].astype(float)
    )
    table = table.merge(
        theoretical.rename(columns={"speedup": "theoretical_speedup"}),
        on=["strategy", "target_compression"],
        how="left",
    )
    return table[
        [
            *POINT_KEYS,
            "structure",
            "n_seeds",
            "theoretical_speedup",
            "measured_speedup_mean",
            "measured_speedup_std",
            "best_execution",
            "dense_median_ms",
            "best_median_ms",
        ]
    ]


def hardware_text(hardware: Mapping[str, str]) -> str:
    """``"cpu AMD EPYC, threads 2, ..."``: every recorded field, the usual ones first."""
    keys = [key for key in HARDWARE_ORDER if key in hardware]
    keys += [key for key in hardware if key not in keys]
    return ", ".join(f"{key.replace('_', ' ')} {hardware[key]}" for key in keys)


def hardware_summary(hardware: Mapping[str, str]) -> str:
    """``"AMD EPYC, 2 threads, no GPU, torch 2.5.1, device cpu"``: what a figure's subtitle fits.

    The CPU model, thread count, GPU, torch version and device, those recorded; the report
    gives every field (:func:`hardware_text`).
    """
    gpu = hardware.get("gpu")
    parts = [
        hardware.get("cpu"),
        f"{hardware['threads']} threads" if "threads" in hardware else None,
        None if gpu is None else "no GPU" if gpu == "none" else f"GPU {gpu}",
        f"torch {hardware['torch']}" if "torch" in hardware else None,
        f"device {hardware['device']}" if "device" in hardware else None,
    ]
    return ", ".join(part for part in parts if part) or "unrecorded hardware"


def speedup_text(mean: float, std: float | None = None) -> str:
    """``"1.40×"``, or ``"1.40× ± 0.03"`` with a std (``"± n/a"`` for a single seed)."""
    if not finite(mean):
        return "n/a"
    if std is None:
        return f"{mean:.2f}×"
    return f"{mean:.2f}× ± {std:.2f}" if finite(std) else f"{mean:.2f}× ± n/a"


def milliseconds_text(value: float) -> str:
    """A latency with three significant digits: ``"0.712 ms"``, ``"45.1 ms"``, ``"1234 ms"``."""
    if not finite(value):
        return "n/a"
    return f"{value:.0f} ms" if value >= 1000 else f"{value:.3g} ms"


def _control_timing(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The control's dense timing at one batch size, whether nested under ``"dense"`` or not."""
    return entry["dense"] if "dense" in entry else entry


def _record_name(record: Mapping[str, Any]) -> str:
    return (
        f"{record.get('strategy')} at compression {record.get('target_compression')}, "
        f"seed {record.get('seed')}"
    )
