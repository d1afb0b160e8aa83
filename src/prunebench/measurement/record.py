"""One result record: the accuracy and cost of a (pruned) model, in the cell-file schema.

The control (``results/control.json``) and every cell (``results/cells/.../metrics.json``) are
measured by this one function, so they are comparable by construction. Schema: docs/design.md.
"""

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from prunebench.foundations.environment import environment
from prunebench.measurement.accuracy import evaluate
from prunebench.measurement.cost import model_metrics

METRICS_BATCH = 64  # real test images whose activations give the nonzero activation memory


def measure(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor] | None,
    dataset,
    *,
    device: torch.device,
    batch_size: int = 1000,
    params: Mapping[str, Any] | None = None,
) -> dict:
    """Test top-1 / top-5 / loss and the paper's size and cost metrics of ``model``.

    ``params`` are the parameters the model was produced from, recorded in its provenance.
    """
    model.to(device)
    accuracy = evaluate(
        model, dataset.batches("test", batch_size=batch_size, device=device), device
    )
    inputs, _ = next(iter(dataset.batches("test", batch_size=METRICS_BATCH, device=device)))
    cost = model_metrics(model, inputs, masks)
    return {
        **accuracy,
        "num_classes": dataset.info.num_classes,
        "params_total": cost["total_params"],
        "params_nonzero": cost["nonzero_params"],
        "compression": cost["compression"],
        "effective_compression": cost["effective_compression"],
        "macs_dense": cost["dense_macs"],
        "macs_nonzero": cost["nonzero_macs"],
        "speedup": cost["theoretical_speedup"],
        "activations_total": cost["activation_memory"],
        "activations_nonzero": cost["nonzero_activation_memory"],
        "provenance": {**environment(device), "params": dict(params or {})},
    }
