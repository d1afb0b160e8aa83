"""The report's line on published results (in Setup) and its Published results section.

Every report says in one Setup line whether the meta-analysis data of Blalock et al. (2020) hold
results for the run's (dataset, architecture). Where they do, a section lists every claim with a
change in top-1 and a compression ratio, says how many fall above and below the measured curve
(:mod:`prunebench.reporting.published` defines both) and shows them over it.
"""

import pandas as pd

from prunebench.pipeline.layout import FIGURES
from prunebench.reporting.published import (
    FIGURE_NAME,
    Position,
    PublishedResults,
    claim_key,
    trials_text,
)
from prunebench.reporting.report.formatting import points_text
from prunebench.reporting.report.setup import ReportSetup

SOURCE = "the meta-analysis data of Blalock et al. (2020)"


def published_line(published: PublishedResults | None, setup: ReportSetup) -> str:
    """The Setup section's line: the published results on the run's pair, or that there are none."""
    if published is None:
        return (
            f"- Published results: none to set beside this run; {SOURCE} hold no result for "
            f"this dataset and model (`{setup.dataset}`, `{setup.model}`)"
        )
    return (
        f"- Published results: {published.results} result(s) of {published.papers} paper(s) "
        f"on {published.pair} in {SOURCE}; {len(published.claims)} give a change in top-1 and "
        "a compression ratio (Published results, below)"
    )


def published_lines(published: PublishedResults | None, strategy: str) -> list[str]:
    """The Published results section, ending with a blank line; none without published results."""
    if published is None:
        return []
    heading = ["## Published results", ""]
    if published.claims.empty:
        return [
            *heading,
            f"None of the {published.results} result(s) on {published.pair} gives both a change "
            "in top-1 and a compression ratio: nothing to set beside the measured curve.",
            "",
        ]
    curve = published.curve["compression"]
    return [
        *heading,
        f"Every claim on {published.pair} in {SOURCE} with a change in top-1 and a compression "
        f"ratio, against `{strategy}`'s measured curve: its mean change in top-1 from the "
        "control over seeds, joined by straight lines in log₂(compression) between its targets. "
        "A claim is *above* the curve when its change in top-1 is larger than the curve's at "
        "the claim's compression, *below* when smaller; one outside the measured range "
        f"({curve.min():.2f}× to {curve.max():.2f}×) is not compared (hollow in the figure). "
        "A paper's change is against its own unpruned model, ours against the control; "
        "trials: the runs a paper's number averages over.",
        "",
        f"- {_counts(published)}",
        "",
        f"| paper | compression | Δ top-1 (points) | trials | `{strategy}` there | position |",
        "| --- | ---: | ---: | --- | ---: | --- |",
        *(_claim_row(claim) for _, claim in published.claims.iterrows()),
        "",
        f"![published results beside the measured curve]({FIGURES}/{FIGURE_NAME})",
        "",
    ]


def _counts(published: PublishedResults) -> str:
    compared = len(published.claims) - published.count(Position.OUTSIDE)
    on = published.count(Position.ON)
    return (
        f"**{published.count(Position.ABOVE)}** of {compared} compared claim(s) above the "
        f"measured curve, **{published.count(Position.BELOW)}** below"
        + (f", {on} on it" if on else "")
        + f"; {published.count(Position.OUTSIDE)} outside the measured range, not compared"
    )


def _claim_row(claim: pd.Series) -> str:
    measured = claim["measured_change"]
    there = "—" if claim["position"] == Position.OUTSIDE else points_text(measured)
    return (
        f"| {claim_key(claim)} | {claim['compression']:.2f}× | "
        f"{points_text(claim['top1_change'])} | {trials_text(claim['trials'])} | {there} | "
        f"{claim['position']} |"
    )
