"""Aggregate tables, metrics files, figures and the Markdown report of a benchmark run.

Only the aggregate stage imports this package: it pulls in pandas, matplotlib and seaborn, which
the prune / finetune / evaluate stages must not pay for. It knows nothing of DVC; the stage decides
where each returned table, dict and figure is written.
"""

from prunebench.reporting.budget import budget_table, steps_difference
from prunebench.reporting.checklist import ChecklistItem, RunEvidence, checklist, render_checklist
from prunebench.reporting.disagreement import Disagreement, metric_disagreement
from prunebench.reporting.figures.accuracy import plot_accuracy
from prunebench.reporting.figures.speedup import plot_measured_speedup
from prunebench.reporting.figures.style import method_color, method_marker
from prunebench.reporting.methods import Methods, allocation_pairs
from prunebench.reporting.metrics import (
    details_metrics,
    headline_metrics,
    speed_metrics,
    verdict_metrics,
)
from prunebench.reporting.plots import curves_data, plot_data
from prunebench.reporting.report.render import render_report
from prunebench.reporting.report.setup import Pretrained, ReportSetup
from prunebench.reporting.speed import (
    MeasuredSpeed,
    latency_cells_table,
    latency_table,
    measured_speed,
)
from prunebench.reporting.statistics import Comparison, compare, rejudged
from prunebench.reporting.tables import (
    cells_table,
    compression_key,
    grouped_table,
)

__all__ = [
    "ChecklistItem",
    "Comparison",
    "Disagreement",
    "MeasuredSpeed",
    "Methods",
    "Pretrained",
    "ReportSetup",
    "RunEvidence",
    "allocation_pairs",
    "budget_table",
    "cells_table",
    "checklist",
    "compare",
    "compression_key",
    "curves_data",
    "details_metrics",
    "grouped_table",
    "headline_metrics",
    "latency_cells_table",
    "latency_table",
    "measured_speed",
    "method_color",
    "method_marker",
    "metric_disagreement",
    "plot_accuracy",
    "plot_data",
    "plot_measured_speedup",
    "rejudged",
    "render_checklist",
    "render_report",
    "speed_metrics",
    "steps_difference",
    "verdict_metrics",
]
