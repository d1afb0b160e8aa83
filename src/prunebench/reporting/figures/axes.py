"""What every figure shares: log₂ axes, the layering of what is drawn, the methods check, the
legend beside the axes and the atomic PNG save.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` (rendered by Agg), never through
``pyplot``: no global figure state, no display backend, nothing left open between calls.
"""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_file

DPI = 120
# Every band lies under every point and line, so no method's interval hides another's curve;
# the guides (the control line, the speedup figure's diagonal) lie over the bands; the evaluated
# method's line is drawn last.
BAND_ZORDER, GUIDE_ZORDER, SEEDS_ZORDER = 1.0, 1.5, 2.0


def check_methods(cells: pd.DataFrame, methods: Sequence[str]) -> None:
    """A listed method without any cell is an error, as in :func:`select_methods`."""
    available = sorted(cells["strategy"].unique())
    for method in methods:
        if method not in available:
            have = ", ".join(available)
            raise PrunebenchError(f"no results for method {method!r} (have: {have})")


def log2_axis(axes: Any, values: pd.Series, axis: Literal["x", "y"] = "x") -> None:
    """A log₂ ``axis`` with a plain-number tick ("2", "4", ...) at each power of two in view.

    The view is the data range plus a small margin, widened to the neighbouring powers of two
    only when it would otherwise hold fewer than two ticks (a narrow range of speedups).
    """
    margin = 2.0**0.2
    low, high = float(values.min()) / margin, float(values.max()) * margin
    exponents = range(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)
    if len(exponents) < 2:
        low, high = 2.0 ** math.floor(math.log2(low)), 2.0 ** math.ceil(math.log2(high))
        exponents = range(round(math.log2(low)), round(math.log2(high)) + 1)
    getattr(axes, f"set_{axis}scale")("log", base=2)
    getattr(axes, f"set_{axis}lim")(low, high)
    ticks = getattr(axes, f"{axis}axis")
    ticks.set_major_locator(FixedLocator([2.0**exponent for exponent in exponents]))
    ticks.set_major_formatter(StrMethodFormatter("{x:g}"))
    ticks.set_minor_locator(NullLocator())


def side_legend(axes: Any, handles: list[Any], labels: list[str], title: str) -> None:
    """The legend right of the axes, its title a small left-aligned note.

    Outside the axes: with eight or nine methods (or a dozen papers) a legend inside would hide
    some curve.
    """
    axes.legend(
        handles=handles,
        labels=labels,
        title=title,
        title_fontsize="small",
        alignment="left",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
    )


def save(figure: Figure, path: Path) -> None:
    """Write the PNG under a temporary name and rename it, so no half-written file is left."""
    with atomic_file(path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)
