"""Matched controls: the method's own per-layer counts, filled at random or by magnitude.

Appendix B of Blalock et al. (2020) asks every method to be compared with "random" and "magnitude"
baselines that keep the *same layerwise proportions* as the method. Frankle et al. (ICLR 2021)
use the same idea as an ablation: shuffle a method's mask within each layer and see whether the
accuracy survives. Both separate the two things a pruning method decides:

- its **allocation**, how many weights each layer keeps; a matched control copies it exactly;
- its **selection**, which weights within a layer; a matched control replaces it by a seeded
  random draw (``matched_random``) or by the largest magnitudes (``matched_mag``).

If the method is no better than ``matched_random``, everything it gains comes from its
allocation; if it beats ``matched_mag``, its within-layer choice beats magnitude's.

A control needs the method's masks at the same (compression, seed) cell, so it is not a
standalone strategy and lives in its own registry, of the same score objects the strategies use
(reports show a control's score by its ``Score.name``). Entry point: :func:`matched_masks`.
"""

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.registry import Registry
from prunebench.sparsity.masks import MaskSet, prunable_parameters
from prunebench.strategies.allocation import top_k_masks
from prunebench.strategies.score import Score, ScoreInputs
from prunebench.strategies.weight_scores import MAGNITUDE, RANDOM

MATCHED_CONTROLS: Registry[Score] = Registry("matched control")
MATCHED_CONTROLS.add("matched_random", RANDOM)
MATCHED_CONTROLS.add("matched_mag", MAGNITUDE)


def matched_masks(
    model: nn.Module,
    control: str,
    reference: Mapping[str, torch.Tensor],
    *,
    seed: int,
    include_classifier: bool = False,
) -> MaskSet:
    """Masks that keep exactly ``reference``'s number of weights in every layer of ``model``.

    Within a layer the weights with the highest ``control`` scores are kept (ties by position, as
    in every allocation); ``seed`` seeds ``matched_random``. ``reference`` is the method's own
    final masks at the same cell. Its counts are copied for every prunable weight of ``model``
    and for any other conv or linear weight it masks (a channel method removes the classifier's
    input columns of pruned channels); a prunable weight it does not mask is kept whole. Biases
    and batch-norm parameters a channel method removes stay dense in the control, so its
    compression is slightly lower than the method's.
    """
    score = MATCHED_CONTROLS[control]
    prunable = prunable_parameters(model, include_classifier=include_classifier)
    parameters = {
        name: weight
        for name, weight in prunable_parameters(model, include_classifier=True).items()
        if name in prunable or name in reference
    }
    unknown = sorted(set(reference) - set(dict(model.named_parameters())))
    if unknown:
        raise PrunebenchError(
            f"the method's masks name {unknown[0]!r}, not a parameter of the model; "
            "re-run its prune stage"
        )
    scores = score.compute(ScoreInputs(model, parameters, seed, None, F.cross_entropy))
    return {
        name: top_k_masks(
            [scores[name]],
            int(reference[name].sum()) if name in reference else parameters[name].numel(),
        )[0]
        for name in parameters
    }


__all__ = ["MATCHED_CONTROLS", "matched_masks"]
