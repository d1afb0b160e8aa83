"""Measured speed in the aggregate step: the latency tables, the report's section and the figure.

The run is reporting_run's (lamp under an external name, three baselines, two matched
controls, targets 2, 8 and 32, three seeds), with a latency record per cell as the latency stage
writes it. The timings mimic LeNet-5 on a 2-core CPU: at batch 1 sparse kernels pay off only
for the sparsest models (the others run fastest dense with their zeros), at batch 1000 they gain
more, and never as much as the theoretical speedup promises. A seed moves the sparse execution's
latency by a few percent.
"""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from reporting_run import (
    BASELINES,
    COMPRESSIONS,
    CURVES,
    EXTERNAL,
    MATCHED_CURVES,
    SETUP,
    write_cells,
    write_run,
)

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting import cells_table, grouped_table, measured_speed
from prunebench.stages.aggregate import aggregate

HARDWARE = {
    "cpu": "AMD EPYC 7B13", "logical_cpus": "2", "threads": "2", "torch": "2.5.1",
    "device": "cpu", "gpu": "none", "cpu_capability": "AVX2", "cpu_numerics": "pinned",
}  # fmt: skip
SETTINGS = {"batch_sizes": [1, 1000], "repeats": 30, "warmup": 5}
DENSE_MS = {1: 0.7, 1000: 45.0}  # the dense model's median latency per batch size
# The sparse execution's speedup is this factor times theoretical ** this power, per batch.
SPARSE_GAIN = {1: (0.8, 0.4), 1000: (0.9, 0.5)}
SEED_SLOWDOWN = [0.97, 1.0, 1.03]  # the sparse execution's latency, relative, per seed
SEEDS, TARGETS = (0, 1, 2), (2, 8, 32)
# The channel structure, for one matched control: a physically smaller model, not sparse kernels.
CHANNEL_METHOD = "matched_random"


def timing(median: float) -> dict:
    return {"median_ms": median, "iqr_ms": 0.04 * median, "repeats": SETTINGS["repeats"]}


def theoretical(method: str, target: float) -> float:
    curves = {**CURVES, **MATCHED_CURVES}
    return curves[method][1][COMPRESSIONS.index(target)]


def latency_record(method: str, target: float, seed: int, name: str | None = None) -> dict:
    """One cell's latency.json, as the latency stage writes it (``measure_cell``'s schema)."""
    channel = method == CHANNEL_METHOD
    batches = {}
    for batch, dense in DENSE_MS.items():
        factor, power = SPARSE_GAIN[batch]
        pruned_ms = dense / (factor * theoretical(method, target) ** power) * SEED_SLOWDOWN[seed]
        executions = {"dense_with_zeros": timing(1.01 * dense)}
        if channel:
            executions["physically_smaller"] = timing(pruned_ms)
        else:
            executions["sparse"] = timing(pruned_ms) | {"layers": {"conv1": "dense", "fc1": "csr"}}
            executions["semi_structured_2_4"] = "not applicable: no CUDA device"
        best = min(
            (key for key, value in executions.items() if isinstance(value, dict)),
            key=lambda key: executions[key]["median_ms"],
        )
        batches[str(batch)] = {
            "dense": timing(dense),
            "executions": executions,
            "best_execution": best,
            "measured_speedup": dense / executions[best]["median_ms"],
        }
    return {
        "strategy": name or method, "target_compression": float(target), "seed": seed,
        "hardware": HARDWARE, "settings": SETTINGS,
        "structure": "channel" if channel else "unstructured", "batches": batches,
        "parameters": {"dense": 431_080, "timed": round(431_080 / target)},
    }  # fmt: skip


def control_record() -> dict:
    """results/latency/control.json: the dense control's timing per batch size."""
    return {
        "fingerprint": "f" * 64, "hardware": HARDWARE, "settings": SETTINGS,
        "batches": {str(batch): {"dense": timing(ms)} for batch, ms in DENSE_MS.items()},
    }  # fmt: skip


def write_latency(results, change=None) -> None:
    """Every method's latency records under results/latency; ``change`` edits one record."""
    root = results / "latency"
    directories = {"lamp": root / "strategy"}
    directories |= {name: root / "baselines" / name for name in BASELINES}
    directories |= {name: root / "matched" / name for name in MATCHED_CURVES}
    for method, directory in directories.items():
        name = EXTERNAL if method == "lamp" else None
        records = [latency_record(method, t, s, name) for t in TARGETS for s in SEEDS]
        if change is not None:
            records = [change(record) for record in records]
        write_cells(directory, records, file="latency.json")
    (root / "control.json").write_text(json.dumps(control_record()))


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory):
    """The aggregate step's outputs for the run with its timings."""
    tmp_path = tmp_path_factory.mktemp("timed")
    config, paths = write_run(tmp_path, seeds=SEEDS, compressions=TARGETS)
    write_latency(paths["results"])
    aggregate(dataclasses.replace(config, evaluation_batch_size=1000), **paths)
    return paths["results"]


def expected_speedups(method: str, target: float, batch: int) -> list[float]:
    """Each seed's measured speedup, computed from the records' own numbers."""
    values = []
    for seed in SEEDS:
        point = latency_record(method, target, seed)["batches"][str(batch)]
        best = point["executions"][point["best_execution"]]["median_ms"]
        values.append(point["dense"]["median_ms"] / best)
    return values


def test_latency_csv_has_one_row_per_method_target_and_batch(timed_run):
    table = pd.read_csv(timed_run / "latency.csv")
    methods = [EXTERNAL, *BASELINES, *MATCHED_CURVES]
    assert len(table) == len(methods) * len(TARGETS) * len(DENSE_MS)
    assert list(table.columns) == [
        "strategy", "target_compression", "batch_size", "structure", "n_seeds",
        "theoretical_speedup", "measured_speedup_mean", "measured_speedup_std", "best_execution",
        "dense_median_ms", "best_median_ms",
    ]  # fmt: skip
    for method in ["lamp", *BASELINES, *MATCHED_CURVES]:
        name = EXTERNAL if method == "lamp" else method
        for target in TARGETS:
            for batch in DENSE_MS:
                row = table[(table["strategy"] == name) & (table["target_compression"] == target)
                            & (table["batch_size"] == batch)].squeeze()  # fmt: skip
                speedups = expected_speedups(method, target, batch)
                assert row["n_seeds"] == len(SEEDS)
                assert row["measured_speedup_mean"] == pytest.approx(np.mean(speedups), rel=1e-5)
                assert row["measured_speedup_std"] == pytest.approx(
                    np.std(speedups, ddof=1), rel=1e-4
                )
                assert row["theoretical_speedup"] == pytest.approx(theoretical(method, target))
                assert row["dense_median_ms"] == pytest.approx(DENSE_MS[batch])
    # What runs fastest is the records' own answer: dense with zeros where sparse kernels lose.
    lamp = table[table["strategy"] == EXTERNAL].set_index(["target_compression", "batch_size"])
    assert lamp.at[(2, 1), "best_execution"] == "dense_with_zeros"
    assert lamp.at[(32, 1000), "best_execution"] == "sparse"
    channel = table[table["strategy"] == CHANNEL_METHOD]
    assert set(channel["structure"]) == {"channel"}
    assert "physically_smaller" in set(channel["best_execution"])
    # The deterministic table is untouched by timings.
    assert "measured_speedup_mean" not in pd.read_csv(timed_run / "aggregate.csv").columns
    summary = json.loads((timed_run / "summary.json").read_text())
    assert "measured" not in json.dumps(summary)


def test_speed_json_holds_the_best_measured_speedup_at_the_highest_target():
    from prunebench.reporting import speed_metrics

    records = [latency_record("lamp", t, s) for t in TARGETS for s in SEEDS]
    accuracy = {"top1": 0.9, "top5": 0.99, "loss": 0.3}
    rows = [
        {"strategy": "lamp", "target_compression": t, "seed": s, "compression": t}
        | {"effective_compression": t, "speedup": theoretical("lamp", t)}
        | accuracy
        for t in TARGETS
        for s in SEEDS
    ]
    cells = cells_table(rows)
    speed = measured_speed(records, control_record(), cells, grouped_table(cells))
    top = max(TARGETS)
    by_batch = {batch: np.mean(expected_speedups("lamp", top, batch)) for batch in DENSE_MS}
    best = max(by_batch, key=by_batch.get)
    metrics = speed_metrics(speed, "lamp")["speedup"]
    assert metrics["measured"] == pytest.approx(by_batch[best], abs=1e-6)
    assert (metrics["batch"], metrics["target"]) == (best, top)
    assert metrics["theoretical"] == pytest.approx(theoretical("lamp", top), abs=1e-6)
    assert speed_metrics(None, "lamp") == {}  # no timings: an empty metrics file


def test_latency_cells_csv_has_every_seed_and_every_execution(timed_run):
    cells = pd.read_csv(timed_run / "latency_cells.csv")
    assert len(cells) == (1 + len(BASELINES) + len(MATCHED_CURVES)) * 9 * 2
    row = cells[(cells["strategy"] == "random") & (cells["target_compression"] == 32)
                & (cells["seed"] == 2) & (cells["batch_size"] == 1000)].squeeze()  # fmt: skip
    record = latency_record("random", 32, 2)["batches"]["1000"]
    # The CSVs keep six significant digits.
    sparse = record["executions"]["sparse"]["median_ms"]
    assert row["sparse_median_ms"] == pytest.approx(sparse, rel=1e-5)
    assert row["measured_speedup"] == pytest.approx(record["measured_speedup"], rel=1e-5)
    assert row["theoretical_speedup"] == pytest.approx(theoretical("random", 32))
    # Not applicable off CUDA: no number, not a zero.
    assert cells["semi_structured_2_4_median_ms"].isna().all()


def test_the_report_states_the_machine_the_control_and_the_speedups(timed_run):
    report = (timed_run / "report.md").read_text()
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    assert headings.index("## Measured speed") == headings.index("## Figures") - 1
    section = report.split("## Measured speed")[1].split("## Figures")[0]
    assert (
        "Timed on cpu AMD EPYC 7B13, threads 2, logical cpus 2, gpu none, torch 2.5.1, device "
        "cpu, cpu capability AVX2, cpu numerics pinned." in section
    )
    assert (
        "5 warm-up runs, then the median and interquartile range (IQR) of 30 timed runs" in section
    )
    assert "at batch sizes 1 and 1000 (1000: the evaluation batch)" in section
    assert (
        "Dense control: batch 1: median 0.7 ms (IQR 0.028 ms); batch 1000: median 45 ms "
        "(IQR 1.8 ms)." in section
    )
    assert (
        "| method | target | theoretical speedup | measured, batch 1 | measured, batch 1000 "
        "(evaluation batch) |" in section
    )
    batch_1 = expected_speedups("lamp", 32, 1)
    batch_1000 = expected_speedups("lamp", 32, 1000)
    row = (
        f"| **{EXTERNAL}** (evaluated) | 32× | 5.00× | "
        f"{np.mean(batch_1):.2f}× ± {np.std(batch_1, ddof=1):.2f} (sparse kernels) | "
        f"{np.mean(batch_1000):.2f}× ± {np.std(batch_1000, ddof=1):.2f} (sparse kernels) |"
    )
    assert row in section
    assert f"| matched_random ({EXTERNAL}'s layer sizes) | 2× | 1.30× |" in section
    assert "(dense with zeros) |" in section and "(physically smaller) |" in section
    # The lesson, computed from the data.
    assert (
        f"**Takeaway.** At 32×, `{EXTERNAL}`'s 5.00× theoretical speedup measures "
        f"{np.mean(batch_1):.2f}× at batch 1 and {np.mean(batch_1000):.2f}× at batch 1000 "
        "(evaluation batch) on this CPU." in section
    )
    fastest = np.mean(expected_speedups("random", 32, 1000))
    assert (
        f"to {fastest:.2f}× (`random` at 32×, theoretical 26.00×): the theoretical speedup "
        "overstates the measured one at every point" in section
    )
    figure = "![measured against theoretical speedup](figures/measured_vs_theoretical_speedup.png)"
    assert figure in report
    # The checklist counts the accuracy tradeoff figures only.
    assert "2 tradeoff figure(s)" in report


def test_the_figure_is_written(timed_run):
    path = timed_run / "figures/measured_vs_theoretical_speedup.png"
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000


def test_the_figure_draws_means_on_log2_axes_with_the_diagonal(tmp_path):
    from method_properties import PROPERTIES

    from prunebench.reporting import Methods, plot_measured_speedup

    methods = Methods("lamp", BASELINES, list(MATCHED_CURVES), PROPERTIES)
    records = [latency_record(m, t, s) for m in methods.all for t in TARGETS for s in SEEDS]
    cells = cells_table(
        [
            {"strategy": m, "target_compression": t, "seed": s, "top1": 0.9, "top5": 0.99,
             "loss": 0.3, "compression": t, "effective_compression": t,
             "speedup": theoretical(m, t)}
            for m in methods.all for t in TARGETS for s in SEEDS
        ]
    )  # fmt: skip
    speed = measured_speed(records, control_record(), cells, grouped_table(cells))
    assert speed.evaluation_batch == 1000 and not speed.evaluation_batch_known
    path = tmp_path / "speed.png"
    figure = plot_measured_speedup(speed, path, methods=methods, setup=SETUP)
    assert path.stat().st_size > 20_000
    panels = figure.axes
    assert [axes.get_title(loc="left") for axes in panels] == [
        "batch 1",
        "batch 1000 (largest timed)",
    ]
    for axes in panels:
        assert axes.get_xscale() == axes.get_yscale() == "log"
        assert axes.xaxis.get_transform().base == axes.yaxis.get_transform().base == 2
        assert axes.get_xlim() == axes.get_ylim()
        assert {"1", "2", "4", "8", "16"} <= {label.get_text() for label in axes.get_xticklabels()}
    assert panels[0].get_xlabel() == "Theoretical speedup (dense / nonzero multiply-adds)"
    assert panels[0].get_ylabel() == "Measured speedup (dense / pruned median latency)"
    lines = {line.get_gid(): line for line in panels[1].get_lines() if isinstance(line, Line2D)}
    mean = lines["measured:random"]
    x, y = (np.asarray(values, dtype=float) for values in mean.get_data())
    np.testing.assert_allclose(x, [theoretical("random", t) for t in TARGETS])
    np.testing.assert_allclose(y, [np.mean(expected_speedups("random", t, 1000)) for t in TARGETS])
    diagonal = lines["diagonal"]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert diagonal.get_linestyle() == "--"
    legend = [text.get_text() for text in panels[-1].get_legend().get_texts()]
    assert legend[0] == "lamp (evaluated)"
    assert legend[-2:] == ["measured = theoretical", "no speedup (1×)"]
    title = figure.get_suptitle()
    assert "lenet5 on fashion_mnist" in title and "AMD EPYC 7B13" in title
    assert "median of 30 runs after 5 warm-up" in title


def test_timings_from_two_machines_are_refused_in_one_line(tmp_path):
    config, paths = write_run(tmp_path, seeds=SEEDS, compressions=TARGETS)

    def other_machine(record):
        if record["strategy"] == "random" and record["target_compression"] == 8:
            return record | {"hardware": HARDWARE | {"cpu": "Intel Xeon 8375C"}}
        return record

    write_latency(paths["results"], change=other_machine)
    with pytest.raises(PrunebenchError) as error:
        aggregate(config, **paths)
    message = str(error.value)
    assert "\n" not in message
    assert "the control and random at compression 8, seed 0" in message
    assert "`cpu` ('AMD EPYC 7B13' vs 'Intel Xeon 8375C')" in message
    assert "run `dvc repro --force latency` on one machine" in message
    # Refused before anything is written.
    assert not (paths["results"] / "report.md").exists()
    assert not (paths["results"] / "latency.csv").exists()


def test_timings_with_other_settings_are_refused(tmp_path):
    config, paths = write_run(tmp_path, seeds=SEEDS, compressions=TARGETS)
    write_latency(paths["results"], change=lambda r: r | {"settings": SETTINGS | {"repeats": 50}})
    with pytest.raises(PrunebenchError, match=r"differ in settings `repeats` \(30 vs 50\)"):
        aggregate(config, **paths)


def test_a_method_without_timings_is_refused(tmp_path):
    import shutil

    config, paths = write_run(tmp_path, seeds=SEEDS, compressions=TARGETS)
    write_latency(paths["results"])
    shutil.rmtree(paths["results"] / "latency/matched/matched_mag")
    with pytest.raises(PrunebenchError, match="no timings for method 'matched_mag'"):
        aggregate(config, **paths)


def test_removed_timings_take_their_tables_and_figure_with_them(tmp_path):
    import shutil

    config, paths = write_run(tmp_path, seeds=SEEDS, compressions=TARGETS)
    results = paths["results"]
    write_latency(results)
    aggregate(config, **paths)
    assert (results / "latency.csv").is_file()
    shutil.rmtree(results / "latency")
    aggregate(config, **paths)
    assert not (results / "latency.csv").exists()
    assert not (results / "latency_cells.csv").exists()
    assert not (results / "figures/measured_vs_theoretical_speedup.png").exists()
    assert "No timings exist for this run" in (results / "report.md").read_text()


def test_real_measurements_flow_into_the_tables():
    """measure_cell and measure_control's own records, on a small model, through the tables."""
    import copy

    import torch
    from torch import nn

    from prunebench.measurement.latency.measure import LatencySetup, measure_cell, measure_control
    from prunebench.measurement.latency.records import CellLatencyFile, LatencySettings

    torch.manual_seed(0)
    dense = nn.Sequential(nn.Flatten(), nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 10)).eval()
    masks = {
        name: torch.rand_like(weight) < 0.25
        for name, weight in dense.named_parameters()
        if name.endswith("weight")
    }
    setup = LatencySetup(
        LatencySettings([1, 32], repeats=3, warmup=1), (1, 8, 8), torch.device("cpu")
    )
    records = [
        CellLatencyFile.of(
            measure_cell(
                copy.deepcopy(dense),
                masks,
                structure="unstructured",
                dense=dense,
                setup=setup,
                seed=seed,
            ),
            strategy="lamp",
            target_compression=4.0,
        ).to_json()
        for seed in (0, 1)
    ]
    control = measure_control(dense, setup).to_json()
    cells = cells_table(
        [
            {"strategy": "lamp", "target_compression": 4, "seed": seed, "top1": 0.9,
             "top5": 0.99, "loss": 0.3, "compression": 4.0, "effective_compression": 4.0,
             "speedup": 3.9}
            for seed in (0, 1)
        ]
    )  # fmt: skip
    speed = measured_speed(records, control, cells, grouped_table(cells), evaluation_batch=32)
    assert speed.batch_sizes == [1, 32] and speed.evaluation_batch_known
    assert set(speed.control) == {1, 32}
    assert all(math.isfinite(timing["median_ms"]) for timing in speed.control.values())
    assert len(speed.cells) == 4 and len(speed.table) == 2
    assert speed.table["theoretical_speedup"].tolist() == [3.9, 3.9]
    assert speed.table["measured_speedup_mean"].gt(0).all()
    assert set(speed.table["best_execution"]) <= {"dense_with_zeros", "sparse"}
    assert speed.hardware["device"] == "cpu"
