"""The Answer's last paragraph: how far the method under evaluation falls from the unpruned
control, target by target.

The control is one deterministic number, so each change is a one-sample interval over the
evaluated method's seeds (:mod:`prunebench.reporting.statistics`, family ``control``).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from prunebench.reporting.report.formatting import interval, target, targets, uncorrected_points
from prunebench.reporting.statistics import AUC, BETTER, CONTROL, NO_DIFFERENCE, WORSE, Comparison
from prunebench.reporting.tables import percent

# Each verdict against the control, as the sentence names what it found.
FINDINGS = ((BETTER, "gain"), (NO_DIFFERENCE, "no detectable change"), (WORSE, "drop"))


def control_lines(
    strategy: str,
    control: Mapping[str, Any],
    comparisons: Sequence[Comparison],
    controls: Mapping[int, float] | None = None,
) -> list[str]:
    """One paragraph: the change in top-1 at every target, then where it is a gain or a drop.

    ``controls``: each initial model's control top-1, in a run of several, where each run is
    compared with its own initial model's control.
    """
    changes = [c for c in comparisons if c.reference == CONTROL and c.point != AUC]
    if not changes:
        return []
    value = f"top-1 {percent(control.get('top1'))}"
    if controls:
        value = "each run against its own initial model's: top-1 " + ", ".join(
            f"{percent(top1)} (initial model {k})" for k, top1 in sorted(controls.items())
        )
    sentence = (
        f"**Against the unpruned control** ({value}): change in "
        f"top-1 of `{strategy}`: "
        + "; ".join(f"{target(c)} {interval(c, short=True)}" for c in changes)
        + "."
    )
    for verdict, what in FINDINGS:
        found = [c for c in changes if c.verdict == verdict]
        if found:
            label = what if verdict == NO_DIFFERENCE else f"a detectable {what}"
            where = "at every target" if len(found) == len(changes) else f"at {targets(found)}"
            sentence += f" {label[0].upper()}{label[1:]} {where}"
            sentence += (uncorrected_points(found) if verdict == NO_DIFFERENCE else "") + "."
    return [sentence]
