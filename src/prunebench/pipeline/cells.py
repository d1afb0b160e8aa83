"""The strategy x compression x seed x initial model grid, and a directory of verified cells.

DVC decides *which stage* must run; a stage that covers many cells then uses a :class:`CellStore`
to redo only the cells whose inputs changed (:func:`run_cells`). Each cell is a subdirectory
written under a temporary name and renamed into place with a manifest: the fingerprint of its
inputs and the sha256 of every file in it. A cell counts as done only if its fingerprint is the
one asked for *and* its files still match their digests, so a killed run, a damaged or a
truncated file is never taken for a result: it is reported in one line and recomputed.
Cells outside the grid are deleted only after every cell of the grid is done, so a refusal or a
crash half-way never costs finished work, and a stage reports success only once every cell of
its grid is there and verified. A cell that matches its digests but whose content a later stage
cannot read (what a writer bug would leave) is refused naming the folder to delete
(:meth:`CellStore.reading`): a re-run alone would take it as done again.
"""

import hashlib
import json
import logging
import math
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_directory, json_bytes, sha256_file
from prunebench.foundations.typed import Record
from prunebench.pipeline.layout import MANIFEST_FILE

if TYPE_CHECKING:
    import torch


log = logging.getLogger(__name__)


def compression_label(compression: float) -> str:
    """``2 -> "2"``, ``2.5 -> "2.5"``: the compact form used in cell names and metric keys."""
    return f"{compression:g}"


@dataclass(frozen=True, order=True)
class Cell:
    """One operating point of one method: a target compression and a seed, from an initial model.

    Initial model 0's cells keep the names they had before the initial model was a factor of the
    grid (``c2-s0``), so a run of one initial model is the one it always was; initial model k's are
    ``i<k>-c2-s0``. The field order keeps initial model 0's cells in their old sort order.
    """

    compression: float
    seed: int
    initial_model: int = 0

    @property
    def name(self) -> str:
        name = f"c{compression_label(self.compression)}-s{self.seed}"
        return name if self.initial_model == 0 else f"i{self.initial_model}-{name}"

    @classmethod
    def from_name(cls, name: str) -> "Cell":
        initial_model = 0
        if name.startswith("i"):
            prefix, name = name.split("-", 1)
            initial_model = int(prefix.removeprefix("i"))
        compression, seed = name.removeprefix("c").split("-s")
        return cls(float(compression), int(seed), initial_model)


def validate_grid(compressions: object, seeds: object) -> None:
    """Refuse a malformed grid in one line, before any work."""
    if not isinstance(compressions, list) or not compressions:
        raise PrunebenchError(f"compressions must be a non-empty list, got {compressions!r}")
    for compression in compressions:
        if isinstance(compression, str) and _parses_as_number(compression):
            raise PrunebenchError(
                f"compression {compression!r} is text, not a number: YAML reads a number "
                "in exponent form without a decimal point (1e9) as a string; write 1.0e9"
            )
        if isinstance(compression, bool) or not isinstance(compression, int | float):
            raise PrunebenchError(f"compression {compression!r} is not a number")
        if not math.isfinite(compression) or compression <= 1:
            raise PrunebenchError(
                f"compression {compression!r} is out of range: it must be finite and > 1 "
                "(total parameters / nonzero parameters; the unpruned control is 1)"
            )
    if len(set(compressions)) != len(compressions):
        raise PrunebenchError(f"compressions contain duplicates: {compressions!r}")
    labels: dict[str, float] = {}
    for compression in compressions:
        other = labels.setdefault(compression_label(compression), compression)
        if other != compression:
            raise PrunebenchError(
                f"compressions {other!r} and {compression!r} would share the cell "
                f"c{compression_label(compression)} (cells are named to 6 significant digits); "
                "drop one or make them differ within 6 digits"
            )
    if not isinstance(seeds, list) or not seeds:
        raise PrunebenchError(f"seeds must be a non-empty list, got {seeds!r}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise PrunebenchError(f"seed {seed!r} is not a non-negative integer")
    if len(set(seeds)) != len(seeds):
        raise PrunebenchError(f"seeds contain duplicates: {seeds!r}")


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def grid(
    compressions: Iterable[float], seeds: Iterable[int], initial_models: Iterable[int] = (0,)
) -> list[Cell]:
    """Every (compression, seed) cell from every initial model, sorted."""
    return sorted(
        Cell(float(c), int(s), int(i)) for c in compressions for s in seeds for i in initial_models
    )


def tree_digest(paths: Iterable[Path]) -> str:
    """Digest of the names and contents of every file under ``paths`` (a file: its name).

    Names are relative to each path, so a directory's digest does not depend on where it is.
    """
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            name = path.name if path == root else path.relative_to(root).as_posix()
            digest.update(f"{name}\0{sha256_file(path)}".encode())
    return digest.hexdigest()


def fingerprint(**inputs: object) -> str:
    """A stable digest of a cell's inputs (JSON-serialisable values and digests of files)."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digests(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }


@dataclass(frozen=True)
class CellManifest(Record):
    """``cell.json``: what a finished cell was computed from, and the digest of each file."""

    described_as = "cell manifest"

    fingerprint: str
    """The digest of the cell's inputs and its stage's code (:func:`fingerprint`)."""
    files: dict[str, str]
    """sha256 of every other file of the cell, by its path inside the cell."""

    @classmethod
    def of(cls, directory: Path) -> "CellManifest | None":
        """The manifest of the cell in ``directory``; None if it has none or it is malformed."""
        try:
            return cls.from_json(json.loads((directory / MANIFEST_FILE).read_text()))
        except (OSError, ValueError, PrunebenchError):
            return None


class CellStore:
    """A directory whose subdirectories are finished cells, each with its manifest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, cell: Cell) -> Path:
        return self.root / cell.name

    def cells(self) -> list[Cell]:
        """The cells present with a manifest, in grid order (see :meth:`require_intact`)."""
        if not self.root.is_dir():
            return []
        names = (
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and (entry / MANIFEST_FILE).is_file()
        )
        return sorted(Cell.from_name(name) for name in names)

    def damage(self, cell: Cell) -> str | None:
        """Why ``cell`` is not intact (one line), or None if its files match their digests."""
        directory = self.path(cell)
        if not (directory / MANIFEST_FILE).is_file():
            return f"{directory} is unfinished (no {MANIFEST_FILE})"
        manifest = CellManifest.of(directory)
        if manifest is None:
            return f"{directory}/{MANIFEST_FILE} is damaged"
        recorded = manifest.files
        actual = _file_digests(directory)
        for name in sorted(set(recorded) | set(actual)):
            if name not in actual:
                return f"{directory}/{name} is missing"
            if name not in recorded:
                return f"{directory}/{name} was not written with the cell"
            if actual[name] != recorded[name]:
                return f"{directory}/{name} does not match the sha256 recorded when it was written"
        return None

    def is_current(self, cell: Cell, cell_fingerprint: str) -> bool:
        """Whether ``cell`` was written from these inputs and is intact; damage is logged."""
        manifest = CellManifest.of(self.path(cell))
        if manifest is None or manifest.fingerprint != cell_fingerprint:
            return False
        problem = self.damage(cell)
        if problem is not None:
            log.warning("%s; recomputing the cell", problem)
            return False
        return True

    def require_intact(self) -> list[Cell]:
        """The finished cells, for a later stage to read; a damaged one stops it in one line."""
        cells = self.cells()
        for cell in cells:
            problem = self.damage(cell)
            if problem is not None:
                raise PrunebenchError(f"{problem}; run `dvc repro` to recompute it")
        return cells

    @contextmanager
    def reading(self, cell: Cell) -> Iterator[Path]:
        """Yield ``cell``'s folder to read; a refusal raised while reading it says what to do.

        The cell matches the digests it was written with, so DVC and its stage take it as done
        and a re-run would refuse it again: only deleting the folder makes the stage recompute it.
        """
        directory = self.path(cell)
        try:
            yield directory
        except PrunebenchError as error:
            raise PrunebenchError(
                f"{error}; the cell matches the digests it was written with, so a re-run keeps "
                f"it: delete {directory} and run `dvc repro` to recompute it"
            ) from None

    def require_current(self, cells: Iterable[Cell], fingerprint_of: Callable[[Cell], str]) -> None:
        """Refuse in one line a cell of ``cells`` not written from its inputs or not intact: what a
        stage checks before it reports success."""
        for cell in cells:
            if not self.is_current(cell, fingerprint_of(cell)):
                raise PrunebenchError(
                    f"{self.path(cell)} is missing or incomplete after its stage ran; run `dvc "
                    "repro` again"
                )

    def retain_only(self, cells: Iterable[Cell]) -> None:
        """Delete cells outside ``cells`` and leftovers of interrupted writes."""
        keep = {cell.name for cell in cells}
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.name not in keep or not (entry / MANIFEST_FILE).is_file():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    @contextmanager
    def writing(self, cell: Cell, cell_fingerprint: str) -> Iterator[Path]:
        """Yield an empty temporary directory; on success it replaces the cell atomically."""
        with atomic_directory(self.path(cell)) as staging:
            yield staging
            manifest = CellManifest(fingerprint=cell_fingerprint, files=_file_digests(staging))
            (staging / MANIFEST_FILE).write_bytes(json_bytes(manifest.to_json()))


class Runner(Protocol):
    """Runs cells elsewhere (``prunebench.pipeline.runners``: Ray workers) and returns their
    files; the stage process stays the only writer. Without one, cells run in process."""

    def describe(self) -> str: ...

    def run(
        self,
        compute: "Callable[[Cell, Path], None]",
        cells: "list[Cell]",
        *,
        device: "torch.device | None",
    ) -> "Iterator[tuple[Cell, dict[str, bytes]]]": ...


def run_cells(
    store: CellStore,
    cells: list[Cell],
    fingerprint_of: Callable[[Cell], str],
    compute: Callable[[Cell, Path], None],
    description: str,
    *,
    runner: Runner | None = None,
    device: "torch.device | None" = None,
) -> int:
    """Compute every cell of ``cells`` that is not current in ``store``; return how many ran.

    Args:
        store: where the method's finished cells are.
        cells: the grid the store must hold once this returns.
        fingerprint_of: a cell's fingerprint (its inputs and the stage's code).
        compute: ``compute(cell, staging)`` writes the cell's files into ``staging``.
        description: what the progress bar says.
        runner: runs pending cells elsewhere (None: in this process, one after the other). The
            stage script chooses it from the environment; where a cell runs never enters its
            fingerprint.
        device: the device ``compute`` uses (a runner gives each cell one).

    Cells of ``store`` that are not in ``cells`` are removed only after all of ``cells`` are
    done, so a refusal or a crash half-way never costs finished work. An empty ``cells`` (its
    input stage wrote none) is refused, and so is a cell that is not current once all have run.
    """
    from tqdm.auto import tqdm

    if not cells:
        raise PrunebenchError(
            f"{description}: no cells to compute (its input stage wrote none); run `dvc repro`"
        )
    pending = [cell for cell in cells if not store.is_current(cell, fingerprint_of(cell))]
    progress = tqdm(total=len(pending), desc=description, unit="cell", leave=False)
    with progress:
        if runner is not None and len(pending) > 1:
            log.info("%s: %d cells on %s", description, len(pending), runner.describe())
            for cell, files in runner.run(compute, pending, device=device):
                with store.writing(cell, fingerprint_of(cell)) as staging:
                    write_files(staging, files)
                progress.update()
        else:
            for cell in pending:
                with store.writing(cell, fingerprint_of(cell)) as staging:
                    compute(cell, staging)
                progress.update()
    store.retain_only(cells)
    store.require_current(cells, fingerprint_of)
    return len(pending)


def write_files(directory: Path, files: dict[str, bytes]) -> None:
    """Write a cell's files, as a runner returned them (``{relative path: bytes}``)."""
    for name, payload in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
