"""The data of DVC's plots: ``results/plots/accuracy.csv`` and ``strategy_curves.csv``.

`dvc plots show` draws these files with the Vega-Lite templates under ``.dvc/plots/`` and `dvc
plots diff` overlays them across experiments. A template sees nothing but the rows of its file
(and the revision DVC adds to each), so every row carries all its template draws. Accuracies are
in percent, as in the figures.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.foundations.errors import PrunebenchError
from prunebench.reporting.methods import Methods
from prunebench.reporting.statistics import paired_interval
from prunebench.reporting.tables import grouped_table, select_methods

# What a method is in the run, on each row of the accuracy plots: the templates draw the
# evaluated method thickest and the matched controls dashed, as the figures do.
EVALUATED, BASELINE, MATCHED = "evaluated", "baseline", "matched control"


def plot_data(table: pd.DataFrame, control: Mapping[str, Any], methods: Methods) -> pd.DataFrame:
    """Rows for the accuracy plots: one per method and target compression.

    ``table`` has one row per cell, as :func:`~prunebench.reporting.tables.cells_table` returns.
    The columns are ``method``; ``role`` (:data:`EVALUATED`, :data:`BASELINE` or
    :data:`MATCHED`); the achieved ``compression`` and ``speedup`` (means over seeds: the two x
    axes the paper asks for, where each method really is rather than its target); ``n_runs``
    (seeds, times initial models in a run of several);
    ``top1`` (the mean over seeds) and ``top1_std``; ``top1_ci_low`` and ``top1_ci_high``, the
    95% confidence interval of that mean, computed by the report's own
    :func:`~prunebench.reporting.statistics.paired_interval` (Student t over the seeds), so the
    band the template draws is the figures' band (empty for a single seed, with no spread to
    estimate, and where the seeds agree exactly, which the template draws as a band of zero
    width); and on every row the unpruned control's ``control_top1``, which the template draws
    as a dashed line.

    The matched controls take the evaluated method's layer sizes, so in `dvc plots diff` their
    lines belong to their revision's method, like every other line of it.
    """
    rows = select_methods(grouped_table(table), methods.all)
    seeds = table.groupby(["strategy", "target_compression"])["top1"]
    intervals = [
        paired_interval(seeds.get_group((row.strategy, row.target_compression)).to_numpy())
        for row in rows.itertuples()
    ]
    return pd.DataFrame(
        {
            "method": rows["strategy"],
            "role": [_role(method, methods) for method in rows["strategy"]],
            "compression": rows["compression"],
            "speedup": rows["speedup"],
            "n_runs": rows["n_runs"],
            "top1": 100 * rows["top1_mean"],
            "top1_std": 100 * rows["top1_std"],
            "top1_ci_low": [100 * low for _, low, _, _ in intervals],
            "top1_ci_high": [100 * high for _, _, high, _ in intervals],
            "control_top1": 100 * control["top1"],
        }
    ).reset_index(drop=True)


def _role(method: str, methods: Methods) -> str:
    if method == methods.strategy:
        return EVALUATED
    return MATCHED if method in methods.matched else BASELINE


def curves_data(cells: Sequence[Mapping[str, Any]], strategy: str) -> pd.DataFrame:
    """Per-epoch finetuning curves of ``strategy``'s cells, for DVC's curves plot.

    One row per (target compression, seed, epoch), accuracies in percent, read from the history
    each cell's metrics file carries; sorted so that a plot draws one line per cell.
    """
    rows = [
        {
            "compression": cell["target_compression"],
            # In a run of several initial models, a cell is also its initial model's.
            **({"initial_model": cell["initial_model"]} if "initial_model" in cell else {}),
            "seed": cell["seed"],
            "epoch": entry["epoch"],
            "train_loss": entry["train_loss"],
            "validation_loss": entry["validation_loss"],
            "validation_top1": 100 * entry["validation_top1"],
        }
        for cell in cells
        if cell["strategy"] == strategy
        for entry in cell["finetune"]["history"]
    ]
    if not rows:
        raise PrunebenchError(f"no finetuning history for method {strategy!r}")
    frame = pd.DataFrame(rows)
    keys = ["compression", *(["initial_model"] if "initial_model" in frame else []), "seed"]
    return frame.sort_values([*keys, "epoch"], ignore_index=True)
