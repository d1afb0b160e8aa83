"""The strategy x compression x seed grid, and a directory of finished cells.

DVC decides *which stage* must run; a stage that covers many cells then uses a :class:`CellStore`
to redo only the cells whose inputs changed. Each cell is a subdirectory written under a
temporary name and renamed into place with a fingerprint of its inputs, so a killed run never
leaves a cell that a re-run would accept, and adding a compression or a seed computes only the
new cells.
"""

import hashlib
import json
import math
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prunebench.errors import PrunebenchError
from prunebench.files import atomic_directory

FINGERPRINT_FILE = "fingerprint"


def compression_label(compression: float) -> str:
    """``2 -> "2"``, ``2.5 -> "2.5"``: the compact form used in cell names and metric keys."""
    return f"{compression:g}"


@dataclass(frozen=True, order=True)
class Cell:
    """One operating point of one method: a target compression and a seed."""

    compression: float
    seed: int

    @property
    def name(self) -> str:
        return f"c{compression_label(self.compression)}-s{self.seed}"

    @classmethod
    def from_name(cls, name: str) -> "Cell":
        compression, seed = name.removeprefix("c").split("-s")
        return cls(float(compression), int(seed))


def validate_grid(compressions: object, seeds: object) -> None:
    """Refuse a malformed grid in one line, before any work."""
    if not isinstance(compressions, list) or not compressions:
        raise PrunebenchError(f"compressions must be a non-empty list, got {compressions!r}")
    for compression in compressions:
        if isinstance(compression, bool) or not isinstance(compression, int | float):
            raise PrunebenchError(f"compression {compression!r} is not a number")
        if not math.isfinite(compression) or compression <= 1:
            raise PrunebenchError(
                f"compression {compression!r} is out of range: it must be finite and > 1 "
                "(total parameters / nonzero parameters; the unpruned control is 1)"
            )
    if len(set(compressions)) != len(compressions):
        raise PrunebenchError(f"compressions contain duplicates: {compressions!r}")
    if not isinstance(seeds, list) or not seeds:
        raise PrunebenchError(f"seeds must be a non-empty list, got {seeds!r}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise PrunebenchError(f"seed {seed!r} is not a non-negative integer")
    if len(set(seeds)) != len(seeds):
        raise PrunebenchError(f"seeds contain duplicates: {seeds!r}")


def grid(compressions: Iterable[float], seeds: Iterable[int]) -> list[Cell]:
    return sorted(Cell(float(c), int(s)) for c in compressions for s in seeds)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(paths: Iterable[Path], suffixes: tuple[str, ...] = ()) -> str:
    """Digest of every file under ``paths`` (optionally only those ending in ``suffixes``)."""
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if suffixes and not path.name.endswith(suffixes):
                continue
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(file_digest(path).encode())
    return digest.hexdigest()


def fingerprint(**inputs: object) -> str:
    """A stable digest of a cell's inputs (JSON-serialisable values and digests of files)."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CellStore:
    """A directory whose subdirectories are finished cells, each with its inputs' fingerprint."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, cell: Cell) -> Path:
        return self.root / cell.name

    def cells(self) -> list[Cell]:
        """The finished cells present, in grid order."""
        if not self.root.is_dir():
            return []
        names = (
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and (entry / FINGERPRINT_FILE).is_file()
        )
        return sorted(Cell.from_name(name) for name in names)

    def is_current(self, cell: Cell, cell_fingerprint: str) -> bool:
        marker = self.path(cell) / FINGERPRINT_FILE
        return marker.is_file() and marker.read_text() == cell_fingerprint

    def retain_only(self, cells: Iterable[Cell]) -> None:
        """Delete cells outside ``cells`` and leftovers of interrupted writes."""
        keep = {cell.name for cell in cells}
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.name not in keep or not (entry / FINGERPRINT_FILE).is_file():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    @contextmanager
    def writing(self, cell: Cell, cell_fingerprint: str) -> Iterator[Path]:
        """Yield an empty temporary directory; on success it replaces the cell atomically."""
        with atomic_directory(self.path(cell)) as staging:
            yield staging
            (staging / FINGERPRINT_FILE).write_text(cell_fingerprint)
