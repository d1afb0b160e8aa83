"""How each method looks in every figure: colour, marker, line, and the legend's key to them.

Colour says what scores the weights, shade how the budget is allocated, marker the structure and
the schedule: all read from the methods' declared properties, so a method keeps its look in
every figure of every experiment whatever set of methods is drawn, and two methods that differ
in one part only look alike but for that part. The evaluated method stands out; a matched
control wears the evaluated method's colour with a hollow marker.
"""

import zlib
from typing import Any, NamedTuple

import seaborn as sns

from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure
from prunebench.reporting.methods import Methods

Color = tuple[float, float, float]
_TAB10 = sns.color_palette("tab10", 10)
_TAB20B = sns.color_palette("tab20b", 20)
# The hue of each known score (the global allocation's shade); random is grey, the floor every
# method should clear.
SCORE_COLORS: dict[str, Color] = {
    "magnitude": _TAB10[0],
    "lamp": _TAB10[3],
    "gradient": _TAB10[2],
    "activation": _TAB10[4],
    "synflow": _TAB10[5],
    "channel_l1": _TAB10[6],
    "channel_bn": _TAB10[8],
    "random": _TAB10[7],
}
# Scores declared later (a researcher's own) get a hue from their name's hash: stable, if not
# unique. A method declaring no score at all is hashed by its own name.
_SPARE_COLORS: list[Color] = [_TAB10[1], _TAB10[9], *_TAB20B[0:20:4]]
# The layerwise allocation's shade: the hue mixed with this much white. Mixing with white keeps
# the hue exactly, so the two allocations of one score read as one family.
LAYERWISE_LIGHTEN = 0.45
# (structure, schedule) -> marker: circles for unstructured one-shot pruning, squares for
# channels, diamonds for iterative and triangles for gradual schedules; others a star.
MARKERS = {
    (Structure.UNSTRUCTURED, PruningSchedule.ONE_SHOT): "o",
    (Structure.CHANNEL, PruningSchedule.ONE_SHOT): "s",
    (Structure.UNSTRUCTURED, PruningSchedule.ITERATIVE): "D",
    (Structure.CHANNEL, PruningSchedule.ITERATIVE): "P",
    (Structure.UNSTRUCTURED, PruningSchedule.GRADUAL): "v",
    (Structure.CHANNEL, PruningSchedule.GRADUAL): "^",
}
_OTHER_MARKER = "*"
# What each marker stands for, in the legend's key.
_MARKER_WORDS = {
    "o": "● one-shot",
    "s": "■ channels",
    "D": "◆ iterative",
    "P": "✚ channels, iterative",
    "v": "▼ gradual",
    "^": "▲ channels, gradual",
    _OTHER_MARKER: "★ other",
}


def method_color(method: str, methods: Methods | None = None) -> Color:
    """The colour of ``method``: its score's hue, full if global, lightened if layerwise.

    Known scores have a fixed hue; any other score, or a method that declares none, gets one
    from its name's hash.
    """
    score = methods.part(method, "score") if methods is not None else None
    if score in SCORE_COLORS:
        color = SCORE_COLORS[score]
    else:
        key = score if score is not None else method
        color = _SPARE_COLORS[zlib.crc32(key.encode()) % len(_SPARE_COLORS)]
    allocation = methods.part(method, "allocation") if methods is not None else None
    if allocation == Allocation.LAYERWISE:
        return tuple(channel + LAYERWISE_LIGHTEN * (1.0 - channel) for channel in color)
    return tuple(color)


def method_marker(method: str, methods: Methods | None = None) -> str:
    """The marker of ``method``, from its declared structure and schedule."""
    if methods is None:
        return _OTHER_MARKER
    structure = methods.part(method, "structure")
    schedule = methods.part(method, "schedule")
    return MARKERS.get((structure, schedule), _OTHER_MARKER)


class MethodStyle(NamedTuple):
    """How one method is drawn: its legend label, colour, marker, line and band."""

    label: str
    color: Color
    marker: str
    hollow: bool
    linestyle: Any
    linewidth: float
    markersize: float
    band_alpha: float
    zorder: float


# Matched controls by score (what chooses the weights within a layer): line style and marker.
_MATCHED_STYLES = {"magnitude": ("--", "s"), "random": (":", "o")}
_OTHER_MATCHED_STYLE = ("-.", "^")


def method_style(method: str, methods: Methods) -> MethodStyle:
    """How ``method`` is drawn: the evaluated one stands out, matched controls wear its colour."""
    strategy = methods.strategy
    if method == strategy:
        return MethodStyle(
            label=f"{method} (evaluated)",
            color=method_color(method, methods),
            marker=method_marker(method, methods),
            hollow=False,
            linestyle="-",
            linewidth=2.8,
            markersize=7,
            band_alpha=0.2,
            zorder=4,
        )
    if method in methods.matched:
        within = methods.part(method, "score")
        linestyle, marker = _MATCHED_STYLES.get(within, _OTHER_MATCHED_STYLE)
        sizes = f"{strategy}'s layer sizes" + (f", {within}" if within else "")
        return MethodStyle(
            label=f"{method} ({sizes})",
            color=method_color(strategy, methods),
            marker=marker,
            hollow=True,
            linestyle=linestyle,
            linewidth=1.8,
            markersize=6,
            band_alpha=0.1,
            zorder=3,
        )
    return MethodStyle(
        label=method,
        color=method_color(method, methods),
        marker=method_marker(method, methods),
        hollow=False,
        linestyle="-",
        linewidth=1.5,
        markersize=5,
        band_alpha=0.14,
        zorder=2.5,
    )


def style_key(methods: Methods) -> str:
    """The legend's key to colours and markers; the markers' only where they differ."""
    unmatched = [method for method in methods.all if method not in methods.matched]
    key = "\ncolour: score; dark global, light layerwise"
    markers = {method_marker(method, methods) for method in unmatched}
    if len(markers) > 1:
        described = [words for marker, words in _MARKER_WORDS.items() if marker in markers]
        key += "\nmarker: " + ", ".join(described)
    return key
