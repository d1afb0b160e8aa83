"""Atomic writes: modes from the umask, one line for an unwritable path, nothing half-written."""

import os
import stat

import pytest
import torch

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import (
    atomic_directory,
    atomic_file,
    atomic_write_bytes,
    check_writable,
    sha256_file,
    write_json,
)
from prunebench.sparsity.masks import save_masks


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask):
    expected = 0o666 & ~umask
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    write_json(tmp_path / "b.json", {"a": 1})
    save_masks(tmp_path / "m.safetensors", {"w": torch.ones(2, dtype=torch.bool)}, {"s": 1})
    with atomic_directory(tmp_path / "cell") as staging:
        (staging / "c.txt").write_text("c")
    for name in ("a.bin", "b.json", "m.safetensors", "cell/c.txt"):
        assert mode(tmp_path / name) == expected, name
    assert mode(tmp_path / "cell") == 0o777 & ~umask


def test_the_data_splits_get_the_mode_the_umask_gives(tmp_path, umask):
    """They were written 0600 whatever the umask (safetensors' own writer)."""
    from prunebench.data import load_dataset, materialize

    dataset = load_dataset("fashion_mnist_sample", root=None, validation_size=100, split_seed=0)
    materialize(dataset, tmp_path / "splits")
    for path in sorted((tmp_path / "splits").iterdir()):
        assert mode(path) == 0o666 & ~umask, path.name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_an_unwritable_output_is_one_line_naming_the_path(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(PrunebenchError, match=r"cannot write .*results/cells: .*results is a file"):
        check_writable(blocker / "cells")
    check_writable(tmp_path / "new" / "deeper")  # missing directories are created later


def test_sha256_file(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
