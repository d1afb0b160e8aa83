"""The report's Metric disagreement section: pairs of methods whose ranking by top-1 flips
between fixed compression and matched theoretical speedup
(:mod:`prunebench.reporting.disagreement`).

Only the method under evaluation and its baselines are ranked, not the matched controls.
"""

import pandas as pd

from prunebench.reporting.disagreement import Disagreement, metric_disagreement
from prunebench.reporting.methods import Methods
from prunebench.reporting.report.formatting import INTERVAL


def disagreement_lines(cells: pd.DataFrame, methods: Methods) -> list[str]:
    """The question, then the detectable flips, then those inside the noise."""
    chosen = cells[cells["strategy"].isin(methods.evaluated_and_baselines)]
    found = metric_disagreement(chosen, methods)
    return [
        "Does the ranking by top-1 at fixed compression agree with the ranking at matched "
        f"theoretical speedup? Gaps are per seed, with a {INTERVAL} (per pair of methods, not "
        "corrected for the number of pairs examined); a flip whose intervals include zero is "
        "noise, not a disagreement.",
        "",
        *_flips(found),
    ]


def _flips(found: list[Disagreement]) -> list[str]:
    """One line per flip: the detectable ones, then those inside the noise."""
    real = [f"- {item}" for item in found if item.detectable]
    noise = [f"- {item}" for item in found if not item.detectable]
    if not found:
        return ["- No disagreement in this run."]
    return (real or ["- No detectable disagreement in this run."]) + (
        ["", "Flips inside the noise (not disagreements):", "", *noise] if noise else []
    )
