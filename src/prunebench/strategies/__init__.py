"""Pruning strategies, registered by name; a researcher's own named ``package.module:attribute``.

A strategy (:class:`Strategy`, ``strategy.py``) is a score, an allocation, a structure and a
schedule, with its own hyperparameters:

- scores (``scores.py``; channel scores in ``channels.py``, SynFlow in ``synflow.py``): how
  important each weight or channel is, higher keeps;
- allocations (``allocation.py``): ``"global"`` or ``"layerwise"``, exact top-k;
- structures: ``"unstructured"`` or ``"channel"`` (``channels.py``: dependency groups from
  Torch-Pruning's graph);
- schedules: ``"one_shot"``, ``"iterative"`` or ``"gradual"`` (``schedules.py``, run while
  finetuning).

Adding a strategy of a known shape is one line below, e.g.::

    STRATEGIES.add("global_snip", Strategy(snip_scores, "global", needs_batches=True))

or, without editing prunebench, a ``Strategy`` in the researcher's own module, named in params as
``strategy: mylab.taylor:strategy`` (:func:`find_strategy`; ``external.py``).

Entry points: :func:`find_strategy`, :meth:`Strategy.masks`, :func:`compute_masks`.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.registry import Registry
from prunebench.sparsity.masks import MaskSet
from prunebench.strategies.allocation import global_allocation, keep_count, layerwise_allocation
from prunebench.strategies.scores import (
    Batch,
    LossFunction,
    ScoreInputs,
    activation_scores,
    channel_bn_scores,
    channel_l1_scores,
    channel_random_scores,
    gradient_scores,
    lamp_scores,
    magnitude_scores,
    random_scores,
    synflow_iterative_scores,
)
from prunebench.strategies.strategy import (
    GradualOptions,
    IterativeOptions,
    NoOptions,
    Strategy,
)
from prunebench.strategies.synflow import SynflowOptions

STRATEGIES: Registry[Strategy] = Registry("strategy")
# The paper's baselines (section 7.2) and ShrinkBench's activation scores.
STRATEGIES.add("random", Strategy(random_scores, "global"))
STRATEGIES.add("global_mag", Strategy(magnitude_scores, "global"))
STRATEGIES.add("layer_mag", Strategy(magnitude_scores, "layerwise"))
STRATEGIES.add("global_grad", Strategy(gradient_scores, "global", needs_batches=True))
STRATEGIES.add("layer_grad", Strategy(gradient_scores, "layerwise", needs_batches=True))
STRATEGIES.add("global_act", Strategy(activation_scores, "global", needs_batches=True))
STRATEGIES.add("layer_act", Strategy(activation_scores, "layerwise", needs_batches=True))
# Layer-adaptive magnitude (Lee et al., ICLR 2021).
STRATEGIES.add("lamp", Strategy(lamp_scores, "global"))
# Channels (SPEC): random; L1 of filters (Li et al., ICLR 2017), per layer or normalised per
# layer and global; network slimming's |batch-norm scale| (Liu et al., ICCV 2017).
STRATEGIES.add("random_channel", Strategy(channel_random_scores, "global", structure="channel"))
STRATEGIES.add("layer_channel_l1", Strategy(channel_l1_scores, "layerwise", structure="channel"))
STRATEGIES.add("global_channel_l1", Strategy(channel_l1_scores, "global", structure="channel"))
STRATEGIES.add("global_channel_bn", Strategy(channel_bn_scores, "global", structure="channel"))
# Data-free, iterative in its scoring (Tanaka et al., NeurIPS 2020).
STRATEGIES.add("synflow", Strategy(synflow_iterative_scores, "global", options=SynflowOptions))
# Pruning while training: iterative magnitude pruning; gradual magnitude pruning (Zhu & Gupta).
STRATEGIES.add(
    "imp", Strategy(magnitude_scores, "global", schedule="iterative", options=IterativeOptions)
)
STRATEGIES.add(
    "gmp", Strategy(magnitude_scores, "layerwise", schedule="gradual", options=GradualOptions)
)


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

    ``compression`` is total / nonzero parameters over the whole model (SPEC); an unstructured
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
