"""The grid of cells and the directory of finished cells that makes re-runs incremental."""

import pytest

from prunebench.foundations.errors import PrunebenchError
from prunebench.pipeline.cells import Cell, CellStore, fingerprint, grid, run_cells, validate_grid


def test_cell_names_round_trip():
    assert Cell(2.0, 0).name == "c2-s0"
    assert Cell(2.5, 11).name == "c2.5-s11"
    assert Cell.from_name("c2.5-s11") == Cell(2.5, 11)
    assert grid([4, 2], [1, 0]) == [Cell(2, 0), Cell(2, 1), Cell(4, 0), Cell(4, 1)]


@pytest.mark.parametrize(
    ("compressions", "seeds", "message"),
    [
        ([], [0], "compressions must be a non-empty list"),
        ([1], [0], "compression 1 is out of range"),
        ([0.5], [0], "compression 0.5 is out of range"),
        ([float("inf")], [0], "compression inf is out of range"),
        (["8"], [0], "compression '8' is text, not a number"),
        (["1e9"], [0], "compression '1e9' is text, not a number: YAML reads"),
        (["eight"], [0], "compression 'eight' is not a number"),
        ([2, 2], [0], "compressions contain duplicates"),
        ([2], [-1], "seed -1 is not a non-negative integer"),
        ([2], [0.5], "seed 0.5 is not a non-negative integer"),
        ([2], "0", "seeds must be a non-empty list"),
    ],
)
def test_malformed_grids_are_refused(compressions, seeds, message):
    with pytest.raises(PrunebenchError, match=message):
        validate_grid(compressions, seeds)


def test_store_accepts_only_cells_finished_with_the_same_fingerprint(tmp_path):
    store = CellStore(tmp_path / "cells")
    cell = Cell(2, 0)
    key = fingerprint(cell=cell.name, params={"epochs": 1})
    with store.writing(cell, key) as staging:
        (staging / "result.txt").write_text("one")
    assert store.is_current(cell, key)
    assert not store.is_current(cell, fingerprint(cell=cell.name, params={"epochs": 2}))
    assert store.cells() == [cell]
    assert (store.path(cell) / "result.txt").read_text() == "one"


def test_interrupted_write_leaves_no_cell(tmp_path):
    store = CellStore(tmp_path / "cells")
    cell = Cell(4, 1)
    with pytest.raises(RuntimeError), store.writing(cell, "key") as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("killed")
    assert store.cells() == []
    assert not store.is_current(cell, "key")
    assert list((tmp_path / "cells").iterdir()) == []


def test_rewriting_a_cell_replaces_it_and_retain_only_drops_the_rest(tmp_path):
    store = CellStore(tmp_path)
    for cell in grid([2, 4], [0]):
        with store.writing(cell, "old") as staging:
            (staging / "value").write_text("old")
    with store.writing(Cell(2, 0), "new") as staging:
        (staging / "value").write_text("new")
    (tmp_path / ".c8-s0.partial").mkdir()  # what a killed process leaves behind
    store.retain_only([Cell(2, 0)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c2-s0"]
    assert (store.path(Cell(2, 0)) / "value").read_text() == "new"


def _one_cell(tmp_path):
    store = CellStore(tmp_path / "cells")
    cell = Cell(4, 0)
    with store.writing(cell, "key") as staging:
        (staging / "masks.bin").write_bytes(bytes(range(200)))
        (staging / "live").mkdir()
        (staging / "live" / "curve.tsv").write_text("step\tvalue\n0\t1\n")
    return store, cell


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "masks.bin").write_bytes(bytes(reversed(range(200)))), "does not match"),
        (lambda d: (d / "masks.bin").write_bytes(bytes(range(100))), "does not match"),
        (lambda d: (d / "live" / "curve.tsv").unlink(), "live/curve.tsv is missing"),
        (lambda d: (d / "extra.txt").write_text("?"), "extra.txt was not written with the cell"),
        (lambda d: (d / "cell.json").write_text("{"), "cell.json is damaged"),
    ],
)
def test_a_damaged_cell_is_not_current_and_says_why(tmp_path, caplog, damage, message):
    store, cell = _one_cell(tmp_path)
    assert store.is_current(cell, "key") and store.damage(cell) is None
    damage(store.path(cell))
    assert not store.is_current(cell, "key")
    assert message in store.damage(cell)
    with pytest.raises(PrunebenchError, match="run `dvc repro` to recompute it"):
        store.require_intact()


def test_run_cells_recomputes_damaged_and_missing_cells_and_removes_others_last(tmp_path):
    store = CellStore(tmp_path / "cells")
    computed = []

    def compute(cell, staging):
        computed.append(cell)
        (staging / "value").write_text(cell.name)

    cells = grid([2, 4], [0])
    assert run_cells(store, cells, lambda cell: "key", compute, "test") == 2
    (store.path(Cell(2, 0)) / "value").write_text("c2-s9")  # same size, other bytes
    computed.clear()
    assert run_cells(store, cells, lambda cell: "key", compute, "test") == 1
    assert computed == [Cell(2, 0)]
    assert (store.path(Cell(2, 0)) / "value").read_text() == "c2-s0"

    def fail(cell, staging):
        raise RuntimeError("refused half-way")

    with pytest.raises(RuntimeError):
        run_cells(store, [Cell(8, 0)], lambda cell: "key", fail, "test")
    assert store.cells() == cells, "cells outside the new grid are kept until it is done"
