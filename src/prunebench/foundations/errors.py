"""The one exception type that carries a user-facing message.

Stages turn a :class:`PrunebenchError` into a single ``error: ...`` line on stderr and a non-zero
exit, before writing any output. Library code raises it for bad input: unknown names, out-of-range
values, files that fail validation. Anything else is a bug and keeps its traceback.
"""


class PrunebenchError(Exception):
    """Bad input, explained in one line that names the problem (and the valid choices)."""
