"""Tests run with the pipeline's pinned CPU numerics, set before anything imports torch."""

import sys
from pathlib import Path

from prunebench.foundations.numerics import pin_cpu_numerics

# params_edit and the other test helpers are imported as top-level modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

if "torch" not in sys.modules:
    pin_cpu_numerics()
