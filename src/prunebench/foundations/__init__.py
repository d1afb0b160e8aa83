"""Foundations: what every layer may use, and nothing of machine learning.

The one exception type (``errors``), name registries (``registry``), atomic files and the one
sha256 (``files``), dataclasses from params mappings and typed JSON records (``typed``), pinned
CPU numerics (``numerics``), seeds (``seeding``), the run's machine and device
(``environment``) and the words of the pruning taxonomy (``taxonomy``).
"""
