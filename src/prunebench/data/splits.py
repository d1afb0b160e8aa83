"""The validation split, held out of the training data.

ShrinkBench early-stopped on the test set; prunebench holds a validation set out of *train*, so
the test split is touched only by the final evaluation.
"""

import torch

from prunebench.foundations.errors import PrunebenchError

SPLIT_NAMES = ("train", "validation", "test")


def hold_out_validation(
    labels: torch.Tensor, validation_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split the indices of a training set into ``(kept, held_out)``, both sorted ascending.

    Stratified by class: each class gives its share of ``validation_size`` (to within one image),
    so even a small validation set measures every class. Which images of a class are held out is a
    seeded random permutation; the same labels, size and seed always give the same split, and the
    two index sets are disjoint and together cover ``range(len(labels))``.
    """
    count = len(labels)
    if not 0 <= validation_size < count:
        raise PrunebenchError(
            f"validation_size must be in [0, {count}) for a training set of {count} images, "
            f"got {validation_size}"
        )
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    shuffled_labels = labels[order]
    class_sizes = torch.bincount(shuffled_labels)
    # Rank of each image among its class in the shuffled order, as a fraction of the class size:
    # taking the images of smallest fraction takes every class in proportion to its size.
    grouped = torch.sort(shuffled_labels, stable=True).indices
    class_starts = torch.cumsum(class_sizes, 0) - class_sizes
    rank_in_class = torch.empty(count, dtype=torch.int64)
    rank_in_class[grouped] = torch.arange(count) - class_starts[shuffled_labels[grouped]]
    fraction = rank_in_class.double() / class_sizes[shuffled_labels].double()
    held_out_positions = torch.sort(fraction, stable=True).indices[:validation_size]
    held_out = torch.sort(order[held_out_positions]).values
    is_kept = torch.ones(count, dtype=torch.bool)
    is_kept[held_out] = False
    return torch.nonzero(is_kept).flatten(), held_out
