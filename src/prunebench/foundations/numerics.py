"""Pinned CPU numerics: the same bits from a CPU run on every x86-64 machine with AVX2.

On the CPU, PyTorch's kernels (ATen's vectorised loops, oneDNN's convolutions, MKL's matrix
products) pick their code path, and with it the order of floating-point sums, from the
instruction set of the machine and the number of threads. A seeded run therefore reproduces bit
for bit on the same machine but not on another one, and training amplifies the last-bit
differences into different models. Pinning the instruction set every library may use, and the
thread count, removes that choice (``docs/design.md``, "Reproducibility"; the measurements are in
``docs/measurements.md``, "Pinned CPU numerics").

The settings are environment variables that the libraries read once, when torch is imported, so
:func:`pin_cpu_numerics` must run before ``import torch``; the stage scripts call it first thing.
They replace what the environment held; ``PRUNEBENCH_CPU_NUMERICS=native`` opts out (the
libraries' own choices, faster on big machines, not reproducible across them).
:func:`cpu_numerics` reports what was in force, for provenance. Nothing here changes GPU numerics.
"""

import os
import sys

MODE_VARIABLE = "PRUNEBENCH_CPU_NUMERICS"
PINNED = "pinned"
NATIVE = "native"

# Measured (perf/cpu_numerics.py; docs/measurements.md): each of these changes the bits
# of a finetuned LeNet-5. ATen and oneDNN are capped at AVX2, which every x86-64 CPU the benchmark
# targets has, so an AVX512 machine runs the code paths of an AVX2-only one. MKL picks its kernels
# by CPU vendor as well as by instruction set (an Intel and an AMD CPU with the same AVX2 differ,
# even with MKL_CBWR=AVX2); COMPATIBLE is its one mode that gives the same results on both. The
# thread count is fixed because the reduction order of a parallel loop depends on it: two threads
# on every machine (one thread would make finetuning markedly slower on a 2-core machine; two cost
# little against its native setting). Cells are independent, so a bigger machine gains throughput by
# running cells side by side, not threads inside one.
PINNED_ENVIRONMENT = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
}


def pin_cpu_numerics() -> None:
    """Set the pinned environment (unless opted out); must precede the first ``import torch``."""
    mode = os.environ.setdefault(MODE_VARIABLE, PINNED)
    if mode not in (PINNED, NATIVE):
        from prunebench.foundations.errors import PrunebenchError

        raise PrunebenchError(
            f"{MODE_VARIABLE}={mode!r} is not a valid choice; valid choices: {PINNED}, {NATIVE}"
        )
    if mode == NATIVE:
        return
    settings = dict(PINNED_ENVIRONMENT)
    if not _has_avx2():  # forcing AVX2 code on such a CPU dies of an illegal instruction
        del settings["ATEN_CPU_CAPABILITY"], settings["ONEDNN_MAX_CPU_ISA"]
    if all(os.environ.get(name) == value for name, value in settings.items()):
        return  # already in force from the start (a Ray worker gets it from the stage)
    if "torch" in sys.modules:
        raise RuntimeError("pin_cpu_numerics() must run before torch is imported")
    # Overwrite, not setdefault: a thread count left in the environment (Ray sets one for its
    # workers, so do many clusters) would silently change results.
    os.environ.update(settings)


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return True  # not Linux: leave the libraries' dispatch capped as asked
    return "avx2" in flags and "fma" in flags


def cpu_numerics() -> dict[str, str]:
    """The CPU numerics settings in force, for a result's provenance."""
    settings = {"mode": os.environ.get(MODE_VARIABLE, NATIVE)}
    settings.update({name: os.environ.get(name, "") for name in PINNED_ENVIRONMENT})
    return settings
