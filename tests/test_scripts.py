"""Every script of scripts/ and perf/ still imports: a renamed function in the package would
otherwise break a benchmark or a publishing script unnoticed until someone runs it."""

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    path.relative_to(ROOT).as_posix()
    for folder in ("scripts", "perf")
    for path in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_imports_what_it_uses(script):
    # Not run as __main__: the top level (imports, constants) runs, main() does not.
    namespace = runpy.run_path(str(ROOT / script), run_name="imported")
    assert callable(namespace.get("main")), f"{script} has no main()"
