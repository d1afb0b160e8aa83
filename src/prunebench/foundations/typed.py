"""Typed hyperparameters from params: a dataclass built from a mapping, unknown keys refused.

One mechanism for every place params.yaml sets fields of a dataclass: the params sections
(``prunebench.pipeline.params``) and each strategy's own hyperparameters (``prune.options``).
"""

from dataclasses import fields, is_dataclass
from typing import Any, TypeVar, get_args

from prunebench.foundations.errors import PrunebenchError

T = TypeVar("T")


def from_mapping(cls: type[T], raw: object, name: str) -> T:
    """Build dataclass ``cls`` from ``raw`` (a params mapping; None is empty), refusing in one line
    a key ``cls`` does not have (naming the valid ones) and a value of the wrong type."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PrunebenchError(f"{name} must be a mapping, got {raw!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        valid = ", ".join(sorted(known)) or "none (it takes no options)"
        raise PrunebenchError(f"unknown key {name}.{unknown[0]}; valid keys: {valid}")
    for key, value in raw.items():
        hint = known[key].type
        allowed = tuple(kind for kind in get_args(hint) or (hint,) if kind is not type(None))
        if value is not None and not _is_instance(value, allowed):
            raise PrunebenchError(f"{name}.{key} has the wrong type: {value!r}")
    return cls(**raw)


def as_mapping(options: Any) -> dict[str, Any]:
    """The fields of dataclass instance ``options`` as a plain dict (JSON-ready if they are)."""
    if not is_dataclass(options) or isinstance(options, type):
        raise TypeError(f"expected a dataclass instance, got {options!r}")
    return {f.name: getattr(options, f.name) for f in fields(options)}


def _is_instance(value: object, allowed: tuple) -> bool:
    for kind in allowed:
        if not isinstance(kind, type):  # a string annotation or a generic: checked by the class
            return True
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind not in (int, float) and isinstance(value, kind):
            return True
    return False
