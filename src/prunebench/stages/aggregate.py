"""Stage aggregate: every cell into one table, the metrics files, figures and the report.

Four steps, one function each: :func:`load` the records of every cell, the control and the
timings; :func:`check` that they can be put side by side; :func:`compute` the tables, the
comparisons and the report; :func:`write` them under ``results/``.

Cells are put side by side only if they were produced on the same footing: the same resolved
finetuning recipe, the same pretrained model and the same data (their digests), which is also
what the control was measured on. With several initial models (params ``initial_models``), each
initial model's cells share its weights and its own control, and a comparison pairs the runs of
one (initial model, seed). Anything else is refused in one line naming the first cells
that differ, rather than reported as a comparison.

What each method is (score, allocation, structure, pruning schedule) comes from the config's
``methods``, as the resolve stage read it from the strategies themselves; how long each cell
trained comes from its record's ``budget``. Nothing is inferred from a method's name.

Measured latencies (``results/latency``, written by the latency stage) are reported beside the
theoretical speedup when they exist. They are facts about the machine that took them, so records
from two machines, or timed with two sets of settings, are refused rather than put in one table;
without them the report says that no timings exist.
"""

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import (
    atomic_write_bytes,
    json_bytes,
    prepare_outputs,
    read_json,
)
from prunebench.foundations.typed import Record
from prunebench.pipeline.cells import CellStore
from prunebench.pipeline.configs import AggregateConfig, grid_initial_models
from prunebench.pipeline.layout import (
    ACCURACY_PLOT,
    AGGREGATE_TABLE,
    CELLS,
    CELLS_TABLE,
    CONTROL_LATENCY,
    DETAILS_FILE,
    FIGURES,
    INITIAL_CONTROL,
    LATENCY_CELLS_TABLE,
    LATENCY_FILE,
    LATENCY_TABLE,
    METRICS_FILE,
    PLOTS,
    REPORT_FILE,
    SPEED_FILE,
    STRATEGY_CURVES_PLOT,
    SUMMARY_FILE,
    Role,
    initial_model_folder,
    method_folder,
)
from prunebench.pipeline.records import CellMetrics, ControlMetrics, PretrainedSource

if TYPE_CHECKING:
    # Importing the reporting package loads pandas and matplotlib: only aggregate() pays for it.
    import pandas as pd

    from prunebench.reporting import Methods

FOOTING = {
    "recipe": "finetuning recipe",
    "pretrained_sha256": "pretrained model",
    "data_sha256": "data",
}
LATENCY_REMEDY = "run `dvc repro --force latency` on one machine to re-time every cell"
OUTPUTS = (
    CELLS_TABLE,
    AGGREGATE_TABLE,
    LATENCY_TABLE,
    LATENCY_CELLS_TABLE,
    REPORT_FILE,
    SUMMARY_FILE,
    SPEED_FILE,
    DETAILS_FILE,
    FIGURES,
    INITIAL_CONTROL,
    PLOTS,
)
"""What aggregate writes under ``results/`` (its ``outs`` in dvc.yaml)."""
INITIAL_MODEL_FIGURE = "top1_vs_compression_i{}.png"
"""Top-1 against compression from one initial model, in a run of several."""
STAGING = "aggregate"
"""``results/.aggregate.partial-PID``: where :func:`write` stages the outputs (hidden)."""


@dataclass(frozen=True)
class Loaded:
    """What aggregate reads: every cell's metrics record (as in its file), the control's, and the
    timings (every cell's latency record and the control's) if the latency stage ran."""

    control: dict[str, Any]
    evaluated: list[dict[str, Any]]
    """The method under evaluation's cells."""
    references: list[dict[str, Any]]
    """The baselines' and matched controls' cells."""
    timings: tuple[list[dict[str, Any]], dict[str, Any]] | None
    others: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The controls of initial models k >= 1 by k (none in a run of one initial model); cells
    then carry their ``initial_model`` (0 where their record has none)."""

    @property
    def controls(self) -> dict[int, dict[str, Any]]:
        """Every initial model's control by initial model."""
        return {0: self.control, **self.others}


@dataclass
class Outputs:
    """Everything aggregate writes, computed before any of it is: a refusal leaves no output."""

    tables: dict[str, "pd.DataFrame"]
    """CSV files by their path under ``results/``."""
    metrics: dict[str, dict[str, Any]]
    """JSON files by their path under ``results/``: the headline (``summary.json``), the
    measured-speed headline (``speed.json``) and the details (``details.json``)."""
    figures: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    """Figure drawers by their path under ``results/``: ``draw(path)`` writes the PNG."""
    report: str = ""
    absent: list[str] = field(default_factory=list)
    """Outputs of an earlier run that this one must remove (no timings: no speed tables)."""


def method_directories(root: Path, methods: "Methods") -> tuple[dict[str, Path], dict[str, Path]]:
    """``({method under evaluation: dir}, {baseline or matched control: dir})`` under ``root``
    (``results/cells`` or ``results/latency``). A method under evaluation that is also a baseline
    is in both."""
    evaluated = {methods.strategy: root / method_folder(Role.EVALUATED, methods.strategy)}
    references = {name: root / method_folder(Role.BASELINE, name) for name in methods.baselines}
    references |= {name: root / method_folder(Role.MATCHED, name) for name in methods.matched}
    return evaluated, references


def collect_cells(
    directories: Mapping[str, Path], file: str = METRICS_FILE, record: type[Record] | None = None
) -> list[dict]:
    """The records (``file``) of every intact cell under ``directories`` (``{method: dir}``),
    each checked against its ``record`` type when given, and returned as in its file."""
    cells = []
    for directory in directories.values():
        store = CellStore(directory)
        for cell in store.require_intact():
            with store.reading(cell) as folder:
                content = read_json(folder / file)
                if record is not None:
                    record.from_json(content, str(folder / file))
            cells.append(content)
    return cells


def collect_timings(root: Path, methods: "Methods") -> tuple[list[dict], dict]:
    """``(every cell's latency record, the control's)`` under ``root`` (``results/latency``).

    The latency stage times a method once, under ``strategy`` for the method under evaluation
    even where it is also a baseline. A method of the run without any timed cell, or a missing
    control, is refused in one line: a table that silently lacked a method would read as
    complete.
    """
    evaluated, references = method_directories(root, methods)
    directories = evaluated | {
        name: path for name, path in references.items() if name not in evaluated
    }
    return read_timings(directories, root / CONTROL_LATENCY)


def read_timings(directories: Mapping[str, Path], control: Path) -> tuple[list[dict], dict]:
    """``(every cell's latency record under directories ({method: dir}), the control's)``;
    a method without any timed cell, or a missing control, is refused in one line."""
    records = collect_cells(directories, LATENCY_FILE)
    timed = {record.get("strategy") for record in records}
    for name, directory in directories.items():
        if name not in timed:
            raise PrunebenchError(
                f"no timings for method {name!r} in {directory}; run `dvc repro` to time it"
            )
    if not control.is_file():
        raise PrunebenchError(f"no timing of the control ({control}); run `dvc repro`")
    return records, read_json(control)


def load(methods: "Methods", results: Path, others: Mapping[int, Path] | None = None) -> Loaded:
    """Read every cell of the run, the control and the timings under ``results``; ``others``:
    the control files of initial models k >= 1, by k."""
    control_path = results / "control.json"
    control = read_json(control_path)
    ControlMetrics.from_json(control, str(control_path))
    controls = {}
    for initial_model, path in (others or {}).items():
        if not path.is_file():
            raise PrunebenchError(
                f"no control of initial model {initial_model} ({path}); run `dvc repro`"
            )
        controls[initial_model] = read_json(path)
        ControlMetrics.from_json(controls[initial_model], str(path))
    evaluated, references = method_directories(results / CELLS.name, methods)
    latency = results / "latency"
    loaded = Loaded(
        control=control,
        evaluated=collect_cells(evaluated, record=CellMetrics),
        references=collect_cells(references, record=CellMetrics),
        timings=collect_timings(latency, methods) if latency.exists() else None,
        others=controls,
    )
    if controls:  # initial model 0's records carry no initial model: their files predate it
        for cell in loaded.evaluated + loaded.references:
            cell.setdefault("initial_model", 0)
    return loaded


def check(loaded: Loaded) -> None:
    """Refuse, in one line, cells that cannot be compared, or timings that cannot be mixed."""
    check_same_footing(loaded.evaluated + loaded.references, loaded.control, loaded.others)
    if loaded.timings is not None:
        check_same_machine(*loaded.timings)


def check_same_machine(records: list[dict], control: Mapping[str, Any]) -> None:
    """Refuse timings taken on two machines, or with two sets of settings, in one line.

    Every cell's record and the control's must carry the same ``hardware`` and ``settings``: a
    speedup is only meaningful against the dense model on the same machine, and one table must
    not put two machines' latencies side by side.
    """
    named = [("the control", control), *((_name(record), record) for record in records)]
    reference_name, reference = named[0]
    for key_group, what in (("hardware", "machines"), ("settings", "timing settings")):
        expected = reference.get(key_group) or {}
        for name, record in named[1:]:
            found = record.get(key_group) or {}
            changed = [
                key
                for key in dict.fromkeys([*expected, *found])
                if expected.get(key) != found.get(key)
            ]
            if changed:
                key = changed[0]
                raise PrunebenchError(
                    f"refusing to mix timings from two {what}: {reference_name} and {name} "
                    f"differ in {key_group} `{key}` ({expected.get(key)!r} vs {found.get(key)!r}); "
                    f"{LATENCY_REMEDY}"
                )


def check_same_footing(
    cells: list[dict],
    control: Mapping[str, Any],
    others: Mapping[int, Mapping[str, Any]] | None = None,
) -> None:
    """Refuse cells that differ from each other or from the control in recipe, model or data.

    With several initial models (``others``: the controls of initial models k >= 1), the cells
    of one initial model share its weights and its control's; recipe and data are shared by all.
    """
    if not cells:
        raise PrunebenchError("no evaluated cells to aggregate; run `dvc repro`")
    controls = {0: control, **(others or {})}
    first = cells[0]
    references: dict[int, dict] = {}
    for cell in cells:
        reference = references.setdefault(cell.get("initial_model") or 0, cell)
        for key, what in FOOTING.items():
            against = reference if key == "pretrained_sha256" else first
            if cell["inputs"].get(key) != against["inputs"].get(key):
                raise PrunebenchError(
                    f"refusing to compare {_name(against)} and {_name(cell)}: they were "
                    f"produced with a different {what} ({_difference(against, cell, key)}); "
                    "run `dvc repro` so that every method is recomputed the same way"
                )
    for initial_model, reference in references.items():
        own = controls.get(initial_model)
        of = f" of initial model {initial_model}" if initial_model else ""
        if own is None:
            raise PrunebenchError(f"no control{of} for {_name(reference)}; run `dvc repro`")
        for key in ("pretrained_sha256", "data_sha256"):
            if own["inputs"][key] != reference["inputs"][key]:
                raise PrunebenchError(
                    f"refusing to compare the cells{of} with the control: they start from a "
                    f"different {FOOTING[key]}; run `dvc repro`"
                )


def _name(cell: Mapping[str, Any]) -> str:
    initial_model = cell.get("initial_model") or 0
    of = f", initial model {initial_model}" if initial_model else ""
    return (
        f"{cell['strategy']} at compression {cell['target_compression']:g}{of}, seed {cell['seed']}"
    )


def _difference(first: Mapping[str, Any], second: Mapping[str, Any], key: str) -> str:
    one, other = first["inputs"][key], second["inputs"].get(key)
    if isinstance(one, dict) and isinstance(other, dict):
        changed = sorted(
            name for name in one.keys() | other.keys() if one.get(name) != other.get(name)
        )
        return ", ".join(f"{name} {one.get(name)!r} vs {other.get(name)!r}" for name in changed)
    return f"{str(one)[:12]} vs {str(other)[:12]}"


def describe_source(source: PretrainedSource) -> str:
    """One phrase for the report: where the initial model came from."""
    if source.kind == "published":
        return f"published weights `{source.name}` (sha256 {source.sha256[:12]}, verified)"
    recipe = source.recipe
    return (
        f"trained in the pipeline (seed {source.seed}, {recipe.optimizer} "
        f"lr {recipe.learning_rate:g}, batch {recipe.batch_size}, best of "
        f"{source.epochs_run} epochs at epoch {source.best_epoch})"
    )


def compute(
    config: AggregateConfig, methods: "Methods", loaded: Loaded, *, source: Path, data: Path
) -> Outputs:
    """Tables, metrics files, figures and the report of a checked run.

    ``source`` is the initial model's ``source.json``; ``data`` the materialised dataset's
    description (its augmentation goes into the report).
    """
    from prunebench.reporting import (
        Pretrained,
        ReportSetup,
        allocation_pairs,
        cells_table,
        compare,
        curves_data,
        details_metrics,
        grouped_table,
        headline_metrics,
        measured_speed,
        plot_accuracy,
        plot_data,
        plot_measured_speedup,
        rejudged,
        render_report,
        speed_metrics,
        verdict_metrics,
    )
    from prunebench.reporting.figures.published import plot_published
    from prunebench.reporting.published import FIGURE_NAME as PUBLISHED_FIGURE
    from prunebench.reporting.published import published_results
    from prunebench.reporting.report.initial_models import initial_model_verdicts
    from prunebench.reporting.speed import FIGURE_NAME

    strategy, control = methods.strategy, loaded.control
    evaluated, references = loaded.evaluated, loaded.references
    # The method under evaluation may also be a baseline: its table rows come from its own
    # cells once, while the comparison pairs them with the baseline's separately computed ones.
    table = cells_table(evaluated + [cell for cell in references if cell["strategy"] != strategy])
    grouped = grouped_table(table)
    per_method = dict(iter(cells_table(references).groupby("strategy"))) if references else {}
    missing = [name for name in [*methods.baselines, *methods.matched] if name not in per_method]
    if missing:
        raise PrunebenchError(f"no results for method {missing[0]!r}; run `dvc repro`")
    reference_cells = {name: per_method[name] for name in [*methods.baselines, *methods.matched]}
    # The method run again as a baseline is a sanity check (it must come out identical), not a
    # comparison: a family of its own keeps it from making the real verdicts stricter.
    families = {name: "matched" for name in methods.matched} | {strategy: "self"}
    evaluated_cells = cells_table(evaluated)
    # Each run is compared with its own initial model's control.
    controls = {k: record["top1"] for k, record in loaded.controls.items()}
    comparisons = compare(
        evaluated_cells,
        reference_cells,
        controls if loaded.others else control["top1"],
        family_names=families,
    )
    # Each matched control against the baseline sharing its choice within a layer, across the
    # curve: the effect of the method's allocation alone, judged as one family.
    pairs = allocation_pairs(methods)
    curves = [
        next(
            comparison
            for comparison in compare(
                reference_cells[name], {baseline: reference_cells[baseline]}, None
            )
            if comparison.point == "auc"
        )
        for name, baseline in pairs
    ]
    allocation = dict(zip([name for name, _ in pairs], rejudged(curves), strict=True))
    speed = (
        None
        if loaded.timings is None
        else measured_speed(
            # Initial model 0's cells are the timed ones (the latency stage).
            *loaded.timings,
            table[table["initial_model"] == 0] if loaded.others else table,
            grouped,
            evaluation_batch=config.evaluation_batch_size,
        )
    )
    metrics = ["top1", "top5"] if control.get("num_classes", 10) > 10 else ["top1"]
    # The figures of the whole run draw one control line: with several initial models, the mean
    # of their controls (each initial model's own figure draws its own).
    drawn_control, control_label = control, "control (unpruned)"
    if loaded.others:
        drawn_control = {
            metric: sum(record[metric] for record in loaded.controls.values())
            / len(loaded.controls)
            for metric in metrics
        }
        control_label = f"control (unpruned), mean of {len(loaded.controls)} initial models"
    outputs = Outputs(
        tables={
            CELLS_TABLE: table,
            AGGREGATE_TABLE: grouped,
            ACCURACY_PLOT: plot_data(table, drawn_control, methods),
            STRATEGY_CURVES_PLOT: curves_data(evaluated, strategy),
        },
        metrics={
            SUMMARY_FILE: headline_metrics(evaluated_cells, grouped, comparisons),
            SPEED_FILE: speed_metrics(speed, strategy),
            DETAILS_FILE: details_metrics(grouped, control, methods, verdict_metrics(comparisons)),
        },
    )

    environment = {
        key: ", ".join(f"{name} {value}" for name, value in entry.items())
        if isinstance(entry, dict)
        else str(entry)
        for key, entry in control.get("provenance", {}).items()
        if key != "params"
    }
    setup = ReportSetup(
        benchmark=config.benchmark,
        dataset=config.dataset,
        model=config.model,
        pretrained=Pretrained(
            source=describe_source(PretrainedSource.read(source)), top1=control["top1"]
        ),
        # Checked above: every cell was finetuned with this recipe.
        finetune=evaluated[0]["inputs"]["recipe"],
        augmentation=read_json(data)["info"]["augmentation"],
        seeds=config.seeds,
        compressions=config.compressions,
        equal_budget=config.equal_budget,
        environment=environment,
    )
    figures = {}
    for metric in metrics:
        for axis in ("compression", "speedup"):
            name = f"{FIGURES}/{metric}_vs_{axis}.png"
            outputs.figures[name] = partial(
                plot_accuracy,
                table,
                drawn_control,
                methods=methods,
                setup=setup,
                x=axis,
                metric=metric,
                control_label=control_label,
            )
            figures[f"{metric} against {axis}"] = name
    # With several initial models, the curves from each one (Blalock et al. 2020, Figure 8).
    several = loaded.controls if loaded.others else {}
    for initial_model, record in several.items():
        name = f"{FIGURES}/{INITIAL_MODEL_FIGURE.format(initial_model)}"
        outputs.figures[name] = partial(
            plot_accuracy,
            table[table["initial_model"] == initial_model],
            record,
            methods=methods,
            setup=replace(setup, model=f"{setup.model} (initial model {initial_model})"),
        )
        figures[f"top1 against compression, initial model {initial_model}"] = name
    speed_figure = f"{FIGURES}/{FIGURE_NAME}"
    if speed is not None:
        outputs.tables[LATENCY_TABLE] = speed.table
        outputs.tables[LATENCY_CELLS_TABLE] = speed.cells
        outputs.figures[speed_figure] = partial(
            plot_measured_speedup, speed, methods=methods, setup=setup
        )
        figures["measured against theoretical speedup"] = speed_figure
    else:
        # Tables and a figure of an earlier run's timings would contradict this report.
        outputs.absent = [LATENCY_TABLE, LATENCY_CELLS_TABLE, speed_figure]
    # The literature's claims on this run's (dataset, architecture), over its measured curve.
    published = published_results(config.benchmark, grouped, control["top1"], strategy)
    published_figure = f"{FIGURES}/{PUBLISHED_FIGURE}"
    if published is not None and not published.claims.empty:
        outputs.figures[published_figure] = partial(
            plot_published, published, table, control, methods=methods, setup=setup
        )
    else:
        outputs.absent.append(published_figure)
    outputs.report = render_report(
        table,
        grouped,
        control,
        setup,
        methods=methods,
        comparisons=comparisons,
        allocation=allocation,
        figures=figures,
        speed=speed,
        published=published,
        initial_models=(
            initial_model_verdicts(table, methods, controls, comparisons, family_names=families)
            if loaded.others
            else None
        ),
    )
    return outputs


def write(outputs: Outputs, results: Path) -> None:
    """Replace aggregate's outputs under ``results`` as one set, and remove those this run no
    longer has.

    Everything is first written to a hidden staging folder beside them (drawing the figures
    takes seconds); only then is each file renamed into place, so a failure or a kill while
    they are computed leaves every output as it was, never old tables beside a new report.
    """
    staging = results / f".{STAGING}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for name, frame in outputs.tables.items():
            _write_csv(staging / name, frame)
        for name, content in outputs.metrics.items():
            atomic_write_bytes(staging / name, json_bytes(content))
        for name, draw in outputs.figures.items():
            draw(staging / name)
        atomic_write_bytes(staging / REPORT_FILE, outputs.report.encode())
        staged = sorted(path for path in staging.rglob("*") if path.is_file())
        for path in staged:
            target = results / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        for name in outputs.absent:
            (results / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def aggregate(config: AggregateConfig, *, results: Path, source: Path, data: Path) -> None:
    """Read the cells under ``results/cells`` and the control; write the tables and report.

    Args:
        config: the resolved aggregate config: the grid, the methods and their properties.
        results: the results folder (``results/``): cells, control and timings are read from
            it, and the outputs written to it.
        source: the initial model's ``source.json``.
        data: the materialised dataset's description (``data/splits/dataset.json``).
    """
    from prunebench.reporting import Methods

    methods = Methods.from_config(config.to_json())
    # The staging folder of a killed run is a leftover too.
    prepare_outputs(*(results / name for name in (*OUTPUTS, STAGING)))
    others = {
        initial_model: initial_model_folder(initial_model, source.parent) / INITIAL_CONTROL
        for initial_model in grid_initial_models(config)
        if initial_model != 0
    }
    loaded = load(methods, results, others)
    check(loaded)
    outputs = compute(config, methods, loaded, source=source, data=data)
    # An earlier run's figures of initial models this run does not have would contradict it.
    outputs.absent += [
        name
        for path in sorted((results / FIGURES).glob(INITIAL_MODEL_FIGURE.format("*")))
        if (name := f"{FIGURES}/{path.name}") not in outputs.figures
    ]
    write(outputs, results)


def _write_csv(path: Path, frame: "pd.DataFrame") -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode())
