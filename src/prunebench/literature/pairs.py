"""(Dataset, architecture) pairs: which are common in the literature, and which is ours.

A published result can only be set beside a measured one on the same data and architecture.
:data:`BENCHMARK_PAIRS` says, for each of our benchmarks that has one, which pair of the data it
is: an explicit table, never a match on similar names (our ``cifar10_vgg`` is the data's
``VGG-Torch-CIFAR10``, Zagoruyko's CIFAR VGG, not its ``VGG-16``). A benchmark missing from it
has no published results. :func:`papers_per_pair` counts the papers using each pair (the paper's
Table 1) and :func:`most_common_pairs` picks those its Figure 3 draws.
"""

from typing import NamedTuple

import pandas as pd


class Pair(NamedTuple):
    """A (dataset, architecture) pair, in the data's words."""

    dataset: str
    model: str

    def __str__(self) -> str:
        return f"{self.dataset} {self.model}"


BENCHMARK_PAIRS: dict[str, Pair] = {
    "mnist_lenet5": Pair("MNIST", "LeNet-5-Caffe"),
    "cifar10_resnet20": Pair("CIFAR-10", "ResNet-20"),
    "cifar10_resnet32": Pair("CIFAR-10", "ResNet-32"),
    "cifar10_resnet56": Pair("CIFAR-10", "ResNet-56"),
    "cifar10_resnet110": Pair("CIFAR-10", "ResNet-110"),
    "cifar10_vgg": Pair("CIFAR-10", "VGG-Torch-CIFAR10"),
    "imagenet_resnet18": Pair("ImageNet", "ResNet-18"),
}
"""Our benchmark registry keys -> the data's pair. The Fashion-MNIST benchmarks have none (the
data hold no Fashion-MNIST result), nor ``cifar10_resnet44`` (no ResNet-44 result)."""

# The paper's Figure 3 counts AlexNet and CaffeNet as one architecture, "since many authors refer
# to the latter as AlexNet" (its footnote 4).
MERGED_MODELS = {"AlexNet": "AlexNet/CaffeNet", "CaffeNet": "AlexNet/CaffeNet"}


def pair_rows(results: pd.DataFrame, pair: Pair) -> pd.DataFrame:
    """The rows of ``results`` (:func:`~prunebench.literature.results.read_results`) on ``pair``."""
    return results[(results["dataset"] == pair.dataset) & (results["model"] == pair.model)]


def papers_per_pair(results: pd.DataFrame) -> pd.Series:
    """How many papers report a result on each pair, most first (then by name).

    Indexed by :class:`Pair`; the paper's Table 1 lists those used by at least 4 of 81 papers.
    """
    counts = results.groupby(["dataset", "model"])["paper"].nunique()
    counts.index = [Pair(*key) for key in counts.index]
    order = sorted(counts.index, key=lambda pair: (-counts[pair], pair))
    return counts[order]


def most_common_pairs(
    results: pd.DataFrame, count: int = 4, excluding: tuple[str, ...] = ("MNIST",)
) -> list[Pair]:
    """The ``count`` pairs the most papers use, leaving out the datasets in ``excluding``.

    The paper's Figure 3 draws the four most common without MNIST, AlexNet and CaffeNet as one
    (``MERGED_MODELS``; pass ``results`` through :func:`merge_models` first to do the same).
    """
    kept = results[~results["dataset"].isin(excluding)]
    return list(papers_per_pair(kept).index[:count])


def merge_models(results: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``results`` with the architectures the paper merges under one name."""
    merged = results.copy()
    merged["model"] = merged["model"].replace(MERGED_MODELS)
    return merged
