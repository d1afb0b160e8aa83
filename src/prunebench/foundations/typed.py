"""Typed values from plain mappings: params sections, strategy options and records on disk.

Two mechanisms, one per direction of trust:

- :func:`from_mapping` builds the dataclass a params section or a strategy's options declare,
  refusing an unknown key (naming the valid ones) or a value of the wrong type in one line;
- :class:`Record` is the base of every typed record the pipeline writes or reads (resolved stage
  configs, metrics, training summaries, latency records, cell manifests, the report's setup):
  :meth:`Record.to_json` and :meth:`Record.from_json` are one lossless round trip through plain
  JSON values, nested records, enums, lists and optional fields included.

Example::

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Budget(Record):
    ...     epochs: int
    ...     steps: int
    >>> Budget.from_json({"epochs": 2, "steps": 80}).to_json()
    {'epochs': 2, 'steps': 80}
"""

import math
import types
from dataclasses import MISSING, Field, dataclass, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin, get_type_hints

from prunebench.foundations.errors import PrunebenchError, foreign_code

T = TypeVar("T")


def from_mapping(cls: type[T], raw: object, name: str) -> T:
    """Build dataclass ``cls`` from ``raw`` (a params mapping; None is empty), refusing in one line
    a key ``cls`` does not have (naming the valid ones), a value of the wrong type, ``null`` where
    the field is not optional, and NaN (which compares unequal to everything, so no range check
    would catch it). ``cls``'s own checks (``__post_init__``) may be a researcher's code: what
    they raise is refused in one line too."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PrunebenchError(f"{name} must be a mapping, got {raw!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        valid = ", ".join(sorted(known)) or "none (it takes no options)"
        raise PrunebenchError(f"unknown key {name}.{unknown[0]}; valid keys: {valid}")
    hints = _field_hints(cls)
    for key, value in raw.items():
        hint = hints[key]
        kinds = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
        allowed = tuple(kind for kind in kinds if kind is not type(None))
        if value is None:
            if len(allowed) == len(kinds) and not isinstance(hint, str):
                raise PrunebenchError(f"{name}.{key} is null where a value is required")
        elif isinstance(value, float) and math.isnan(value):
            raise PrunebenchError(f"{name}.{key} is NaN; give a number")
        elif not _is_instance(value, allowed):
            raise PrunebenchError(f"{name}.{key} has the wrong type: {value!r}")
    with foreign_code(name):
        return cls(**raw)


def _field_hints(cls: type) -> dict[str, Any]:
    """Each field's type, string annotations resolved where they can be (a string that cannot
    stays a string, which every check above lets through)."""
    try:
        return get_type_hints(cls)
    except Exception:  # a researcher's options may name a type only their module can see
        return {item.name: item.type for item in fields(cls)}


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


OMIT_IF_NONE = {"omit_if_none": True}
"""Field metadata: leave the key out of the JSON when the value is None (an optional entry that
older records never had, so that their bytes stay the same)."""


@dataclass(frozen=True)
class Record:
    """Base of a typed record: a frozen dataclass with a lossless JSON round trip.

    Fields may be JSON scalars, enums, other records, and lists, tuples, dicts or optionals of
    them; ``dict`` and ``Any`` fields hold plain JSON values as they are. Keys are the field
    names, so a record's file and its code use one name for each value.
    """

    described_as: ClassVar[str] = "record"
    """What the record is called in a refusal ("metrics record", ...)."""

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values (``json.dumps``-ready)."""
        return _to_json(self)

    @classmethod
    def from_json(cls, data: object, where: str | None = None) -> Self:
        """The record from plain JSON values; a missing, unknown or mistyped field is refused in
        one line naming ``where`` (a file, say) and the field."""
        return _from_json(cls, data, where or cls.described_as)

    @classmethod
    def extend(cls, base: "Record", **more: Any) -> Self:
        """This record type made of ``base``'s fields (``cls`` extends ``type(base)``) and
        ``more``: e.g. a cell's metrics from the model's metrics and what the cell is."""
        return cls(**{item.name: getattr(base, item.name) for item in fields(base)}, **more)

    def write(self, path: Path) -> None:
        """Write the record to ``path`` as JSON, atomically (``files.write_json``)."""
        from prunebench.foundations.files import write_json

        write_json(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> Self:
        """Read a record written by :meth:`write`; a malformed file is refused in one line."""
        from prunebench.foundations.files import read_json

        return cls.from_json(read_json(path), str(path))


def _to_json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for item in fields(value):
            entry = getattr(value, item.name)
            if entry is None and item.metadata.get("omit_if_none"):
                continue
            out[item.name] = _to_json(entry)
        return out
    if isinstance(value, list | tuple):
        return [_to_json(entry) for entry in value]
    if isinstance(value, dict):
        return {key: _to_json(entry) for key, entry in value.items()}
    return value


_SCALARS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def _from_json(hint: Any, value: object, where: str) -> Any:
    if hint is Any or hint is object:
        return value
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(hint) if option is not type(None)]
        if value is None:
            if len(options) < len(get_args(hint)):
                return None
            raise PrunebenchError(f"{where} is null where a value is required")
        errors = []
        for option in options:
            try:
                return _from_json(option, value, where)
            except PrunebenchError as error:
                errors.append(error)
        raise errors[0]
    if value is None:
        raise PrunebenchError(f"{where} is null where a value is required")
    if isinstance(hint, type) and is_dataclass(hint):
        return _dataclass_from_json(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            valid = ", ".join(str(member.value) for member in hint)
            raise PrunebenchError(f"{where} is {value!r}; valid choices: {valid}") from None
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            raise PrunebenchError(f"{where} must be a list, got {value!r}")
        arguments = get_args(hint)
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:
            items = [_from_json(a, v, f"{where}[{i}]") for i, (a, v) in
                     enumerate(zip(arguments, value, strict=True))]  # fmt: skip
        else:
            item = arguments[0] if arguments else Any
            items = [_from_json(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or hint) is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise PrunebenchError(f"{where} must be a mapping, got {value!r}")
        arguments = get_args(hint)
        item = arguments[1] if arguments else Any
        return {key: _from_json(item, v, f"{where}.{key}") for key, v in value.items()}
    if hint in _SCALARS:
        if not _is_instance(value, (hint,)):
            raise PrunebenchError(f"{where} must be {_SCALARS[hint]}, got {value!r}")
        return value
    return value


def _dataclass_from_json(cls: type, value: object, where: str) -> Any:
    if not isinstance(value, dict):
        raise PrunebenchError(f"{where} must be a mapping, got {value!r}")
    known: dict[str, Field] = {item.name: item for item in fields(cls) if item.init}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise PrunebenchError(
            f"{where} has an unknown field {unknown[0]!r}; valid fields: {', '.join(known)}"
        )
    hints = get_type_hints(cls)
    arguments = {}
    for name, item in known.items():
        if name not in value:
            if item.default is MISSING and item.default_factory is MISSING:
                raise PrunebenchError(f"{where} lacks the field {name!r}")
            continue
        arguments[name] = _from_json(hints[name], value[name], f"{where}.{name}")
    return cls(**arguments)
