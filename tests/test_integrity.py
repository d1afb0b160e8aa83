"""Results that cannot be wrong (issue 19): a strategy is checked, not trusted, and no stage
reports success it did not earn. One group of tests per finding of the issue, each of which
failed before the fix; the findings made with real `dvc` are in test_integrity_pipeline.py.
"""

import math
import os
import pickle
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from params_edit import with_changes

from prunebench.data.cifar import load_cifar_pickle
from prunebench.foundations.environment import choose_device
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_write_bytes, prepare_outputs
from prunebench.models import create_model
from prunebench.pipeline.cells import Cell, CellStore, run_cells
from prunebench.pipeline.params import parse_params
from prunebench.pipeline.records import MaskMetadata
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.off_target import off_target_lines
from prunebench.reporting.report.results import seed_lines
from prunebench.reporting.tables import cells_table
from prunebench.stages.aggregate import Outputs, collect_cells, write
from prunebench.stages.prune import PrunedCell, check_on_target
from prunebench.strategies import Score, Strategy, find_strategy
from prunebench.strategies.contract import check_kept

ROOT = Path(__file__).resolve().parent.parent
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
LENET_PARAMETERS = 431_080  # LeNet-5 (Caffe's) on 10 classes, every parameter counted


def lenet():
    torch.manual_seed(0)
    return create_model("lenet5", 10)


def masks_of(compute, structure="unstructured", **options):
    """The masks of a strategy scoring with the function ``compute``, at compression 4; its
    score is named after the function (``nan_scores`` is the score ``nan``)."""
    score = Score(compute.__name__.removesuffix("_scores"), compute)
    strategy = Strategy(score, "global", structure=structure)
    return strategy.masks(lenet(), 4.0, seed=0, input_shape=(1, 28, 28), **options)


def stage(script: str, *arguments: str, limit_file_size: int | None = None, **variables: str):
    """Run ``stages/<script>`` as DVC would, in this checkout; its completed process."""

    def limit() -> None:  # a full disk, as write() sees it: an error that names no file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), **variables)
    return subprocess.run(
        [sys.executable, f"stages/{script}", *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        preexec_fn=limit if limit_file_size else None,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The stage's only line on stderr, which must be an ``error:`` line with exit status 2."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def resolve_stage(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    return stage(
        "resolve.py", "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "out"),
        **variables,
    )  # fmt: skip


def write_params(tmp_path: Path, **changes) -> None:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_changes(PARAMS, **changes)))


# 1. A strategy can miss its target with no warning.


def subset_scores(inputs):
    first, weight = next(iter(inputs.parameters.items()))
    return {first: weight.detach().abs()}


def nan_scores(inputs):
    return {name: torch.full_like(w, math.nan) for name, w in inputs.parameters.items()}


def list_scores(inputs):
    return [w.detach().abs() for w in inputs.parameters.values()]


def ndarray_scores(inputs):
    return np.zeros(3)


def flat_scores(inputs):
    return {name: w.detach().abs().flatten() for name, w in inputs.parameters.items()}


def extra_scores(inputs):
    return {"conv1.bias": torch.ones(6)} | {n: w.abs() for n, w in inputs.parameters.items()}


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (subset_scores, "score 'subset' leaves out 'conv2.weight': it must score every prunable"),
        (nan_scores, "score 'nan' gives 'conv1.weight' 500 NaN or infinite scores"),
        (list_scores, "score 'list' returned a list; a score returns a dict of one tensor"),
        (ndarray_scores, "score 'ndarray' returned a ndarray"),
        (
            flat_scores,
            "gives 'conv1.weight' scores of shape (500,), but the weight has shape (20, 1, 5, 5)",
        ),
        (extra_scores, "score 'extra' scores 'conv1.bias', which is not a prunable weight"),
    ],
)
def test_scores_that_break_the_contract_are_refused_naming_the_score(score, message):
    with pytest.raises(PrunebenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        masks_of(score)


def channel_nan_scores(inputs):
    return [math.nan] * len(inputs.groups)


def channel_short_scores(inputs):
    return [1.0]


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (channel_nan_scores, "score 'channel_nan' gives channel group 0 .* must be finite"),
        (channel_short_scores, r"score 'channel_short' returned 1 scores for \d+ channel groups"),
    ],
)
def test_channel_scores_that_break_the_contract_are_refused_naming_the_score(score, message):
    with pytest.raises(PrunebenchError, match=message):
        masks_of(score, structure="channel")


def test_masks_that_keep_another_count_than_the_target_are_refused():
    masks = {"w": torch.tensor([True, True, False, True])}
    check_kept(masks, 3)
    with pytest.raises(PrunebenchError, match="keep 3 prunable weights where the target keeps"):
        check_kept(masks, 4)


def pruned(target: float, achieved: float) -> PrunedCell:
    metadata = MaskMetadata(
        strategy="probes.subset:strategy",
        target_compression=target,
        achieved_compression=achieved,
        seed=0,
        prune={},
    )
    return PrunedCell({}, metadata, [])


def test_a_cell_off_its_target_compression_is_refused_by_the_prune_stage():
    total = LENET_PARAMETERS
    check_on_target(pruned(32, total / 13471), total, slack=0, scheduled=False)  # round(total/32)
    with pytest.raises(PrunebenchError) as refusal:
        check_on_target(pruned(32, 1.0), total, slack=0, scheduled=False)
    assert str(refusal.value) == (
        "achieved compression 1 is off the target 32: the masks leave 431080 of 431080 "
        "parameters nonzero, the target 13471"
    )
    # A channel strategy may miss by one group; a schedule's first masks may prune less.
    check_on_target(pruned(32, total / (13471 + 400)), total, slack=500, scheduled=False)
    check_on_target(pruned(32, 1.0), total, slack=0, scheduled=True)
    with pytest.raises(PrunebenchError, match="the target 13471 to 431080$"):
        check_on_target(pruned(32, total / 1000), total, slack=0, scheduled=True)


def test_an_option_given_as_nan_is_refused(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "strategies"))
    fan_in = find_strategy("mylab.fan_in:strategy")
    assert fan_in.parse_options({"power": 1.0}).power == 1.0
    with pytest.raises(PrunebenchError, match=r"^prune.options.power is NaN; give a number$"):
        fan_in.parse_options({"power": math.nan})


def test_the_report_names_and_marks_a_cell_off_its_target():
    def record(seed, compression):
        return {"strategy": "lamp", "target_compression": 32.0, "seed": seed, "top1": 0.8,
                "top5": 0.9, "loss": 0.5, "compression": compression,
                "effective_compression": compression, "speedup": 2.0}  # fmt: skip

    methods = Methods(strategy="lamp", baselines=())
    on_target = cells_table([record(0, 32.005), record(1, 32.005)])
    assert off_target_lines(on_target, methods) == []
    assert "†" not in "\n".join(seed_lines(on_target, methods))
    missed = cells_table([record(0, 32.005), record(1, 1.0)])
    warning = off_target_lines(missed, methods)[0]
    assert warning.startswith("**Off target:** 1 cell(s) achieved a compression more than 1% ")
    assert "at 32× seed 1 (achieved 1.00×)" in warning
    assert "| 32 | 80.00 | 80.00 † |" in "\n".join(seed_lines(missed, methods))


# 2. sys.exit() in strategy code makes a stage exit 0 without writing anything.


def exiting_scores(inputs):
    sys.exit()


def test_sys_exit_in_a_score_is_refused_naming_the_score():
    with pytest.raises(PrunebenchError, match=r"^score 'exiting' raised SystemExit: it called sys"):
        masks_of(exiting_scores)


def test_a_strategy_named_sys_exit_is_refused_by_the_resolve_stage(tmp_path):
    write_params(tmp_path, strategy="sys:exit")
    assert one_error_line(resolve_stage(tmp_path)) == (
        "error: strategy 'sys:exit' is a builtin_function_or_method, not a prunebench Strategy, "
        "and calling it with no arguments failed (SystemExit: it called sys.exit())"
    )
    assert not (tmp_path / "out").exists()


def test_a_stage_with_no_cells_to_compute_does_not_succeed(tmp_path):
    with pytest.raises(PrunebenchError, match="finetune strategy: no cells to compute"):
        run_cells(CellStore(tmp_path), [], str, lambda cell, staging: None, "finetune strategy")


# 3. A misspelled top-level params key is ignored (resolve now depends on the whole file:
# tests/test_config.py; with real dvc: test_integrity_pipeline.py).


def test_an_unknown_params_key_is_refused_naming_the_valid_ones():
    with pytest.raises(PrunebenchError, match="unknown params key 'compresions'; valid keys: "):
        parse_params(PARAMS | {"compresions": [4]})


# 4. Two targets can become one cell.


def test_targets_that_would_share_a_cell_are_refused():
    with pytest.raises(PrunebenchError, match=r"compressions 2 and 2.0000001 would share the cell "
                       r"c2 \(cells are named to 6 significant digits\)"):  # fmt: skip
        parse_params(with_changes(PARAMS, compressions=[2, 2.0000001]))
    assert parse_params(with_changes(PARAMS, compressions=[2, 2.00001])).compressions[1] == 2.00001


# 5. `null` where a number is expected is a traceback.


@pytest.mark.parametrize(
    "key",
    [
        "evaluate__batch_size",
        "latency__repeats",
        "latency__warmup",
        "prune__score_batches",
        "data__split_seed",
        "pretrained__seed",
        "prune__include_classifier",
    ],
)
def test_null_is_refused_where_a_value_is_required(key):
    name = key.replace("__", ".")
    with pytest.raises(PrunebenchError, match=f"^{name} is null where a value is required$"):
        parse_params(with_changes(PARAMS, **{key: None}))


def test_null_is_kept_where_the_field_is_optional():
    params = parse_params(
        with_changes(PARAMS, data__validation_size=None, latency__batch_sizes=None)
    )
    assert params.data.validation_size is None and params.latency.batch_sizes is None


def test_the_resolve_stage_refuses_a_null_in_one_line(tmp_path):
    write_params(tmp_path, evaluate__batch_size=None)
    assert one_error_line(resolve_stage(tmp_path)) == (
        "error: evaluate.batch_size is null where a value is required"
    )


# 6. Leftovers of a kill.


def test_a_stage_removes_what_a_killed_writer_left_of_its_outputs(tmp_path):
    figures, report = tmp_path / "figures", tmp_path / "report.md"
    leftovers = [
        tmp_path / ".report.md.k2j4h6g8",  # atomic_file's temporary beside an output file
        figures / ".top1_vs_compression.png.ab_3cd9z.png",  # ... inside an output folder
        tmp_path / ".figures.partial-4242",  # atomic_directory's staging folder
        tmp_path / ".figures.retired-4242",
    ]
    kept = [figures / "top1_vs_compression.png", tmp_path / ".gitignore", tmp_path / "notes.md"]
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x") if "partial" not in path.name else path.mkdir()
    prepare_outputs(report, figures)
    assert [path for path in leftovers if path.exists()] == []
    assert all(path.exists() for path in kept)


def test_aggregate_replaces_its_outputs_as_one_set(tmp_path):
    """A failure while the outputs are computed (here a figure that cannot be drawn) leaves
    every output of the previous run as it was, not new tables beside an old report."""
    before = {"cells.csv": b"old table\n", "summary.json": b"{}\n", "report.md": b"old report\n"}
    for name, payload in before.items():
        (tmp_path / name).write_bytes(payload)

    def broken_figure(path: Path) -> None:
        raise OSError(28, "No space left on device", str(path))

    outputs = Outputs(
        tables={"cells.csv": pd.DataFrame({"a": [1]})},
        metrics={"summary.json": {"new": 1}},
        figures={"figures/top1.png": broken_figure},
        report="new report\n",
    )
    with pytest.raises(OSError):
        write(outputs, tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(before)

    outputs.figures = {"figures/top1.png": lambda path: atomic_write_bytes(path, b"png")}
    write(outputs, tmp_path)
    assert (tmp_path / "report.md").read_text() == "new report\n"
    assert (tmp_path / "cells.csv").read_text() == "a\n1\n"
    assert (tmp_path / "figures/top1.png").read_bytes() == b"png"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*before, "figures"])


# 7. A cell with a valid manifest but unreadable content never heals.


def test_a_cell_that_passes_its_digests_but_not_its_content_check_names_the_folder(tmp_path):
    store = CellStore(tmp_path / "strategy")
    cell = Cell(32.0, 0)
    with store.writing(cell, "fingerprint") as staging:
        (staging / "metrics.json").write_text("{not json")  # a writer bug, digests and all
    folder = store.path(cell)
    with pytest.raises(PrunebenchError) as refusal:
        collect_cells({"lamp": store.root})
    assert str(refusal.value).startswith(f"{folder}/metrics.json is not valid JSON")
    assert str(refusal.value).endswith(
        f"; the cell matches the digests it was written with, so a re-run keeps it: delete "
        f"{folder} and run `dvc repro` to recompute it"
    )


# 8. More tracebacks where one line was promised.


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("gpu0", "PRUNEBENCH_DEVICE='gpu0' is not a valid choice; valid choices: auto, cpu, cuda"),
        ("cuda:99", "PRUNEBENCH_DEVICE='cuda:99', but torch sees "),
    ],
)
def test_a_device_that_is_not_there_is_refused_before_any_work(requested, message):
    with pytest.raises(PrunebenchError, match=message.replace("(", r"\(")):
        choose_device(requested)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_a_gpu_is_refused_by_a_stage():
    result = stage("prune.py", "--method", "lamp", "--out", "unused", PRUNEBENCH_DEVICE="cuda")
    assert one_error_line(result) == (
        "error: PRUNEBENCH_DEVICE='cuda', but torch sees no CUDA device on this machine; "
        "use cpu or auto"
    )


def test_an_invalid_cpu_numerics_setting_is_one_line(tmp_path):
    result = stage("resolve.py", "--out", str(tmp_path), PRUNEBENCH_CPU_NUMERICS="fast")
    assert one_error_line(result) == (
        "error: PRUNEBENCH_CPU_NUMERICS='fast' is not a valid choice; valid choices: pinned, native"
    )


class HugeArray:
    """Unpickles as an ndarray of 9 TiB: a header may claim any size."""

    def __reduce__(self):
        from prunebench.data.cifar import _reconstruct

        return _reconstruct, (np.ndarray, (9 * 2**40,), b"B")


def test_a_cifar_pickle_asking_for_9_tib_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": HugeArray(), "labels": [0]}, protocol=4))
    with pytest.raises(PrunebenchError, match=f"^{path} is not a readable CIFAR batch: "):
        load_cifar_pickle(path)


def test_a_full_disk_is_reported_with_the_path_being_written(tmp_path):
    write_params(tmp_path)
    result = resolve_stage(tmp_path, limit_file_size=150)  # the first, fetch_data.json, is larger
    line = one_error_line(result)
    assert line.startswith(f"error: cannot write or read {tmp_path / 'out'}/"), line
    assert line.endswith(".json: File too large"), line
    # Nothing half-written is left under a name a later stage reads, nor hidden beside it.
    assert [path.name for path in (tmp_path / "out").iterdir()] == []


# 9. Docs.


def test_a_strategy_module_not_found_says_a_queued_experiment_needs_it_in_git():
    with pytest.raises(PrunebenchError, match=r"\(a queued experiment, `dvc exp run --queue`, "
                       r"sees only files git tracks: `git add` it first\)"):  # fmt: skip
        find_strategy("nolab_integrity.scores:strategy")


def test_the_readme_says_params_are_code_and_queued_strategies_need_git():
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "params.yaml names code that runs" in readme
    assert "run only params, strategies and queued experiments you trust" in readme
    assert "`git add` its file before `dvc exp run --queue`" in readme
