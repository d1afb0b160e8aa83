"""Every result the meta-analysis collected, as one tidy table (``RESULT_COLUMNS``).

The data give each paper's numbers as the paper wrote them: percentages as text (``"93.55%"``),
accuracy as a value, an error or a change, size as a fraction kept, a fraction removed, a ratio
or parameter counts. :func:`read_results` turns them into one meaning per column, in the units of
our own files: accuracies are fractions, size and cost are the paper's ratios (compression =
the original model's parameters / the parameters left; theoretical speedup = original FLOPs /
FLOPs left). Absolute accuracy and the change in accuracy stay apart, each in its own column,
and every row is kept: one without an accuracy or a ratio has NaN there, and figures leave it
out.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd

from prunebench.foundations.errors import PrunebenchError
from prunebench.literature.papers import DATA, read_csv, read_papers

RESULT_COLUMNS = {
    "result": "the result's number in the data (`results.csv` `Name`)",
    "paper": "the key of the paper that reports it (as in `papers.csv`)",
    "label": "that paper's first author and year, e.g. `He 2018`",
    "year": "that paper's year",
    "dataset": "the dataset, in the data's words (`CIFAR-10`, `ImageNet`, `MNIST`, ...)",
    "model": "the architecture, in the data's words (`ResNet-56`, `VGG-16`, ...)",
    "method": "the method's name where the paper reports several (NaN: the paper's method)",
    "trials": "how many runs the numbers average over (NA where the paper does not say)",
    "top1": "top-1 accuracy after pruning, a fraction (`93.55%` is 0.9355), or 1 - the top-1 "
    "error where only that is given",
    "top1_std": "the standard deviation of top-1 over the trials, a fraction",
    "top1_original": "top-1 accuracy of the paper's unpruned model, a fraction",
    "top1_change": "change in top-1 from the paper's unpruned model, a fraction (negative: a loss)",
    "top1_change_from": "`reported` where the paper gives the change, `difference` where it is "
    "`top1` - `top1_original`, NA where neither is known",
    "top5": "top-5 accuracy after pruning, as `top1`",
    "top5_original": "top-5 accuracy of the paper's unpruned model",
    "top5_change": "change in top-5, as `top1_change`",
    "top5_change_from": "as `top1_change_from`",
    "compression": "compression ratio: the unpruned model's parameters / the parameters left",
    "compression_from": "`ratio` (given as a ratio), `kept` (1 / the fraction of parameters "
    "kept), `saved` (1 / (1 - the fraction removed)) or `counts` (the unpruned model's / the "
    "pruned model's parameter count); the first given, in this order",
    "speedup": "theoretical speedup: the unpruned model's FLOPs / the FLOPs left",
    "speedup_from": "as `compression_from`, for FLOPs",
    "notes": "the meta-analysis authors' note on how they read the paper, unchanged",
}
"""The columns of :func:`read_results`, in order, with what each one means."""


class _Accuracy(NamedTuple):
    """The data's columns for one accuracy metric."""

    value: str
    error: str
    original: str
    original_error: str
    change: str
    std: str | None = None


class _Ratio(NamedTuple):
    """The data's columns for one ratio of the unpruned model to the pruned one."""

    ratio: str
    kept: str
    saved: str
    remaining: str
    original: str


ACCURACIES = {
    "top1": _Accuracy("Top1", "Err1", "OrigTop1", "OrigErr1", "dTop1", std="stdTop1"),
    "top5": _Accuracy("Top5", "Err5", "OrigTop5", "OrigErr5", "dTop5"),
}
RATIOS = {
    "compression": _Ratio("old/new Nparam", "keptParams", "savedParams", "MParams", "OrigMParams"),
    "speedup": _Ratio("old/new FLOPS", "keptFLOPS", "savedFLOPS", "GFLOPS", "OrigGFLOPS"),
}


def read_results(folder=DATA) -> pd.DataFrame:
    """One row per reported result (551), columns as ``RESULT_COLUMNS`` says.

    Example: the data's result 327 (He et al.'s AMC, CIFAR-10 ResNet-56) gives top-1 ``91.90%``
    against ``92.80%`` unpruned and ``50.00%`` of FLOPs saved::

        >>> row = read_results().set_index("result").loc[327]
        >>> round(row["top1_change"], 4), row["top1_change_from"], row["speedup"]
        (-0.009, 'difference', 2.0)
    """
    raw = read_csv("results.csv", folder)
    papers = read_papers(folder).set_index("paper")
    table = pd.DataFrame(
        {
            "result": raw["Name"].astype(int),
            "paper": raw["Paper"],
            "label": raw["Paper"].map(papers["label"]),
            "year": raw["Paper"].map(papers["year"]),
            "dataset": raw["Dataset"],
            "model": raw["Model"],
            "method": raw["Method"],
            "trials": pd.to_numeric(raw["NumTrials"]).astype("Int64"),
        }
    )
    for metric, columns in ACCURACIES.items():
        table = table.join(_accuracy(raw, metric, columns))
    for name, columns in RATIOS.items():
        table[name], table[f"{name}_from"] = _ratio(raw, columns)
    table["notes"] = raw["Notes"]
    return table[list(RESULT_COLUMNS)]


def fraction(text: pd.Series) -> pd.Series:
    """Percentages written as text (``"93.55%"``, ``"-0.400%"``) as fractions; NaN stays NaN.

    A cell without its ``%`` is refused, naming the column: a bare number could be a fraction
    or a percentage, and guessing would be off by a hundredfold.
    """
    given = text.dropna()
    bare = given[~given.str.strip().str.endswith("%")]
    if len(bare):
        raise PrunebenchError(
            f"column {text.name!r} holds {bare.iloc[0]!r}, not a percentage such as '93.55%'"
        )
    return pd.to_numeric(text.str.strip().str.rstrip("%")) / 100


def _accuracy(raw: pd.DataFrame, metric: str, columns: _Accuracy) -> pd.DataFrame:
    """``metric``, its original, its change and where the change comes from (and its std)."""
    value = fraction(raw[columns.value]).fillna(1 - fraction(raw[columns.error]))
    original = fraction(raw[columns.original]).fillna(1 - fraction(raw[columns.original_error]))
    reported = fraction(raw[columns.change])
    change = reported.fillna(value - original)
    source = pd.Series(pd.NA, index=raw.index, dtype="string")
    source[change.notna()] = "difference"
    source[reported.notna()] = "reported"
    frame = {metric: value, f"{metric}_original": original, f"{metric}_change": change}
    if columns.std is not None:
        frame[f"{metric}_std"] = fraction(raw[columns.std])
    return pd.DataFrame(frame | {f"{metric}_change_from": source})


def _ratio(raw: pd.DataFrame, columns: _Ratio) -> tuple[pd.Series, pd.Series]:
    """The unpruned-to-pruned ratio and which column it comes from, the first one given."""
    candidates = {
        "ratio": pd.to_numeric(raw[columns.ratio]),
        "kept": 1 / fraction(raw[columns.kept]),
        "saved": 1 / (1 - fraction(raw[columns.saved])),
        "counts": pd.to_numeric(raw[columns.original]) / pd.to_numeric(raw[columns.remaining]),
    }
    value = pd.Series(np.nan, index=raw.index)
    source = pd.Series(pd.NA, index=raw.index, dtype="string")
    for name, candidate in candidates.items():
        # A fraction kept of 0% or removed of 100% has no finite ratio: not a usable point.
        usable = value.isna() & np.isfinite(candidate) & (candidate > 0)
        value[usable] = candidate[usable]
        source[usable] = name
    return value, source


def plottable(results: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows of ``results`` that can be drawn as a point: both ``x`` and ``y`` are known.

    Every figure draws through this: a row without an accuracy or a ratio stays in the table
    but is never drawn.
    """
    return results[results[x].notna() & results[y].notna()]
