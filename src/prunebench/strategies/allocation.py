"""Allocations: how many weights to keep in total, and in which layers.

The total comes from the target compression over *all* of the model's parameters
(:func:`keep_count`). An allocation then turns scores into masks that keep exactly that many
weights: :func:`global_allocation` keeps the highest scores of the whole network, wherever they
are; :func:`layerwise_allocation` keeps the same fraction of every layer (the paper's "layerwise"
baselines), the highest scores within each.

Exact top-k. Ties at the threshold are broken by position (the earlier weight in layer order, then
in flat index order, is kept), so the masks are a function of the scores alone, and exactly
``keep_count`` weights are kept. The threshold is found without sorting all scores (a full sort of
25M floats takes seconds on a CPU): a strided sample brackets the threshold, two counting passes
confirm the bracket, and ``kthvalue`` runs on the few scores inside it.
"""

import math
import numbers
from collections.abc import Sequence

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.masks import MaskSet

# Below this many scores, kthvalue on all of them is as fast as bracketing the threshold.
DIRECT_SELECTION_SIZE = 1 << 17
SAMPLE_SIZE = 1 << 14
# A sampling stride coprime to this never aliases with 1x1, 3x3, 5x5, 7x7 kernels or with channel
# counts that are powers of two (a stride of 9 through a 3x3 conv would sample one tap only).
STRUCTURE_PERIODS = 2 * 3 * 5 * 7


def keep_count(model: nn.Module, parameters: dict[str, nn.Parameter], compression: float) -> int:
    """Number of prunable weights to keep so that the model has ``compression`` = total / nonzero.

    The nonzero target is ``round(total / compression)`` over all parameters of the model
    (biases, batch norm, the classifier included); every unprunable parameter counts as nonzero,
    so the prunable weights keep the rest. Raises :class:`PrunebenchError` for a compression that
    is not a finite number >= 1, or that the unprunable parameters alone already exceed.
    """
    check_compression(compression)
    total = sum(parameter.numel() for parameter in model.parameters())
    prunable = sum(parameter.numel() for parameter in parameters.values())
    unprunable = total - prunable
    allowed = round(total / compression)
    count = allowed - unprunable
    if count < 1:
        raise PrunebenchError(
            f"compression {compression:g} cannot be met: {unprunable} unprunable parameters "
            f"already fill the {allowed} nonzero parameters it allows of {total} "
            f"(the largest reachable compression is {total / (unprunable + 1):.4g})"
        )
    return count


def check_compression(compression: float) -> None:
    """Refuse a target compression that is not a finite number >= 1, in one line."""
    if isinstance(compression, bool) or not isinstance(compression, numbers.Real):
        raise PrunebenchError(f"compression must be a number, got {compression!r}")
    if not (math.isfinite(compression) and compression >= 1):
        raise PrunebenchError(f"compression must be a finite number >= 1, got {compression!r}")


def top_k_masks(scores: Sequence[torch.Tensor], k: int) -> list[torch.Tensor]:
    """Boolean masks of the ``k`` highest entries of ``scores``, taken together as one vector.

    The vector is the tensors flattened and laid end to end (no copy is made: a concatenation of
    25M scores costs as much as a counting pass). Among equal scores the earlier entries are kept.
    Returns one mask per tensor, of its shape.
    """
    flat = [score.flatten() for score in scores]
    size = sum(part.numel() for part in flat)
    if k <= 0 or k >= size:
        return [torch.full_like(score, k > 0, dtype=torch.bool) for score in scores]
    threshold = _kth_largest(flat, size, k)
    keep = [part >= threshold for part in flat]
    excess = sum(int(torch.count_nonzero(part)) for part in keep) - k
    # Several scores equal the threshold: drop the last `excess` of them.
    for part, part_keep in zip(reversed(flat), reversed(keep), strict=True):
        if excess == 0:
            break
        ties = torch.nonzero(part == threshold).flatten()
        dropped = ties[max(ties.numel() - excess, 0) :]
        part_keep[dropped] = False
        excess -= dropped.numel()
    return [part_keep.view(score.shape) for part_keep, score in zip(keep, scores, strict=True)]


def global_allocation(scores: dict[str, torch.Tensor], keep_count: int) -> MaskSet:
    """Keep the ``keep_count`` highest scores of the whole network."""
    return dict(zip(scores, top_k_masks(list(scores.values()), keep_count), strict=True))


def layerwise_allocation(scores: dict[str, torch.Tensor], keep_count: int) -> MaskSet:
    """Keep the same fraction, ``keep_count / prunable weights``, of every layer.

    Each layer keeps its exact share rounded down, and the few weights the rounding leaves over
    go one each to the layers with the largest remainders (earlier layers first on equal ones),
    so every layer keeps its share rounded down or up and the total is exactly ``keep_count``.

    Scores of ``-inf`` mark weights a schedule has already pruned: a layer never keeps more than
    its other weights, the excess going to the other layers by the same remainders, so a schedule
    that tightens its masks never revives a weight (the remainders alone could give a layer one
    more weight at a lower total).
    """
    sizes = [score.numel() for score in scores.values()]
    capacities = [int(torch.count_nonzero(score > -math.inf)) for score in scores.values()]
    total = sum(sizes)
    shares = [
        min(keep_count * size // total, capacity)
        for size, capacity in zip(sizes, capacities, strict=True)
    ]
    remainders = [keep_count * size % total for size in sizes]
    by_remainder = sorted(range(len(sizes)), key=lambda layer: -remainders[layer])
    leftover = keep_count - sum(shares)
    while leftover > 0:
        open_layers = [layer for layer in by_remainder if shares[layer] < capacities[layer]]
        if not open_layers:
            break  # fewer keepable weights than keep_count: top_k_masks keeps them all
        for layer in open_layers[:leftover]:
            shares[layer] += 1
        leftover = keep_count - sum(shares)
    return {
        name: top_k_masks([score], share)[0]
        for (name, score), share in zip(scores.items(), shares, strict=True)
    }


def _kth_largest(flat: list[torch.Tensor], size: int, k: int) -> torch.Tensor:
    """The ``k``-th largest of the ``size`` entries of the 1-D ``flat`` (``0 < k < size``), exactly.

    A strided sample proposes a bracket ``[low, high]`` around it; counting the scores above
    ``high`` and at least ``low`` checks the bracket, and a side that misses is opened to
    infinity, so the answer is exact whatever the sample says; only the speed depends on it.
    """
    if size <= DIRECT_SELECTION_SIZE:
        return torch.kthvalue(torch.cat(flat), size - k + 1).values
    step = size // SAMPLE_SIZE
    while math.gcd(step, STRUCTURE_PERIODS) != 1:
        step += 1
    sample = torch.cat([part[::step] for part in flat]).sort(descending=True).values
    position = k * sample.numel() // size
    margin = 4 * math.isqrt(sample.numel()) + 16
    high = sample[max(position - margin, 0)].item()
    low = sample[min(position + margin, sample.numel() - 1)].item()
    above_high = [part > high for part in flat]
    count_above_high = sum(int(torch.count_nonzero(above)) for above in above_high)
    if count_above_high >= k:
        above_high = [torch.zeros_like(above) for above in above_high]
        count_above_high = 0
    at_least_low = [part >= low for part in flat]
    if sum(int(torch.count_nonzero(at_least)) for at_least in at_least_low) < k:
        at_least_low = [torch.ones_like(at_least) for at_least in at_least_low]
    candidates = torch.cat(
        [
            part[at_least & ~above]
            for part, at_least, above in zip(flat, at_least_low, above_high, strict=True)
        ]
    )
    return torch.kthvalue(candidates, candidates.numel() - (k - count_above_high) + 1).values
