"""Step aggregate: every cell into one table, the summary metrics, figures and the report.

Cells are put side by side only if they were produced on the same footing: the same resolved
finetuning recipe, the same pretrained model and the same data (their digests), which is also
what the control was measured on. Anything else is refused in one line naming the first cells
that differ, rather than reported as a comparison.

What each method is (score, allocation, structure, schedule) comes from the config's
``strategies``, as the resolve stage read it from the strategies themselves; how long each cell
trained comes from its record's ``budget``. Nothing is inferred from a method's name.

Measured latencies (``results/latency``, written by the latency stage) are reported beside the
theoretical speedup when they exist. They are facts about the machine that took them, so records
from two machines, or timed with two sets of settings, are refused rather than put in one table;
without them the report says that no timings exist.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_write_bytes, check_writable, read_json, write_json
from prunebench.pipeline.cells import CellStore

if TYPE_CHECKING:
    # Importing the reporting package loads pandas and matplotlib: only aggregate() pays for it.
    from prunebench.reporting import Methods

FOOTING = {
    "recipe": "finetuning recipe",
    "pretrained_sha256": "pretrained model",
    "data_sha256": "data",
}


LATENCY_FILE = "latency.json"
LATENCY_REMEDY = "run `dvc repro --force latency` on one machine to re-time every cell"


def method_directories(root: Path, methods: "Methods") -> tuple[dict[str, Path], dict[str, Path]]:
    """``({method under evaluation: dir}, {reference: dir})``: where each method's cells lie.

    dvc.yaml's layout under ``root`` (``results/cells`` or ``results/latency``): ``strategy``
    for the method under evaluation, ``baselines/NAME`` and ``matched/NAME`` for the others. A
    method under evaluation that is also a baseline is in both.
    """
    evaluated = {methods.strategy: root / "strategy"}
    references = {name: root / "baselines" / name for name in methods.baselines}
    references |= {name: root / "matched" / name for name in methods.matched}
    return evaluated, references


def collect_cells(directories: Mapping[str, Path], file: str = "metrics.json") -> list[dict]:
    """The records (``file``) of every intact cell under ``directories`` (``{method: dir}``)."""
    cells = []
    for directory in directories.values():
        store = CellStore(directory)
        cells += [read_json(store.path(cell) / file) for cell in store.require_intact()]
    return cells


def collect_timings(root: Path, methods: "Methods") -> tuple[list[dict], dict]:
    """``(every cell's latency record, the control's)`` under ``root`` (``results/latency``).

    The latency stage times a method once, under ``strategy`` for the method under evaluation
    even where it is also a baseline. A method of the run without any timed cell, or a missing
    control, is refused in one line: a table that silently lacked a method would read as
    complete.
    """
    evaluated, references = method_directories(root, methods)
    directories = evaluated | {name: path for name, path in references.items()
                               if name not in evaluated}  # fmt: skip
    records = collect_cells(directories, LATENCY_FILE)
    timed = {record.get("strategy") for record in records}
    for name in directories:
        if name not in timed:
            raise PrunebenchError(
                f"no timings for method {name!r} under {root}; run `dvc repro` to time it"
            )
    control = root / "control.json"
    if not control.is_file():
        raise PrunebenchError(f"no timing of the control ({control}); run `dvc repro`")
    return records, read_json(control)


def check_same_machine(records: list[dict], control: Mapping[str, Any]) -> None:
    """Refuse timings taken on two machines, or with two sets of settings, in one line.

    Every cell's record and the control's must carry the same ``hardware`` and ``settings``: a
    speedup is only meaningful against the dense model on the same machine, and one table must
    not put two machines' latencies side by side.
    """
    named = [("the control", control), *((_name(record), record) for record in records)]
    reference_name, reference = named[0]
    for field, what in (("hardware", "machines"), ("settings", "timing settings")):
        expected = reference.get(field) or {}
        for name, record in named[1:]:
            found = record.get(field) or {}
            changed = [key for key in dict.fromkeys([*expected, *found])
                       if expected.get(key) != found.get(key)]  # fmt: skip
            if changed:
                key = changed[0]
                raise PrunebenchError(
                    f"refusing to mix timings from two {what}: {reference_name} and {name} "
                    f"differ in {field} `{key}` ({expected.get(key)!r} vs {found.get(key)!r}); "
                    f"{LATENCY_REMEDY}"
                )


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


def aggregate(config: Mapping[str, Any], *, results: Path, source: Path, data: Path) -> None:
    """Read the cells under ``results/cells`` and the control; write the tables and report.

    ``config`` is the resolved aggregate config: besides the grid and the benchmark's names it
    holds ``strategies`` (every method's declared properties, required), ``equal_budget``
    (optional, false when absent) and ``evaluation_batch_size`` (optional: which timed batch
    size the report calls the evaluation batch; the largest timed when absent). ``data`` is the
    materialised dataset's description (its augmentation goes into the report).

    Where ``results/latency`` exists, its timings also go into ``latency.csv`` (per method,
    target and batch size), ``latency_cells.csv`` (per cell), the figure of measured against
    theoretical speedup and the report; where it does not, those files are removed and the
    report says that no timings exist.
    """
    from prunebench.reporting import (
        Methods,
        Pretrained,
        ReportSetup,
        allocation_pairs,
        cells_table,
        compare,
        curves_data,
        grouped_table,
        measured_speed,
        plot_accuracy,
        plot_data,
        plot_measured_speedup,
        rejudged,
        render_report,
        summary_metrics,
        verdict_metrics,
    )
    from prunebench.reporting.speed import FIGURE_NAME

    methods = Methods.from_config(config)
    strategy, baselines, matched = methods.strategy, methods.baselines, methods.matched
    check_writable(results)
    control = read_json(results / "control.json")
    evaluated_directories, reference_directories = method_directories(results / "cells", methods)
    evaluated = collect_cells(evaluated_directories)
    references = collect_cells(reference_directories)
    check_same_footing(evaluated + references, control)
    # Timings are checked before anything is written, so that a refusal leaves no output behind.
    latency_root = results / "latency"
    timings = collect_timings(latency_root, methods) if latency_root.exists() else None
    if timings is not None:
        check_same_machine(*timings)

    # The method under evaluation may also be a baseline: its table rows come from its own
    # cells once, while the comparison pairs them with the baseline's separately computed ones.
    table = cells_table(evaluated + [cell for cell in references if cell["strategy"] != strategy])
    grouped = grouped_table(table)
    per_method = dict(iter(cells_table(references).groupby("strategy"))) if references else {}
    missing = [name for name in [*baselines, *matched] if name not in per_method]
    if missing:
        raise PrunebenchError(f"no results for method {missing[0]!r}; run `dvc repro`")
    reference_cells = {name: per_method[name] for name in [*baselines, *matched]}
    # The method run again as a baseline is a sanity check (it must come out identical), not a
    # comparison: a family of its own keeps it from making the real verdicts stricter.
    families = {name: "matched" for name in matched} | {strategy: "self"}
    comparisons = compare(
        cells_table(evaluated), reference_cells, control["top1"], family_names=families
    )
    # Each matched control against the baseline sharing its choice within a layer, across the
    # curve: the effect of the method's allocation alone, judged as one family.
    pairs = allocation_pairs(methods)
    curves = [
        next(c for c in compare(reference_cells[name], {baseline: reference_cells[baseline]}, None)
             if c.point == "auc")
        for name, baseline in pairs
    ]  # fmt: skip
    allocation = dict(zip([name for name, _ in pairs], rejudged(curves), strict=True))

    # Built before anything is written, so that a malformed record leaves no output behind.
    speed = None
    if timings is not None:
        speed = measured_speed(
            *timings, table, grouped, evaluation_batch=config.get("evaluation_batch_size")
        )

    _write_csv(results / "cells.csv", table)
    _write_csv(results / "aggregate.csv", grouped)
    _write_csv(results / "plots" / "accuracy.csv", plot_data(grouped, control, methods))
    _write_csv(results / "plots" / "strategy_curves.csv", curves_data(evaluated, strategy))
    summary = summary_metrics(grouped, control, methods, verdict_metrics(comparisons))
    write_json(results / "summary.json", summary)

    environment = {
        key: ", ".join(f"{name} {value}" for name, value in entry.items())
        if isinstance(entry, dict)
        else str(entry)
        for key, entry in control.get("provenance", {}).items()
        if key != "params"
    }
    setup = ReportSetup(
        benchmark=config["benchmark"],
        dataset=config["dataset"],
        model=config["model"],
        pretrained=Pretrained(source=describe_source(read_json(source)), top1=control["top1"]),
        # Checked above: every cell was finetuned with this recipe.
        finetune=evaluated[0]["inputs"]["recipe"],
        augmentation=read_json(data)["info"]["augmentation"],
        seeds=config["seeds"],
        compressions=config["compressions"],
        equal_budget=bool(config.get("equal_budget", False)),
        environment=environment,
    )
    figures = {}
    metrics = ["top1", "top5"] if control.get("num_classes", 10) > 10 else ["top1"]
    for metric in metrics:
        for axis in ("compression", "speedup"):
            name = f"{metric}_vs_{axis}.png"
            plot_accuracy(
                table,
                control,
                results / "figures" / name,
                methods=methods,
                setup=setup,
                x=axis,
                metric=metric,
            )
            figures[f"{metric} against {axis}"] = f"figures/{name}"
    speed_outputs = [results / "latency.csv", results / "latency_cells.csv",
                     results / "figures" / FIGURE_NAME]  # fmt: skip
    if speed is not None:
        _write_csv(speed_outputs[0], speed.table)
        _write_csv(speed_outputs[1], speed.cells)
        plot_measured_speedup(speed, speed_outputs[2], methods=methods, setup=setup)
        figures["measured against theoretical speedup"] = f"figures/{FIGURE_NAME}"
    else:
        # Tables and a figure of an earlier run's timings would contradict this report.
        for path in speed_outputs:
            path.unlink(missing_ok=True)
    report = render_report(
        table,
        grouped,
        control,
        setup,
        methods=methods,
        comparisons=comparisons,
        allocation=allocation,
        figures=figures,
        speed=speed,
    )
    atomic_write_bytes(results / "report.md", report.encode())


def _write_csv(path: Path, frame) -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode())
