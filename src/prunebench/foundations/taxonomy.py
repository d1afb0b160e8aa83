"""The words of the pruning taxonomy (Blalock et al. 2020, section 2), one enum each.

A pruning method is a score, an allocation, a structure and a pruning schedule. Strategies
declare these properties, measurement reads the structure (how a pruned model can run) and
reporting reads all of them (colours, markers, the checklist's baseline kinds); all of them use
these enums, so no module spells a property as a string of its own.

The members are strings (``StrEnum``): they compare equal to their values, and a record written
to JSON holds the plain value (``"global"``), as params and reports do.

Example::

    >>> Allocation("layerwise") is Allocation.LAYERWISE
    True
    >>> PruningSchedule.ONE_SHOT == "one_shot"
    True
"""

from enum import StrEnum


class Allocation(StrEnum):
    """How many weights (or channels) each layer keeps."""

    GLOBAL = "global"
    """One threshold over the whole network: the highest scores anywhere are kept."""
    LAYERWISE = "layerwise"
    """The same fraction of every layer is kept."""
    MATCHED = "matched"
    """A matched control's: the method under evaluation's own per-layer counts, copied."""


class Structure(StrEnum):
    """What a mask removes together."""

    UNSTRUCTURED = "unstructured"
    """Each weight on its own."""
    CHANNEL = "channel"
    """Whole output channels, with everything that depends on them (``sparsity.channels``)."""


class PruningSchedule(StrEnum):
    """When masks are computed, relative to finetuning (not the learning-rate schedule)."""

    ONE_SHOT = "one_shot"
    """Once, before finetuning."""
    ITERATIVE = "iterative"
    """In rounds, each followed by the finetuning recipe."""
    GRADUAL = "gradual"
    """Tightened step by step during finetuning, then held."""


def choices(enum: type[StrEnum]) -> str:
    """``"a, b, c"``: an enum's values, for the one-line refusal of an unknown one."""
    return ", ".join(member.value for member in enum)
