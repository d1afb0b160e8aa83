"""Measure a model: its accuracy and cost on the test split, and what produced it.

The control (``results/control.json``) and every cell (``results/cells/.../metrics.json``) are
measured by :func:`measure`, so they are comparable by construction. The pipeline adds what the
cell is (``prunebench.pipeline.records``).
"""

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from prunebench.foundations.environment import environment
from prunebench.measurement.accuracy import evaluate
from prunebench.measurement.cost import model_cost
from prunebench.measurement.records import ModelMetrics, Provenance

METRICS_BATCH = 64  # real test images whose activations give the nonzero activation memory


def measure(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None,
    dataset,
    *,
    device: torch.device,
    batch_size: int = 1000,
    params: Mapping[str, Any] | None = None,
) -> ModelMetrics:
    """Test top-1 / top-5 / loss and the paper's size and cost metrics of ``model``.

    Args:
        model: the model, pruned weights zero (or ``masks`` given).
        masks: masks to measure a masked copy with, or None.
        dataset: the materialised dataset; its test split is read.
        device: where to run.
        batch_size: the evaluation batch.
        params: what the model was produced from, recorded in its provenance.
    """
    model.to(device)
    accuracy = evaluate(
        model, dataset.batches("test", batch_size=batch_size, device=device), device
    )
    inputs, _ = next(iter(dataset.batches("test", batch_size=METRICS_BATCH, device=device)))
    cost = model_cost(model, inputs, masks)
    provenance = Provenance.extend(environment(device), params=dict(params or {}))
    return ModelMetrics(
        **accuracy.to_json(),
        **cost.to_json(),
        num_classes=dataset.info.num_classes,
        provenance=provenance,
    )
