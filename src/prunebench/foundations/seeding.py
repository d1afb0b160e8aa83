"""One call that fixes every random number generator a run touches."""

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a fresh generator for data order.

    Data order uses its own generator, so the number of random draws elsewhere (weight init,
    dropout) never shifts which images form a batch.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
