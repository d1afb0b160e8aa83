"""What a model's metrics record holds, typed: accuracy, cost and provenance.

These types import no torch, so that reading a record (the aggregate stage reads every cell's) does
not pay for it; the measuring is in ``accuracy`` (:class:`Accuracy`), ``cost``
(:class:`ModelCost`) and ``measure`` (:class:`ModelMetrics`).
"""

from dataclasses import dataclass, field
from typing import Any

from prunebench.foundations.environment import Environment
from prunebench.foundations.typed import Record


@dataclass(frozen=True)
class Accuracy(Record):
    """How well a model does on a split: fractions correct, and the mean cross-entropy."""

    top1: float
    top5: float
    """Top-5, or top-``num_classes`` for a model with fewer than five classes."""
    loss: float


@dataclass(frozen=True)
class ModelCost(Record):
    """What a model costs, under the names its metrics record gives them."""

    params_total: int
    params_nonzero: int
    compression: float
    """``params_total / params_nonzero``."""
    effective_compression: float
    macs_dense: int
    macs_nonzero: float
    speedup: float
    """The theoretical speedup: ``macs_dense / macs_nonzero``."""
    activations_total: float
    """Activation memory per sample (values fed into layers with parameters)."""
    activations_nonzero: float


@dataclass(frozen=True)
class Provenance(Environment):
    """The environment a result was produced in, and the params it was produced from."""

    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelMetrics(Accuracy, ModelCost):
    """Test accuracy (``Accuracy``) and cost (``ModelCost``) of a model, with its provenance.

    The fields are flat, as in the files: ``top1``, ``top5``, ``loss``, ``params_total``, ...
    """

    described_as = "metrics record"

    num_classes: int
    provenance: Provenance
