"""Name -> object registries (models, datasets, strategies, benchmarks).

A registry is how a newcomer finds where a thing is defined: every public name a user can put in
``params.yaml`` is registered in exactly one place, next to its definition.
"""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from prunebench.foundations.errors import PrunebenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects whose lookup failure lists the valid names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers its argument under ``name`` and returns it unchanged."""

        def decorate(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorate

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = entry

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise PrunebenchError(
                f"unknown {self.kind} {name!r}; valid choices: {', '.join(self.names())}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
