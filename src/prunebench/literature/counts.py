"""Figure 2's counts and Table 1 of Blalock et al. (2020), recomputed from the data, as Markdown.

:func:`counts_markdown` writes ``docs/literature/counts.md``: the two histograms of Figure 2 (who
compares to whom, split by peer review), what section 4.1 says about them beside what the data
give, and the paper's Table 1 (papers per (dataset, architecture) pair) beside our count.
"""

from collections.abc import Sequence

import pandas as pd

from prunebench.literature.pairs import (
    Pair,
    merge_models,
    most_common_pairs,
    pair_rows,
    papers_per_pair,
)
from prunebench.literature.papers import comparison_counts
from prunebench.literature.results import plottable

# The paper's Table 1: pairs used by at least 4 of its 81 papers, in the data's names (the
# paper's "CIFAR-VGG (Torch)" is the data's VGG-Torch-CIFAR10).
PAPER_TABLE_1 = {
    Pair("ImageNet", "VGG-16"): 22,
    Pair("ImageNet", "ResNet-50"): 15,
    Pair("MNIST", "LeNet-5-Caffe"): 14,
    Pair("CIFAR-10", "ResNet-56"): 14,
    Pair("MNIST", "LeNet-300-100"): 12,
    Pair("MNIST", "LeNet-5"): 11,
    Pair("ImageNet", "CaffeNet"): 10,
    Pair("CIFAR-10", "VGG-Torch-CIFAR10"): 8,
    Pair("ImageNet", "AlexNet"): 8,
    Pair("ImageNet", "ResNet-18"): 6,
    Pair("ImageNet", "ResNet-34"): 6,
    Pair("CIFAR-10", "ResNet-110"): 5,
    Pair("CIFAR-10", "PreResNet-164"): 4,
    Pair("CIFAR-10", "ResNet-32"): 4,
}
# Figure 3's caption: how many of the 81 papers report a result on one of its pairs.
PAPER_FIGURE_3_PAPERS = 37
FIGURE_3_AXES = ("compression", "speedup")
"""Figure 3's x axes, one figure each."""
FIGURE_3_METRICS = ("top1_change", "top5_change")
"""Figure 3's y axes, one row of panels each."""

HISTOGRAM_HEADINGS = {
    "compared_to_by": "How many papers compare to each paper (Figure 2, top)",
    "compares_to": "How many papers each paper compares to (Figure 2, bottom)",
}
HISTOGRAM_COLUMNS = {"compared_to_by": "compared to by k papers", "compares_to": "compares to k"}


def counts_markdown(papers: pd.DataFrame, results: pd.DataFrame, command: str) -> str:
    """The whole counts page: Figure 2's histograms, the text beside them, Table 1.

    ``papers`` and ``results`` are :func:`~prunebench.literature.papers.read_papers` and
    :func:`~prunebench.literature.results.read_results`; ``command`` is what made the page.
    """
    histograms = comparison_counts(papers)
    lines = [
        "# Who compares to whom, and on what: Blalock et al. (2020), recomputed",
        "",
        f"Made by `{command}` from the meta-analysis data shipped in "
        "`src/prunebench/literature/blalock2020/`; do not edit by hand. A comparison counts "
        "only between the corpus's papers. Peer-reviewed: any venue but arXiv, OpenReview and "
        "a workshop (the convention of ShrinkBench's analysis code).",
        "",
    ]
    for name, heading in HISTOGRAM_HEADINGS.items():
        lines += [f"## {heading}", "", *_histogram_table(histograms[name], name), ""]
    lines += ["## Beside the paper's text (section 4.1)", "", *_statement_table(histograms), ""]
    lines += ["## Pairs used by at least 4 papers (Table 1)", "", *_table_1(results), ""]
    return "\n".join(lines)


def figure_3_papers(results: pd.DataFrame, pairs: Sequence[Pair]) -> int:
    """How many papers have a point in Figure 3: a result on one of ``pairs`` (of merged
    ``results``) with a change in top-1 or top-5 and a compression ratio or a speedup."""
    drawn = pd.concat(
        plottable(pd.concat([pair_rows(results, pair) for pair in pairs]), x, y)
        for x in FIGURE_3_AXES
        for y in FIGURE_3_METRICS
    )
    return drawn["paper"].nunique()


def _histogram_table(histogram: pd.DataFrame, name: str) -> list[str]:
    rows = [
        f"| {row.k} | {row.papers} | {row.peer_reviewed} | {row.other} |"
        for row in histogram.itertuples()
    ]
    return [
        f"| {HISTOGRAM_COLUMNS[name]} | papers | peer-reviewed | other |",
        "| ---: | ---: | ---: | ---: |",
        *rows,
        f"| all | {histogram['papers'].sum()} | {histogram['peer_reviewed'].sum()} | "
        f"{histogram['other'].sum()} |",
    ]


def _statement_table(histograms: dict[str, pd.DataFrame]) -> list[str]:
    """Section 4.1's claims about Figure 2 (paraphrased), each beside the data's count."""
    ignored = histograms["compared_to_by"].iloc[0]
    compares = histograms["compares_to"].set_index("k")["papers"]
    total = int(compares.sum())

    def share(papers: int) -> str:
        return f"{papers} of {total} ({100 * papers / total:.0f}%)"

    statements = [
        (
            "Dozens of papers, many peer-reviewed, are compared to by no later paper",
            f"{share(int(ignored.papers))}, {ignored.peer_reviewed} of them peer-reviewed",
        ),
        ("More than a fourth of the corpus compares to no earlier method", share(compares[0])),
        ("Another fourth compares to only one", share(compares[1])),
        ("Nearly all compare to three or fewer", share(int(compares.loc[:3].sum()))),
    ]
    return [
        "| the paper | the data |",
        "| --- | --- |",
        *(f"| {claim} | {found} |" for claim, found in statements),
    ]


def _table_1(results: pd.DataFrame) -> list[str]:
    """Table 1's pairs and counts beside ours, then Figure 3's pairs and its caption's count."""
    ours = papers_per_pair(results)
    rows = [
        f"| {pair.dataset} | {pair.model} | {papers} | {ours.get(pair, 0)} |"
        for pair, papers in PAPER_TABLE_1.items()
    ]
    merged = merge_models(results)
    common = most_common_pairs(merged)
    return [
        "| dataset | architecture | papers (Table 1) | papers (data) |",
        "| --- | --- | ---: | ---: |",
        *rows,
        "",
        "Figure 3 draws the four most common pairs without MNIST, AlexNet and CaffeNet counted as "
        f"one: from the data, {', '.join(str(pair) for pair in common)}; "
        f"{figure_3_papers(merged, common)} papers have a point in it (its caption: "
        f"{PAPER_FIGURE_3_PAPERS} of 81).",
    ]
