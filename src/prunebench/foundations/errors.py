"""The one exception type that carries a user-facing message, and the guard on foreign code.

Stages turn a :class:`PrunebenchError` into a single ``error: ...`` line on stderr and a non-zero
exit, before writing any output. Library code raises it for bad input: unknown names, out-of-range
values, files that fail validation. Anything else is a bug and keeps its traceback, except what
code prunebench did not write raises (:func:`foreign_code`): a researcher's strategy is input too.
"""

from collections.abc import Iterator
from contextlib import contextmanager


class PrunebenchError(Exception):
    """Bad input, explained in one line that names the problem (and the valid choices)."""


@contextmanager
def foreign_code(what: str) -> Iterator[None]:
    """Run code prunebench did not write (a researcher's strategy, its options): whatever it
    raises becomes one :class:`PrunebenchError` naming ``what``.

    ``SystemExit`` and ``KeyboardInterrupt`` included: a ``sys.exit()`` in a score function
    would otherwise end the stage with exit status 0 and nothing written, which DVC records as
    success.

    Example::

        >>> import sys
        >>> try:
        ...     with foreign_code("strategy 'sys:exit'"):
        ...         sys.exit()
        ... except PrunebenchError as error:
        ...     print(error)
        strategy 'sys:exit' raised SystemExit: it called sys.exit()
    """
    try:
        yield
    except PrunebenchError:
        raise
    except BaseException as error:
        raise PrunebenchError(f"{what} raised {describe_failure(error)}") from None


def describe_failure(error: BaseException) -> str:
    """``"ValueError: bad"``; ``"SystemExit: it called sys.exit(3)"`` (its message is its code)."""
    if isinstance(error, SystemExit):
        return f"SystemExit: it called sys.exit({'' if error.code is None else repr(error.code)})"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
