"""Disjoint sets, to merge the channels that a shortcut ties across Torch-Pruning's groups."""

from collections.abc import Hashable


class UnionFind:
    """Disjoint sets of hashable keys; ``None`` is the set of units that must not be pruned.

    Example::

        >>> sets = UnionFind()
        >>> sets.union("a", "b")
        >>> sets.find("a") == sets.find("b")
        True
        >>> sets.union("b", None)
        >>> sets.find("a") is None
        True
    """

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, key: Hashable) -> Hashable:
        """The representative of ``key``'s set (a new set of its own if ``key`` is new)."""
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, first: Hashable, second: Hashable) -> None:
        """Merge the sets of ``first`` and ``second``."""
        first, second = self.find(first), self.find(second)
        if first != second:
            # The unprunable set (None) always stays the representative of its set.
            if second is None:
                first, second = second, first
            self.parent[second] = first
