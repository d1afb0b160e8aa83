"""The report's Figures section: how to read them, then each figure with its caption."""

from collections.abc import Mapping

# How to read the accuracy figures (:func:`~prunebench.reporting.figures.accuracy.plot_accuracy`).
ACCURACY_NOTE = (
    "Points: each seed; line: mean over seeds; band: 95% confidence interval of the mean "
    "(Student t). The dashed horizontal line is the unpruned control. A band is one "
    "method's own spread, not a paired comparison: overlapping bands do not mean no "
    "difference (the Answer's paired intervals decide that)."
)
# How to read the measured-speedup figure, where the run was timed.
SPEED_NOTE = (
    " In the measured against theoretical speedup figure, a point is a mean over seeds and its "
    "bar ± one sample std; the dashed diagonal is measured = theoretical."
)


# In a run of several initial models, what the pooled figures draw.
RUNS_NOTE = (
    " With several initial models, a point in the figures of the whole run is a run (one seed "
    "from one initial model), the line and band are over every run, and the control line is the "
    "mean of the initial models' controls; each initial model's own figure draws its seeds "
    "beside its own control."
)


def figure_lines(figures: Mapping[str, str], timed: bool, several: bool = False) -> list[str]:
    """The note, then one image per figure (``{caption: path}``), each followed by a blank line.

    ``timed``: whether the run has measured latencies, hence the measured-speedup figure;
    ``several``: whether it ran from several initial models.
    """
    return [
        ACCURACY_NOTE + (RUNS_NOTE if several else "") + (SPEED_NOTE if timed else ""),
        "",
        *([f"![{caption}]({path})\n" for caption, path in figures.items()] or ["None.\n"]),
    ]
