"""The methods of one run and what each of them is, as its strategy declares it.

A strategy is built from the parts of the pruning taxonomy of Blalock et al. (2020, section 2;
:mod:`prunebench.foundations.taxonomy`): a ``score`` (magnitude, gradient, random, ...), an
``allocation`` (global or layerwise; ``matched`` for the matched controls, which take the
evaluated method's per-layer counts), a ``structure`` (unstructured or channel) and a
``schedule`` (one-shot, iterative or gradual), plus ``options``, its hyperparameters. The
resolve stage writes them for every method of the run into the aggregate stage's config
(``methods``); reporting reads them here and never guesses them from a name, so a
researcher's own ``package.module:attribute`` strategy is drawn, paired and judged like a
registry one. Parts compare equal to the taxonomy's enums (``Allocation.GLOBAL == "global"``).

This module imports nothing heavy: the aggregate step uses it before it needs pandas.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Allocation, PruningSchedule, Structure

# The four parts every method declares (``options`` may be empty, so it is not required).
PARTS = ("score", "allocation", "structure", "schedule")


@dataclass(frozen=True)
class Methods:
    """The methods one run compares: the one under evaluation, its baselines and matched controls.

    ``properties`` maps a method's name to its declared parts (``{"score": ..., "allocation":
    ..., "structure": ..., "schedule": ..., "options": {...}}``). A method without an entry has
    no known part: reporting then falls back to what needs no property (a colour hashed from
    the name, no pairing), it never infers one from the name.
    """

    strategy: str
    baselines: Sequence[str]
    matched: Sequence[str] = ()
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Tuples, so that a caller's list cannot change the run after the fact.
        object.__setattr__(self, "baselines", tuple(self.baselines))
        object.__setattr__(self, "matched", tuple(self.matched))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Methods":
        """The run's methods from the aggregate stage's config (``resolved/aggregate.json``).

        Reads ``strategy``, ``baselines``, ``matched_controls`` and ``methods`` (every method's
        properties); a method of the run without its four parts is refused in one line, since
        its report would file it under the wrong kind.
        """
        methods = cls(
            strategy=config["strategy"],
            baselines=config["baselines"],
            matched=config.get("matched_controls", ()),
            properties=config.get("methods") or {},
        )
        for name in methods.all:
            missing = [part for part in PARTS if not methods.properties.get(name, {}).get(part)]
            if missing:
                raise PrunebenchError(
                    f"the aggregate config declares no {', '.join(missing)} for method {name!r} "
                    "(resolved/aggregate.json, key `methods`); run `dvc repro` to resolve it"
                )
        return methods

    @property
    def evaluated_and_baselines(self) -> list[str]:
        """The method under evaluation first, then the baselines, each name once.

        ``strategy`` may itself be a baseline (``-S strategy=layer_grad``); listing it once keeps
        it from being drawn, tabulated or compared against twice.
        """
        return list(dict.fromkeys([self.strategy, *self.baselines]))

    @property
    def all(self) -> list[str]:
        """Every method of the run, each once: evaluated, baselines, matched controls."""
        return list(dict.fromkeys([*self.evaluated_and_baselines, *self.matched]))

    def part(self, method: str, name: str) -> str | None:
        """One declared part of ``method`` (``"score"``, ``"allocation"``, ...), or None."""
        value = self.properties.get(method, {}).get(name)
        return str(value) if value is not None else None

    def with_parts(self, names: Sequence[str], **parts: str) -> list[str]:
        """Those of ``names`` whose declared parts equal all of ``parts``, in order."""
        return [
            name
            for name in dict.fromkeys(names)
            if all(self.part(name, key) == value for key, value in parts.items())
        ]


def allocation_pairs(methods: Methods) -> list[tuple[str, str]]:
    """Each matched control with the baseline that chooses weights within a layer as it does.

    The baseline must have the control's score and differ from it in its allocation only: one
    global threshold (``allocation`` global), unstructured, one-shot, like the control itself.
    Their comparison is then the effect of the evaluated method's per-layer allocation alone.
    With the registry's declarations this pairs ``matched_mag`` with ``global_mag`` and
    ``matched_random`` with ``random``; where several baselines qualify the first listed is
    taken, and a matched control with none is left unpaired.
    """
    pairs = []
    for matched in methods.matched:
        candidates = methods.with_parts(
            methods.baselines,
            score=methods.part(matched, "score"),
            allocation=Allocation.GLOBAL,
            structure=Structure.UNSTRUCTURED,
            schedule=PruningSchedule.ONE_SHOT,
        )
        if methods.part(matched, "score") is not None and candidates:
            pairs.append((matched, candidates[0]))
    return pairs
