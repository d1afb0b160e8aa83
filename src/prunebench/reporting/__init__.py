"""Aggregate tables, summary metrics, figures and the Markdown report of a benchmark run.

Only the aggregate stage imports this package: it pulls in pandas, matplotlib and seaborn, which
the prune / finetune / evaluate stages must not pay for. It knows nothing of DVC; the stage decides
where each returned table, dict and figure is written.
"""

from prunebench.reporting.checklist import ChecklistItem, RunEvidence, checklist, render_checklist
from prunebench.reporting.disagreement import Disagreement, metric_disagreement
from prunebench.reporting.figures import method_color, plot_accuracy
from prunebench.reporting.report import render_report
from prunebench.reporting.statistics import Comparison, compare, rejudged, verdict_metrics
from prunebench.reporting.tables import (
    cells_table,
    compression_key,
    curves_data,
    grouped_table,
    plot_data,
    summary_metrics,
)

__all__ = [
    "ChecklistItem",
    "Comparison",
    "Disagreement",
    "RunEvidence",
    "cells_table",
    "checklist",
    "compare",
    "compression_key",
    "curves_data",
    "grouped_table",
    "method_color",
    "metric_disagreement",
    "plot_accuracy",
    "plot_data",
    "rejudged",
    "render_checklist",
    "render_report",
    "summary_metrics",
    "verdict_metrics",
]
