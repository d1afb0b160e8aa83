"""A researcher's own strategy: ``package.module:attribute`` in any importable module.

The attribute is a :class:`~prunebench.strategies.strategy.Strategy`, or a function of no
arguments returning one. The module is imported like any other (``PYTHONPATH``, an installed
package; the pipeline also puts the checkout's ``strategies/`` folder on the path), and every
problem is refused in one line naming the reference: a malformed reference, a module that does
not import, a missing attribute, an object that is not a strategy.

The files of the module's top-level package are part of the strategy's cell fingerprints
(:func:`package_files`), so editing them recomputes exactly the strategy's cells.
"""

import importlib
import sys
from pathlib import Path
from types import ModuleType

from prunebench.foundations.errors import PrunebenchError, describe_failure
from prunebench.strategies.strategy import Strategy


def _parts(reference: str) -> tuple[str, str]:
    module_name, _, attribute = reference.partition(":")
    dotted = [*module_name.split("."), *attribute.split(".")]
    if not module_name or not attribute or not all(part.isidentifier() for part in dotted):
        raise PrunebenchError(f"strategy {reference!r} is not of the form package.module:attribute")
    return module_name, attribute


def _module(reference: str) -> ModuleType:
    module_name, _ = _parts(reference)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise PrunebenchError(
            f"strategy {reference!r}: no module named {error.name!r}; put it on PYTHONPATH, "
            "install it, or place it under the checkout's strategies/ folder (a queued "
            "experiment, `dvc exp run --queue`, sees only files git tracks: `git add` it first)"
        ) from None
    except BaseException as error:  # the researcher's module failed (or exited) while importing
        raise PrunebenchError(
            f"strategy {reference!r}: importing {module_name!r} failed: {describe_failure(error)}"
        ) from None


def load_strategy(reference: str) -> Strategy:
    """The :class:`Strategy` that ``reference`` (``package.module:attribute``) names."""
    _, attribute = _parts(reference)
    found: object = _module(reference)
    for name in attribute.split("."):
        if not hasattr(found, name):
            raise PrunebenchError(f"strategy {reference!r}: {name!r} is not defined there")
        found = getattr(found, name)
    if isinstance(found, Strategy):
        return found
    if callable(found) and not isinstance(found, type):
        try:
            made = found()
        except PrunebenchError:
            raise
        except BaseException as error:  # sys.exit included: `strategy: sys:exit` exits here
            raise PrunebenchError(
                f"strategy {reference!r} is a {type(found).__name__}, not a prunebench Strategy, "
                f"and calling it with no arguments failed ({describe_failure(error)})"
            ) from None
        if isinstance(made, Strategy):
            return made
        found = made
    raise PrunebenchError(
        f"strategy {reference!r} is a {type(found).__name__}, not a prunebench Strategy "
        "(or a function returning one)"
    )


def package_files(reference: str) -> list[Path]:
    """The ``.py`` files of the top-level package (or the lone module) holding ``reference``."""
    module_name, _ = _parts(reference)
    _module(reference)
    top = sys.modules[module_name.split(".")[0]]
    locations = list(getattr(top, "__path__", []))
    if not locations:
        return [Path(top.__file__).resolve()]
    return sorted(
        {path.resolve() for location in locations for path in Path(location).rglob("*.py")}
    )
