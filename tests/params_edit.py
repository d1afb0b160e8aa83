"""Editing params the way tests need: ``section__name=value`` keyword arguments."""

import copy
from pathlib import Path

import yaml


def with_changes(params: dict, **changes) -> dict:
    """A deep copy of ``params`` with ``section__name=value`` (or ``section=value``) applied."""
    changed = copy.deepcopy(params)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            changed[section][name] = value
        else:
            changed[section] = value
    return changed


def edit_params(repo: Path, **changes) -> None:
    """Rewrite ``repo``'s params.yaml with ``changes`` (see :func:`with_changes`)."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(with_changes(params, **changes), sort_keys=False))
