"""Pruning strategies: a score and an allocation, composed and registered by name.

The paper's taxonomy, as code. A strategy is

- a **score** (``scores.py``): how important each prunable weight is, higher keeps;
- an **allocation** (``allocation.py``): global (the highest scores anywhere) or layerwise (the
  same fraction of every layer), keeping exactly the number of weights the target compression
  allows;
- a **structure**: which weights are pruned together. Every strategy so far is unstructured (each
  weight on its own); channel pruning will pool scores per output channel before allocating.

Adding a strategy: write its score function in ``scores.py`` (a function of :class:`ScoreInputs`
returning one tensor per weight) and register it below with an allocation, e.g.::

    STRATEGIES.add("global_snip", Strategy(snip_scores, global_allocation, needs_batches=True))

Entry point: :func:`compute_masks`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from prunebench.errors import PrunebenchError
from prunebench.masks import MaskSet, prunable_parameters
from prunebench.registry import Registry
from prunebench.strategies.allocation import global_allocation, keep_count, layerwise_allocation
from prunebench.strategies.scores import (
    Batch,
    LossFunction,
    ScoreInputs,
    Scores,
    activation_scores,
    gradient_scores,
    lamp_scores,
    magnitude_scores,
    random_scores,
)


@dataclass(frozen=True)
class Strategy:
    """A score function, an allocation, and whether the score needs minibatches of data."""

    score: Callable[[ScoreInputs], Scores]
    allocation: Callable[[Scores, int], MaskSet]
    needs_batches: bool = False


STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.add("random", Strategy(random_scores, global_allocation))
STRATEGIES.add("global_mag", Strategy(magnitude_scores, global_allocation))
STRATEGIES.add("layer_mag", Strategy(magnitude_scores, layerwise_allocation))
STRATEGIES.add("global_grad", Strategy(gradient_scores, global_allocation, needs_batches=True))
STRATEGIES.add("layer_grad", Strategy(gradient_scores, layerwise_allocation, needs_batches=True))
STRATEGIES.add("global_act", Strategy(activation_scores, global_allocation, needs_batches=True))
STRATEGIES.add("layer_act", Strategy(activation_scores, layerwise_allocation, needs_batches=True))
STRATEGIES.add("lamp", Strategy(lamp_scores, global_allocation))


def compute_masks(
    model: nn.Module,
    strategy: str,
    compression: float,
    *,
    seed: int,
    batches: Iterable[Batch] | None = None,
    include_classifier: bool = False,
    loss_function: LossFunction = F.cross_entropy,
) -> MaskSet:
    """Masks for ``model`` from the registered ``strategy`` at target ``compression``.

    ``compression`` is total / nonzero parameters over the whole model (SPEC); exactly
    ``keep_count(...)`` prunable weights are kept, on the model's device. Every check of the
    arguments (strategy name, compression, batches given) happens before any scoring.

    ``batches`` are ``(images, labels)`` minibatches for the data-dependent strategies (gradient,
    activation), used all and only: the caller decides how many (params ``prune.gradient_batches``,
    one by default as in the paper) and draws them deterministically from ``seed``. ``seed``
    itself seeds the ``random`` strategy. The model is left as it was: weights, batch-norm
    statistics, ``.grad`` and train/eval mode.
    """
    chosen = STRATEGIES[strategy]
    parameters = prunable_parameters(model, include_classifier=include_classifier)
    if not parameters:
        raise PrunebenchError(f"model {type(model).__name__} has no prunable weights")
    count = keep_count(model, parameters, compression)
    if chosen.needs_batches and batches is None:
        raise PrunebenchError(f"strategy {strategy!r} scores weights from data: pass batches")
    scores = chosen.score(ScoreInputs(model, parameters, seed, batches, loss_function))
    return chosen.allocation(scores, count)


__all__ = [
    "STRATEGIES",
    "ScoreInputs",
    "Strategy",
    "compute_masks",
    "global_allocation",
    "keep_count",
    "layerwise_allocation",
]
