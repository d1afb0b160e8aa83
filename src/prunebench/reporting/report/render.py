"""The Markdown report, section by section: :func:`render_report` is its table of contents."""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from prunebench.reporting.checklist import checklist, render_checklist
from prunebench.reporting.methods import Methods
from prunebench.reporting.published import PublishedResults
from prunebench.reporting.report.answer import verdict_lines
from prunebench.reporting.report.control import control_lines
from prunebench.reporting.report.evidence import run_evidence
from prunebench.reporting.report.figure_list import figure_lines
from prunebench.reporting.report.initial_models import InitialModelVerdicts, initial_model_lines
from prunebench.reporting.report.matched_controls import matched_control_lines
from prunebench.reporting.report.measured_speed import speed_lines
from prunebench.reporting.report.metric_disagreement import disagreement_lines
from prunebench.reporting.report.off_target import off_target_lines
from prunebench.reporting.report.published_results import published_line, published_lines
from prunebench.reporting.report.results import comparison_lines, point_lines, seed_lines
from prunebench.reporting.report.setup import ReportSetup, setup_lines
from prunebench.reporting.report.training_budget import (
    budget_differences,
    budget_table_lines,
    unequal_budget_lines,
)
from prunebench.reporting.speed import MeasuredSpeed
from prunebench.reporting.statistics import Comparison
from prunebench.reporting.tables import select_methods
from prunebench.reporting.variance import render_variance_shares, variance_shares


def render_report(
    cells: pd.DataFrame,
    grouped: pd.DataFrame,
    control: Mapping[str, Any],
    setup: ReportSetup,
    *,
    methods: Methods,
    comparisons: Sequence[Comparison],
    allocation: Mapping[str, Comparison],
    figures: Mapping[str, str],
    speed: MeasuredSpeed | None = None,
    published: PublishedResults | None = None,
    initial_models: InitialModelVerdicts | None = None,
) -> str:
    """The run's Markdown report.

    ``cells`` has one row per cell (every seed; its ``budget_*`` columns give the training
    budget), ``grouped`` the mean and std per point; ``control`` the unpruned control's metrics
    record; ``setup`` what the run was (:class:`ReportSetup`); ``methods`` the run's methods and
    their declared properties; ``comparisons`` are :func:`prunebench.reporting.statistics.compare`
    of the method under evaluation with the baselines, the matched controls and the unpruned
    control;
    ``allocation`` maps a matched control to its comparison, across the curve, with the baseline
    that shares its way of choosing weights within a layer (the effect of the method's allocation
    alone). ``figures`` maps a caption to a path relative to the report. ``speed`` holds the
    run's measured latencies (:func:`~prunebench.reporting.speed.measured_speed`); None where
    no cell was timed, which the report then says. ``published`` holds the literature's
    results on the run's (dataset, architecture)
    (:func:`~prunebench.reporting.published.published_results`); None where the data hold
    none, which the Setup section then says. ``initial_models`` holds the comparisons made
    again on each initial model's runs (a run of several initial models; None otherwise, and the
    report has no Initial models section).
    """
    strategy = methods.strategy
    # Each initial model's control, in a run of several (None in a run of one).
    controls = initial_models.controls if initial_models is not None else None
    rows = select_methods(grouped, methods.all)
    seeds = sorted(cells["seed"].unique())
    budgets = budget_differences(cells, strategy, comparisons)
    lines = [
        f"# Pruning benchmark: `{strategy}` on `{setup.benchmark}`",
        "",
        "## Answer",
        "",
        *verdict_lines(
            methods,
            comparisons,
            seeds,
            len(allocation),
            budgets,
            sorted(initial_models.controls) if initial_models is not None else (0,),
        ),
        "",
        *off_target_lines(cells, methods),
        *matched_control_lines(methods, comparisons, allocation, budgets),
        *unequal_budget_lines(methods, budgets, setup.equal_budget),
        *control_lines(strategy, control, comparisons, controls),
        "",
        "## Setup",
        "",
        *setup_lines(setup, control, controls),
        published_line(published, setup),
        "",
        "## Results",
        "",
        *point_lines(rows, methods, control),
        "",
        "### Training budget",
        "",
        *budget_table_lines(cells, methods, budgets),
        "",
        "### Every seed",
        "",
        *seed_lines(cells, methods),
        "",
        "### What explains the spread",
        "",
        *render_variance_shares(variance_shares(cells)).splitlines(),
        "",
        "### Every comparison",
        "",
        *comparison_lines(strategy, comparisons, budgets),
        "",
        *(
            [
                "## Initial models",
                "",
                *initial_model_lines(cells, methods, comparisons, initial_models),
                "",
            ]
            if initial_models is not None
            else []
        ),
        "## Measured speed",
        "",
        *speed_lines(speed, methods),
        "",
        "## Figures",
        "",
        *figure_lines(figures, timed=speed is not None, several=bool(controls)),
        *published_lines(published, strategy),
        "## Metric disagreement",
        "",
        *disagreement_lines(cells, methods),
        "",
        "## Checklist (Blalock et al. 2020, Appendix B)",
        "",
        *render_checklist(
            checklist(run_evidence(rows, control, setup, methods, figures, initial_models))
        ),
    ]
    return "\n".join(lines) + "\n"
