"""The report's Measured speed section: latency on the machine that timed the cells, beside the
theoretical speedup, and what to take away from it.

The timings come from the latency stage (:class:`~prunebench.reporting.speed.MeasuredSpeed`);
without them the section says that none exist and how to take them.
"""

from collections.abc import Sequence

import pandas as pd

from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import method_label
from prunebench.reporting.speed import (
    EXECUTION_WORDS,
    MeasuredSpeed,
    hardware_text,
    milliseconds_text,
    speedup_text,
)


def speed_lines(speed: MeasuredSpeed | None, methods: Methods) -> list[str]:
    """The Measured speed section: the machine, the control's latency, the table, the lesson."""
    if speed is None:
        return [
            "No timings exist for this run (no `latency` folder beside its cells): only the "
            "theoretical speedup is reported. The default pipeline's `latency` stage (`dvc "
            "repro`) times every cell and the dense control on the machine that runs it; another "
            "initial model changes no layer shape and no count of nonzero weights, so initial "
            "model 0's timings serve every initial model."
        ]
    return [
        *_timing_lines(speed),
        "",
        *_speedup_table(speed, methods),
        "",
        *_takeaway(speed, methods.strategy),
    ]


def _timing_lines(speed: MeasuredSpeed) -> list[str]:
    """How and where the timings were taken, and the dense control's latency per batch size."""
    settings = speed.settings
    sizes = _listing([str(batch) for batch in speed.batch_sizes])
    evaluation = "the evaluation batch" if speed.evaluation_batch_known else "the largest timed"
    control = "; ".join(
        f"batch {batch}: median {milliseconds_text(timing['median_ms'])} "
        f"(IQR {milliseconds_text(timing['iqr_ms'])})"
        for batch, timing in sorted(speed.control.items())
    )
    return [
        f"Timed on {hardware_text(speed.hardware)}. Each timing: {settings.get('warmup', 'n/a')} "
        f"warm-up runs, then the median and interquartile range (IQR) of "
        f"{settings.get('repeats', 'n/a')} timed runs, at batch sizes {sizes} "
        f"({speed.evaluation_batch}: {evaluation}). Timings belong to this machine: they are kept "
        "apart from the deterministic results (`results/latency.csv`, per cell "
        "`results/latency_cells.csv`) and never enter `summary.json`; re-time on one machine "
        "with `dvc repro --force latency`.",
        "",
        f"Dense control: {control}.",
        "",
        _seeds_line(speed),
    ]


def _seeds_line(speed: MeasuredSpeed) -> str:
    """Whose cells were timed: every seed, or those ``latency.seeds`` names."""
    seeds = sorted(int(seed) for seed in speed.cells["seed"].unique()) if len(speed.cells) else []
    which = _listing([str(seed) for seed in seeds]) or "none"
    return (
        f"Timed seeds: {which} (params `latency.seeds`). A cell's latency is set by its layer "
        "shapes and its count of nonzero weights, which the target fixes for every seed; a "
        "spread over timed seeds is the machine's, not the method's."
    )


def _speedup_table(speed: MeasuredSpeed, methods: Methods) -> list[str]:
    """Per method and target: the theoretical speedup, then the measured one per batch size."""
    batches = speed.batch_sizes
    titles = [speed.batch_title(batch) for batch in batches]
    lines = [
        "Measured speedup: the dense model's median latency over the pruned model's, both timed "
        "in the same call, the pruned model run its fastest way (in parentheses, the most "
        "frequent over seeds: "
        + ", ".join(EXECUTION_WORDS.values())
        + "); mean ± sample std over the timed seeds:",
        "",
        "| method | target | theoretical speedup | "
        + " | ".join(f"measured, {title}" for title in titles)
        + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(batches),
    ]
    table = speed.table
    for method in methods.all:
        mine = table[table["strategy"] == method]
        for target, rows in mine.groupby("target_compression", sort=True):
            by_batch = rows.set_index("batch_size")
            measured = [
                _measured_cell(by_batch.loc[batch]) if batch in by_batch.index else "—"
                for batch in batches
            ]
            lines.append(
                f"| {method_label(method, methods)} | {target:g}× | "
                f"{speedup_text(rows['theoretical_speedup'].iloc[0])} | "
                + " | ".join(measured)
                + " |"
            )
    return lines


def _measured_cell(point: pd.Series) -> str:
    """``"1.40× ± 0.03 (sparse kernels)"``."""
    execution = EXECUTION_WORDS.get(point["best_execution"], point["best_execution"])
    # One timed seed has no spread to show.
    std = point["measured_speedup_std"] if point["n_seeds"] > 1 else None
    mean_std = speedup_text(point["measured_speedup_mean"], std)
    return f"{mean_std} ({execution})"


def _takeaway(speed: MeasuredSpeed, strategy: str) -> list[str]:
    """What to take away: the evaluated method's farthest point, then the whole run's range."""
    sentences = [
        sentence
        for sentence in (_farthest_point(speed, strategy), _run_range(speed))
        if sentence is not None
    ]
    return [f"**Takeaway.** {' '.join(sentences)}"] if sentences else []


def _farthest_point(speed: MeasuredSpeed, strategy: str) -> str | None:
    """The evaluated method's largest target: its theoretical speedup and what it measures."""
    table = speed.table
    mine = table[table["strategy"] == strategy]
    if not len(mine):
        return None
    machine = f"this GPU ({speed.hardware.get('gpu', 'n/a')})" if speed.on_gpu else "this CPU"
    target = mine["target_compression"].max()
    farthest = mine[mine["target_compression"] == target].sort_values("batch_size")
    measured = _listing(
        [
            f"{speedup_text(row['measured_speedup_mean'])} at "
            f"{speed.batch_title(row['batch_size'])}"
            for _, row in farthest.iterrows()
        ]
    )
    return (
        f"At {target:g}×, `{strategy}`'s "
        f"{speedup_text(farthest['theoretical_speedup'].iloc[0])} theoretical speedup "
        f"measures {measured} on {machine}."
    )


def _run_range(speed: MeasuredSpeed) -> str | None:
    """Every method and target at the evaluation batch: the range, and how far theory holds."""
    table = speed.table
    evaluation = table[table["batch_size"] == speed.evaluation_batch]
    known = evaluation.dropna(subset=["measured_speedup_mean", "theoretical_speedup"])
    if not len(known):
        return None
    fastest = known.loc[known["measured_speedup_mean"].idxmax()]
    overstated = int((known["theoretical_speedup"] > known["measured_speedup_mean"]).sum())
    if overstated == len(known):
        verdict = "the theoretical speedup overstates the measured one at every point"
    elif overstated == 0:
        verdict = "the measured speedup reaches the theoretical one at every point"
    else:
        verdict = (
            f"the theoretical speedup overstates the measured one at {overstated} of "
            f"{len(known)} points"
        )
    slower = int((known["measured_speedup_mean"] < 1).sum())
    runs = "runs" if slower == 1 else "run"
    slower_note = (
        f"; {slower} of those {len(known)} points {runs} slower than the dense model"
        if slower
        else ""
    )
    return (
        f"Over every method and target at {speed.batch_title(speed.evaluation_batch)}, the "
        f"measured speedup ranges from {speedup_text(known['measured_speedup_mean'].min())} "
        f"to {speedup_text(fastest['measured_speedup_mean'])} (`{fastest['strategy']}` at "
        f"{fastest['target_compression']:g}×, theoretical "
        f"{speedup_text(fastest['theoretical_speedup'])}): {verdict}{slower_note}."
    )


def _listing(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
