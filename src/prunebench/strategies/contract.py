"""The strategy contract: what a score returns and what its masks keep, checked, not trusted.

A strategy may be code prunebench did not write (``strategy: package.module:attribute``), and a
wrong answer from it must never pass for a result. Unchecked, scores that cover only some layers
prune nothing (every layer they leave out is kept whole), NaN scores prune everything (NaN is
never among the highest), and the report then compares the wrong thing with confidence.
:meth:`Strategy.masks <prunebench.strategies.strategy.Strategy.masks>` therefore runs the score
through :func:`unstructured_scores` or :func:`channel_scores` and holds the masks to
:func:`check_kept` or :func:`check_channel_kept` before any mask leaves it:

- the score runs as foreign code (``foundations.errors.foreign_code``): whatever it raises,
  ``sys.exit()`` included, is one refusal naming it, never a traceback or an exit status 0;
- unstructured scores are a mapping of exactly the prunable weights' names to tensors of their
  shapes, every entry finite; channel scores are one finite number per channel group;
- the masks keep exactly the target's number of weights (unstructured), or leave a parameter
  count within one channel group of the target's (channel: whole groups reach the closest
  compression they can, not the exact one).

Each refusal is one line naming the score and the first offending layer; the prune stage adds the
strategy and the cell.
"""

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError, foreign_code
from prunebench.sparsity.masks import MaskSet
from prunebench.strategies.score import ScoreInputs

if TYPE_CHECKING:
    from prunebench.sparsity.channels.group import ChannelGroup
    from prunebench.strategies.strategy import Strategy


def unstructured_scores(strategy: "Strategy", inputs: ScoreInputs) -> dict[str, torch.Tensor]:
    """``strategy``'s scores of ``inputs.parameters``, run as foreign code and checked."""
    scores = _run(strategy, inputs)
    name = strategy.score.name
    if not isinstance(scores, Mapping):
        raise PrunebenchError(
            f"score {name!r} returned a {type(scores).__name__}; a score returns a dict of one "
            "tensor per prunable weight, by the weight's name"
        )
    expected = list(inputs.parameters)
    missing = [key for key in expected if key not in scores]
    if missing:
        raise PrunebenchError(
            f"score {name!r} leaves out {missing[0]!r}: it must score every prunable weight "
            f"({', '.join(expected)})"
        )
    extra = [key for key in scores if key not in inputs.parameters]
    if extra:
        raise PrunebenchError(
            f"score {name!r} scores {extra[0]!r}, which is not a prunable weight "
            f"({', '.join(expected)})"
        )
    for key, weight in inputs.parameters.items():
        score = scores[key]
        if not isinstance(score, torch.Tensor):
            raise PrunebenchError(
                f"score {name!r} gives {key!r} a {type(score).__name__}, not a torch tensor"
            )
        if score.shape != weight.shape:
            raise PrunebenchError(
                f"score {name!r} gives {key!r} scores of shape {tuple(score.shape)}, but the "
                f"weight has shape {tuple(weight.shape)}"
            )
        if score.is_floating_point() and not bool(torch.isfinite(score).all()):
            bad = int(torch.count_nonzero(~torch.isfinite(score)))
            raise PrunebenchError(
                f"score {name!r} gives {key!r} {bad} NaN or infinite scores; scores must be finite"
            )
    return dict(scores)


def channel_scores(strategy: "Strategy", inputs: ScoreInputs) -> Sequence[Any]:
    """``strategy``'s scores of ``inputs.groups``, one number per channel group, checked."""
    scores = _run(strategy, inputs)
    name, groups = strategy.score.name, inputs.groups
    if isinstance(scores, Mapping | str | bytes) or not hasattr(scores, "__len__"):
        raise PrunebenchError(
            f"score {name!r} returned a {type(scores).__name__}; a channel score returns one "
            f"number per channel group ({len(groups)} of them)"
        )
    if len(scores) != len(groups):
        raise PrunebenchError(
            f"score {name!r} returned {len(scores)} scores for {len(groups)} channel groups"
        )
    for index, score in enumerate(scores):
        try:
            value = float(score)
        except (TypeError, ValueError):
            value = None
        if value is None or not math.isfinite(value):
            raise PrunebenchError(
                f"score {name!r} gives channel group {index} (of layer {groups[index].layer!r}) "
                f"the score {score!r}; scores must be finite numbers"
            )
    return scores


def check_kept(masks: MaskSet, count: int) -> None:
    """Refuse unstructured masks that do not keep exactly ``count`` weights."""
    kept = sum(int(torch.count_nonzero(mask)) for mask in masks.values())
    if kept != count:
        raise PrunebenchError(
            f"the masks keep {kept} prunable weights where the target keeps exactly {count}"
        )


def check_channel_kept(
    model: nn.Module, masks: MaskSet, groups: "Sequence[ChannelGroup]", compression: float
) -> None:
    """Refuse channel masks that leave a parameter count more than one group (the largest)
    away from ``compression``'s: whole groups reach the closest compression they can."""
    total = sum(parameter.numel() for parameter in model.parameters())
    pruned = sum(mask.numel() - int(torch.count_nonzero(mask)) for mask in masks.values())
    target = total / compression
    largest = max(group.size for group in groups)
    if abs(total - pruned - target) > largest:
        raise PrunebenchError(
            f"the channel masks leave {total - pruned} of {total} parameters, more than one "
            f"channel group ({largest} parameters) from compression {compression:g}'s "
            f"{target:.0f}"
        )


def _run(strategy: "Strategy", inputs: ScoreInputs) -> Any:
    with foreign_code(f"score {strategy.score.name!r}"):
        return strategy.score.compute(inputs)
