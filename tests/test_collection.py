"""The test run's own order: conftest collects the longest modules first."""

from pathlib import Path

from conftest import LONGEST_FIRST


def test_every_module_collected_first_exists():
    here = Path(__file__).resolve().parent
    assert [name for name in LONGEST_FIRST if not (here / name).is_file()] == []
