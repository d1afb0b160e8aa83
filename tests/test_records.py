"""Typed records: every record written to disk survives its JSON round trip unchanged, keeps the
files' key names, and a malformed one is refused in one line naming the file and the field."""

import json
from pathlib import Path

import pytest

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.cells import CellManifest
from prunebench.pipeline.records import (
    Budget,
    CellMetrics,
    ControlMetrics,
    MaskMetadata,
    PretrainedSource,
    TrainingSummary,
)
from prunebench.training.recipe import LearningRateSchedule, Optimizer, Recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPE = {
    "batch_size": 64,
    "epochs": 1,
    "learning_rate": 0.0003,
    "momentum": 0.9,
    "nesterov": False,
    "optimizer": "adam",
    "patience": 1,
    "schedule": "fixed",
    "steps_per_epoch": 80,
    "weight_decay": 0.0,
}
PROVENANCE = {
    "cpu": "AMD EPYC",
    "cpu_capability": "AVX2",
    "cpu_numerics": {"mode": "pinned"},
    "device": "cpu",
    "params": {"benchmark": "b"},
    "prunebench": "0.1.0",
    "python": "3.11.7",
    "threads": "2",
    "torch": "2.15.0",
}
MEASURED = {
    "activations_nonzero": 3219.0,
    "activations_total": 4964.0,
    "compression": 2.0,
    "effective_compression": 2.0,
    "loss": 0.33,
    "macs_dense": 2293000,
    "macs_nonzero": 1844517.0,
    "num_classes": 10,
    "params_nonzero": 215540,
    "params_total": 431080,
    "speedup": 1.24,
    "top1": 0.88,
    "top5": 0.99,
    "provenance": PROVENANCE,
}
HISTORY = [
    {
        "epoch": 1,
        "train_loss": 0.18,
        "train_top1": 0.9,
        "validation_loss": 0.3,
        "validation_top1": 0.888,
        "validation_top5": 0.99,
    }
]
CELL = {
    **MEASURED,
    "strategy": "lamp",
    "target_compression": 2.0,
    "seed": 0,
    "budget": {"epochs": 1, "steps": 80, "rounds": 1},
    "schedule": "one_shot",
    "finetune": {
        "best_epoch": 1,
        "best_validation_top1": 0.888,
        "epochs_run": 1,
        "history": HISTORY,
    },
    "inputs": {"recipe": RECIPE, "pretrained_sha256": "ab", "data_sha256": "cd"},
}


def test_the_committed_control_record_reads_and_writes_back_byte_for_byte():
    path = ROOT / "results" / "control.json"
    record = ControlMetrics.read(path)
    assert record.strategy == "control"
    assert record.provenance.cpu_numerics["mode"] == "pinned"
    assert json.dumps(record.to_json(), sort_keys=True, indent=2) + "\n" == path.read_text()


def test_a_cell_metrics_record_round_trips_with_the_files_key_names():
    record = CellMetrics.from_json(CELL)
    assert record.to_json() == CELL
    assert record.inputs.recipe.optimizer is Optimizer.ADAM
    assert record.budget == Budget(epochs=1, steps=80, rounds=1)


@pytest.mark.parametrize(
    ("record_type", "content"),
    [
        (Recipe, RECIPE),
        (
            MaskMetadata,
            {
                "strategy": "lamp",
                "target_compression": 4.0,
                "seed": 1,
                "achieved_compression": 4.0,
                "prune": {"score_batches": 1},
                "options": {},
                "schedule": "one_shot",
            },
        ),
        (
            MaskMetadata,
            {
                "strategy": "matched_mag",
                "target_compression": 4.0,
                "seed": 1,
                "achieved_compression": 3.99,
                "prune": {},
                "matched_to": "lamp",
            },
        ),
        (
            TrainingSummary,
            {
                "strategy": "lamp",
                "target_compression": 2.0,
                "seed": 0,
                "recipe": RECIPE,
                "pretrained_sha256": "ab",
                "data_sha256": "cd",
                "budget": {"epochs": 1, "steps": 80, "rounds": 1},
                "epochs_run": 1,
                "best_epoch": 1,
                "best_validation_top1": 0.9,
                "history": HISTORY,
            },
        ),
        (PretrainedSource, {"kind": "published", "name": "n", "sha256": "ab"}),
        (
            PretrainedSource,
            {
                "kind": "trained in the pipeline",
                "recipe": RECIPE,
                "seed": 0,
                "epochs_run": 3,
                "best_epoch": 2,
                "best_validation_top1": 0.8,
            },
        ),
        (CellManifest, {"fingerprint": "ab", "files": {"model.safetensors": "cd"}}),
    ],
)
def test_every_record_round_trips_and_leaves_out_what_a_file_never_had(record_type, content):
    assert record_type.from_json(content).to_json() == content


def test_a_matched_controls_masks_are_one_shot_without_saying_so():
    metadata = MaskMetadata.from_json(
        {
            "strategy": "matched_mag",
            "target_compression": 4.0,
            "seed": 1,
            "achieved_compression": 4.0,
            "prune": {},
        }
    )
    assert metadata.schedule is None
    assert metadata.pruning_schedule == "one_shot"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "weekly"}, "cell.json.schedule is 'weekly'; valid choices: one_shot"),
        ({"seed": "zero"}, "cell.json.seed must be a whole number, got 'zero'"),
        ({"extra": 1}, "cell.json has an unknown field 'extra'"),
        ({"inputs": {"recipe": RECIPE}}, "cell.json.inputs lacks the field 'pretrained_sha256'"),
        ({"top1": None}, "cell.json.top1 is null where a value is required"),
    ],
)
def test_a_malformed_record_is_refused_naming_the_file_and_the_field(change, message):
    with pytest.raises(PrunebenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CellMetrics.from_json({**CELL, **change}, "cell.json")


def test_a_recipe_names_its_learning_rate_schedule_and_refuses_an_unknown_one():
    assert Recipe(schedule="cosine").schedule is LearningRateSchedule.COSINE
    with pytest.raises(PrunebenchError, match="unknown schedule 'linear'; valid choices: fixed"):
        Recipe(schedule="linear")
