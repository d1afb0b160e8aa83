"""Pruning strategies, registered by name; a researcher's own named ``package.module:attribute``.

A strategy (:class:`Strategy`, ``strategy.py``) is a score, an allocation, a structure and a
pruning schedule, with its own hyperparameters (``options.py``):

- scores (:class:`Score`, ``score.py``): how important each weight (``weight_scores.py``,
  ``synflow.py``) or channel group (``channel_scores.py``) is, higher keeps, under an explicit
  name that reports use;
- allocations (``allocation.py``): global or layerwise, exact top-k; channel groups are selected
  towards the target in ``channel_selection.py``;
- structures: unstructured, or channel (whole output channels, ``prunebench.sparsity.channels``);
- pruning schedules: one-shot, iterative or gradual (``schedules.py``, run while finetuning).

Adding a strategy of a known shape is one line below, e.g. with a new score::

    SNIP = Score("snip", snip_scores, needs_batches=True)
    STRATEGIES.add("global_snip", Strategy(SNIP, GLOBAL))

or, without editing prunebench, a ``Strategy`` in the researcher's own module, named in params as
``strategy: mylab.taylor:strategy`` (:func:`find_strategy`; ``external.py``). The matched controls
of the method under evaluation are registered in ``matched.py``.

Entry points: :func:`find_strategy`, :meth:`Strategy.masks`, :func:`compute_masks`.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.registry import Registry
from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.sparsity.masks import MaskSet
from prunebench.strategies.allocation import global_allocation, keep_count, layerwise_allocation
from prunebench.strategies.channel_scores import CHANNEL_BN, CHANNEL_L1, CHANNEL_RANDOM
from prunebench.strategies.options import GradualOptions, IterativeOptions, NoOptions
from prunebench.strategies.score import Batch, LossFunction, Score, ScoreInputs
from prunebench.strategies.strategy import Strategy
from prunebench.strategies.synflow import SYNFLOW, SynflowOptions
from prunebench.strategies.weight_scores import ACTIVATION, GRADIENT, LAMP, MAGNITUDE, RANDOM

# The taxonomy's words the table below uses, so that each method fits on one line.
GLOBAL, LAYERWISE, CHANNEL = Allocation.GLOBAL, Allocation.LAYERWISE, Structure.CHANNEL

STRATEGIES: Registry[Strategy] = Registry("strategy")
# The paper's baselines (section 7.2) and ShrinkBench's activation scores.
STRATEGIES.add("random", Strategy(RANDOM, GLOBAL))
STRATEGIES.add("global_mag", Strategy(MAGNITUDE, GLOBAL))
STRATEGIES.add("layer_mag", Strategy(MAGNITUDE, LAYERWISE))
STRATEGIES.add("global_grad", Strategy(GRADIENT, GLOBAL))
STRATEGIES.add("layer_grad", Strategy(GRADIENT, LAYERWISE))
STRATEGIES.add("global_act", Strategy(ACTIVATION, GLOBAL))
STRATEGIES.add("layer_act", Strategy(ACTIVATION, LAYERWISE))
# Layer-adaptive magnitude (Lee et al., ICLR 2021).
STRATEGIES.add("lamp", Strategy(LAMP, GLOBAL))
# Whole channels: random; the L1 of filters (Li et al., ICLR 2017), the same fraction of every
# layer or normalised per layer and global; network slimming's |batch-norm scale| (Liu et al.,
# ICCV 2017).
STRATEGIES.add("random_channel", Strategy(CHANNEL_RANDOM, GLOBAL, CHANNEL))
STRATEGIES.add("layer_channel_l1", Strategy(CHANNEL_L1, LAYERWISE, CHANNEL))
STRATEGIES.add("global_channel_l1", Strategy(CHANNEL_L1, GLOBAL, CHANNEL))
STRATEGIES.add("global_channel_bn", Strategy(CHANNEL_BN, GLOBAL, CHANNEL))
# Data-free, iterative in its scoring (Tanaka et al., NeurIPS 2020).
STRATEGIES.add("synflow", Strategy(SYNFLOW, GLOBAL, options=SynflowOptions))
# Pruning while training: iterative magnitude pruning; gradual magnitude pruning (Zhu & Gupta).
STRATEGIES.add("imp", Strategy(MAGNITUDE, GLOBAL, pruning_schedule=PruningSchedule.ITERATIVE))
STRATEGIES.add("gmp", Strategy(MAGNITUDE, LAYERWISE, pruning_schedule=PruningSchedule.GRADUAL))


def is_external(name: str) -> bool:
    """Whether ``name`` is a ``package.module:attribute`` reference rather than a registry key."""
    return isinstance(name, str) and ":" in name


def find_strategy(name: str) -> Strategy:
    """The strategy called ``name``: a registry key, or ``package.module:attribute`` naming a
    :class:`Strategy` (or a function returning one) in any importable module."""
    if is_external(name):
        from prunebench.strategies.external import load_strategy

        return load_strategy(name)
    return STRATEGIES[name]


def source_files(name: str) -> list[Path]:
    """The source files that decide what strategy ``name`` computes, in pruning and in training.

    prunebench's strategies package (schedules included) and the options parser, and for an
    external strategy the files of its own top-level package. Their digest is part of the cell
    fingerprints of an external or scheduled strategy, so editing one recomputes its cells. What
    else a schedule runs (the training loop, masks, models) is in the finetune step's own code
    fingerprint.
    """
    here = Path(__file__).resolve().parent
    files = [*here.glob("*.py"), here.parent / "foundations" / "typed.py"]
    if is_external(name):
        from prunebench.strategies.external import package_files

        files += package_files(name)
    return sorted({path.resolve() for path in files})


def compute_masks(
    model: nn.Module,
    strategy: str,
    compression: float,
    *,
    seed: int,
    batches: Iterable[Batch] | None = None,
    include_classifier: bool = False,
    loss_function: LossFunction = F.cross_entropy,
    options: Any = None,
    input_shape: tuple[int, ...] | None = None,
) -> MaskSet:
    """Masks for ``model`` from the strategy named ``strategy`` at target ``compression``.

    ``compression`` is total / nonzero parameters over the whole model; an unstructured
    strategy keeps exactly ``keep_count(...)`` prunable weights, a channel strategy reaches the
    closest compression whole groups allow. Every check of the arguments (strategy name,
    compression, batches given) happens before any scoring. For a schedule, these are the final
    masks of a one-shot run of its score and allocation; its first masks are
    :meth:`Strategy.first_masks`.

    ``batches`` are ``(images, labels)`` minibatches for the data-dependent strategies (gradient,
    activation), used all and only: the caller decides how many (params ``prune.score_batches``,
    one by default as in the paper) and draws them deterministically from ``seed``. ``seed``
    itself seeds the random strategies. ``options`` are the strategy's hyperparameters (its
    defaults if None); ``input_shape`` is one sample's shape, needed by the channel strategies
    and SynFlow. The model is left as it was: weights, batch-norm statistics, ``.grad`` and
    train/eval mode.
    """
    chosen = find_strategy(strategy)
    if chosen.needs_batches and batches is None:
        raise PrunebenchError(f"strategy {strategy!r} scores weights from data: pass batches")
    return chosen.masks(
        model,
        compression,
        seed=seed,
        options=options,
        input_shape=input_shape,
        batches=batches,
        include_classifier=include_classifier,
        loss_function=loss_function,
    )


__all__ = [
    "STRATEGIES",
    "GradualOptions",
    "IterativeOptions",
    "NoOptions",
    "Score",
    "ScoreInputs",
    "Strategy",
    "compute_masks",
    "find_strategy",
    "global_allocation",
    "is_external",
    "keep_count",
    "layerwise_allocation",
    "source_files",
]
