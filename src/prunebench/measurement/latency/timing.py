"""One timing: the median and interquartile range of a call's wall-clock time.

Calls timed together have their repeats interleaved (:func:`time_interleaved`), so that a change
of the machine's load falls on every call alike and a ratio of two timings compares like with like.
"""

import gc
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.typed import Record


@dataclass(frozen=True)
class Timing(Record):
    """Wall-clock times of repeated calls: median and interquartile range in milliseconds."""

    kind = "timing"

    median_ms: float
    iqr_ms: float
    repeats: int

    @classmethod
    def from_samples(cls, samples_ns: Sequence[int]) -> "Timing":
        """The timing of ``samples_ns`` (nanoseconds); quantiles by linear interpolation.

        Example: samples of 1, 2, 3, 4 and 5 ms give a median of 3 ms and an IQR of 4 - 2 = 2 ms.
        """
        milliseconds = np.asarray(samples_ns, dtype=np.float64) / 1e6
        q25, median, q75 = np.percentile(milliseconds, [25, 50, 75])
        return cls(float(median), float(q75 - q25), len(milliseconds))


def check_counts(repeats: int, warmup: int) -> None:
    """Refuse, in one line, a number of timed or warm-up runs that is not a count."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise PrunebenchError(f"latency repeats must be an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise PrunebenchError(f"latency warmup must be an integer >= 0, got {warmup!r}")


def synchronize(device: torch.device) -> None:
    """Wait for ``device``'s queued work."""
    # CUDA kernels run asynchronously: without this the clock would stop at the launch.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_ns(call: Callable[[], object], device: torch.device) -> int:
    """Nanoseconds one ``call`` takes, its device work included."""
    synchronize(device)
    start = time.perf_counter_ns()
    call()
    synchronize(device)
    return time.perf_counter_ns() - start


def forward(model: nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    """A call that runs ``model(inputs)``."""

    def call() -> object:
        return model(inputs)

    return call


def time_interleaved(
    calls: Mapping[str, Callable[[], object]],
    *,
    repeats: int,
    warmup: int,
    device: torch.device,
) -> dict[str, Timing]:
    """A :class:`Timing` per call: ``warmup`` untimed runs each, then ``repeats`` rounds.

    One round runs every call once, starting one call later each round: a change of the machine's
    load, or a cache effect of running after another model, then falls on every call alike.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    names = list(calls)
    samples: dict[str, list[int]] = {name: [] for name in names}
    # A garbage collection pause inside a timed call would be noise that belongs to no model.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(repeats):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(run_ns(calls[name], device))
    finally:
        if collecting:
            gc.enable()
    return {name: Timing.from_samples(samples[name]) for name in names}


def time_forward(model: nn.Module, example: torch.Tensor, *, repeats: int, warmup: int) -> Timing:
    """The :class:`Timing` of ``model(example)`` in eval mode under ``torch.inference_mode()``.

    ``warmup`` untimed calls, then ``repeats`` timed ones; on CUDA each timed call includes its
    kernels. ``model``'s train/eval mode is restored afterwards.
    """
    check_counts(repeats, warmup)
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            timings = time_interleaved(
                {"model": forward(model, example)},
                repeats=repeats,
                warmup=warmup,
                device=example.device,
            )
    finally:
        model.train(training)
    return timings["model"]


def machine_load() -> float | None:
    """The 1-minute load average of the machine, where the OS reports one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
