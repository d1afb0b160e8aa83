"""Which source files can change a result: the import closure of a stage, and its digest.

This is the one answer to "which code does a stage run?". It is used twice, so the two can never
disagree: a cell's fingerprint includes the digest of the closure (so a cell is recomputed when
its code changed), and a test checks that every file of the closure is covered by the stage's
``deps`` in ``dvc.yaml`` (so DVC starts the stage when that code changed).

The closure is computed statically, from the ``import`` statements of the source (inside
functions too), following only modules found under the given search roots (the package's own
source and the stage scripts): nothing is executed, and an import that only some code paths take
still counts. Modules outside the roots (the standard library, torch, a researcher's own
strategy module) are not followed; a module named in params is added by the caller with
:func:`module_file`. One module is declared outside every fingerprint
(:data:`NOT_FINGERPRINTED`): the runner that decides where cells run.
"""

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

import prunebench

PACKAGE_ROOT = Path(prunebench.__file__).resolve().parent
SOURCE_ROOT = PACKAGE_ROOT.parent

NOT_FINGERPRINTED = {
    "prunebench.pipeline.runners": (
        "where a cell runs (this process, Ray workers, a cluster) changes neither its result nor "
        "its cache key; the stage scripts inject the runner into the stage"
    ),
}
"""Modules left out of every closure, with why: editing them re-runs no stage and no cell."""


def module_file(name: str, roots: Iterable[Path]) -> Path | None:
    """The file of module ``name`` under one of ``roots`` (a package's ``__init__.py``), if any."""
    parts = name.split(".")
    for root in roots:
        base = Path(root).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _package_of(path: Path, roots: Iterable[Path]) -> list[str]:
    """The dotted package that ``path`` belongs to, relative to the root that holds it."""
    for root in roots:
        root = Path(root).resolve()
        if path.is_relative_to(root):
            parts = list(path.relative_to(root).with_suffix("").parts)
            return parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    return []


def _imported_names(path: Path, roots: list[Path]) -> set[str]:
    """Every module name ``path`` imports, with ``from a import b`` also giving ``a.b``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, roots)
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    for name in list(names):
        parts = name.split(".")
        names.update(".".join(parts[:end]) for end in range(1, len(parts)))
    return {name for name in names if name}


def import_closure(entries: Iterable[Path], roots: Iterable[Path]) -> list[Path]:
    """Every file under ``roots`` that ``entries`` import, directly or not, entries included."""
    roots = [Path(root).resolve() for root in roots]
    pending = [Path(entry).resolve() for entry in entries]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path, roots) - set(NOT_FINGERPRINTED):
            found = module_file(name, roots)
            if found is not None and found not in seen:
                pending.append(found)
    return sorted(seen)


def stage_closure(script: Path) -> list[Path]:
    """The closure of a stage script: its own directory (``common.py``) and the package."""
    script = Path(script).resolve()
    return import_closure([script], [script.parent, SOURCE_ROOT])


def files_digest(paths: Iterable[Path], relative_to: Path) -> str:
    """sha256 over the names (relative to ``relative_to``) and bytes of ``paths``, in order.

    Names are relative, so the digest is the same in every checkout of the same code.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(p).resolve() for p in paths):
        try:
            name = path.relative_to(Path(relative_to).resolve()).as_posix()
        except ValueError:  # outside the checkout (a researcher's module): its name only
            name = path.name
        digest.update(f"{name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return digest.hexdigest()


def code_digest(script: Path, extra: Iterable[Path] = ()) -> str:
    """The code fingerprint of a stage: digest of its import closure (and ``extra`` files)."""
    files = [*stage_closure(script), *extra]
    return files_digest(files, relative_to=SOURCE_ROOT.parent)
