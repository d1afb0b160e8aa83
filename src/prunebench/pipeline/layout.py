"""Every file and folder name of the pipeline's outputs, in one place (OpenLTH's ``paths.py``).

``dvc.yaml`` spells the same paths, because DVC reads them there; ``tests/test_layout.py`` checks
that each stage's outputs and inputs in ``dvc.yaml`` are the ones named here.

The method folders: a method's cells live under ``models/<folder>/masks`` (prune),
``models/<folder>/finetuned`` (finetune), ``results/cells/<folder>`` (evaluate) and
``results/latency/<folder>`` (latency), where ``<folder>`` is ``strategy`` for the method under
evaluation, ``baselines/<name>`` for a baseline and ``matched/<name>`` for a matched control
(:func:`method_folder`). The method under evaluation has a folder of its own, not named after
it, so that ``dvc exp run -S strategy=NAME`` re-runs exactly its stages.
"""

from enum import StrEnum
from pathlib import Path

# Inside a cell's folder.
MANIFEST_FILE = "cell.json"
"""The cell's fingerprint and the sha256 of every other file in it (``pipeline.cells``)."""
MASKS_FILE = "masks.safetensors"
"""Prune: the cell's masks with their metadata; finetune: the final masks beside the model."""
LAYERS_FILE = "layers.csv"
"""Prune: the masked model's per-layer table."""
MODEL_FILE = "model.safetensors"
"""Finetune: the finetuned model, masks folded in; fetch_pretrained: the initial model."""
TRAINING_FILE = "training.json"
"""Finetune: how the cell was trained (``pipeline.records.TrainingSummary``)."""
CURVES_FOLDER = "live"
"""Finetune and fetch_pretrained: dvclive's per-epoch curves."""
METRICS_FILE = "metrics.json"
"""Evaluate: the cell's metrics record (``measurement.records``)."""
LATENCY_FILE = "latency.json"
"""Latency: the cell's latency record (``measurement.latency.records``)."""

# Top-level folders and files.
RESOLVED = Path("resolved")
"""What each stage reads of params.yaml: ``resolved/<stage>.json``."""
DATA_SPLITS = Path("data/splits")
MODELS = Path("models")
PRETRAINED = MODELS / "pretrained"
PRETRAINED_MODEL = PRETRAINED / MODEL_FILE
"""Initial model 0's weights (:func:`initial_model_file`: the others')."""
PRETRAINED_SOURCE = PRETRAINED / "source.json"
INITIAL_CONTROL = "control.json"
"""The control's metrics record of initial model k >= 1, beside its weights (initial model 0's
is ``results/control.json``, committed with the default run)."""
RESULTS = Path("results")
CONTROL_METRICS = RESULTS / "control.json"
"""The unpruned control's metrics record."""
CELLS = RESULTS / "cells"
LATENCY = RESULTS / "latency"
CONTROL_LATENCY = "control.json"
"""The unpruned control's timing record, under ``results/latency``."""

# What aggregate writes under results/.
SUMMARY_FILE = "summary.json"
"""The headline metrics DVC shows (``dvc exp show``, ``dvc metrics diff``)."""
SPEED_FILE = "speed.json"
"""The measured-speed headline, a second DVC metrics file: timings are the machine's."""
DETAILS_FILE = "details.json"
"""Every per-compression, per-method statistic and verdict: a plain output, not a DVC metric."""
CELLS_TABLE = "cells.csv"
AGGREGATE_TABLE = "aggregate.csv"
LATENCY_TABLE = "latency.csv"
LATENCY_CELLS_TABLE = "latency_cells.csv"
REPORT_FILE = "report.md"
FIGURES = "figures"
PLOTS = "plots"
ACCURACY_PLOT = "plots/accuracy.csv"
STRATEGY_CURVES_PLOT = "plots/strategy_curves.csv"

# The leaderboard pipeline (leaderboard/dvc.yaml): every method ranked on the default benchmark.
# Its models are not under models/, since the default pipeline's latency stage depends on the
# whole of models/ and would then re-time whenever the leaderboard ran.
LEADERBOARD = Path("leaderboard")
LEADERBOARD_PARAMS = LEADERBOARD / "params.yaml"
LEADERBOARD_RESOLVED = LEADERBOARD / "resolved"
LEADERBOARD_MODELS = LEADERBOARD / "models"
LEADERBOARD_RESULTS = RESULTS / "leaderboard"
LEADERBOARD_CELLS = LEADERBOARD_RESULTS / "cells"
LEADERBOARD_LATENCY = LEADERBOARD_RESULTS / "latency"
LEADERBOARD_FIGURES = LEADERBOARD_RESULTS / "figures"
LEADERBOARD_PAGE = RESULTS / "leaderboard.md"


class Role(StrEnum):
    """A method's part in a run, which decides its folder."""

    EVALUATED = "strategy"
    """The method under evaluation (params ``strategy``)."""
    BASELINE = "baselines"
    """A reference method (params ``baselines``), computed once and reused."""
    MATCHED = "matched"
    """A matched control of the method under evaluation (params ``matched_controls``)."""


def method_folder(role: Role, name: str) -> str:
    """``"strategy"``, ``"baselines/NAME"`` or ``"matched/NAME"``: a method's folder.

    Example::

        >>> method_folder(Role.BASELINE, "random")
        'baselines/random'
    """
    return role.value if role is Role.EVALUATED else f"{role.value}/{name}"


def masks_folder(folder: str, models: Path = MODELS) -> Path:
    """Where the prune stage writes a method's cells."""
    return models / folder / "masks"


def finetuned_folder(folder: str, models: Path = MODELS) -> Path:
    """Where the finetune stage writes a method's cells."""
    return models / folder / "finetuned"


def initial_model_folder(initial_model: int, pretrained: Path = PRETRAINED) -> Path:
    """Where fetch_pretrained writes initial model ``initial_model``: ``models/pretrained`` for
    initial model 0 (the default run's path, unchanged), ``models/pretrained/i<k>`` for the others.
    Inside the one output folder, so DVC tracks every initial model as it always tracked one."""
    return pretrained if initial_model == 0 else pretrained / f"i{initial_model}"


def initial_model_file(model: Path, initial_model: int) -> Path:
    """The weights of initial model ``initial_model``, given ``model``: initial model 0's file
    (``models/pretrained/model.safetensors``, what the per-cell stages are passed)."""
    return initial_model_folder(initial_model, model.parent) / model.name


def resolved_file(stage: str, resolved: Path = RESOLVED) -> Path:
    """``resolved/<stage>.json``: what ``stage`` reads of params.yaml."""
    return resolved / f"{stage}.json"
