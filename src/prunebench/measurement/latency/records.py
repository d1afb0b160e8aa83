"""The typed records of measured latency: what the latency stage writes under ``results/latency``.

The control (``control.json``) is a :class:`ControlLatencyFile`, each cell (``<method>/<cell>/
latency.json``) a :class:`CellLatencyFile`. Both say how and where they were timed
(:class:`LatencyConditions`); a cell has a :class:`BatchLatency` per batch size, the dense
control's :class:`Timing` beside an :class:`ExecutionTiming` per execution. The field names are
the files' keys.
"""

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Self

import torch

from prunebench.foundations.environment import environment
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Structure
from prunebench.foundations.typed import OMIT_IF_NONE, Record, as_mapping
from prunebench.measurement.latency.timing import Timing, check_counts


class Execution(StrEnum):
    """A way to run a pruned model (``measurement.latency.executions``)."""

    DENSE_WITH_ZEROS = "dense_with_zeros"
    """The model as it is, pruned weights stored as zeros (what a user gets)."""
    SPARSE = "sparse"
    """Unstructured masks: each masked layer with the faster of its dense and CSR kernels."""
    SEMI_STRUCTURED_2_4 = "semi_structured_2_4"
    """Unstructured 2:4 masks on CUDA: linear weights as semi-structured tensors, in fp16."""
    PHYSICALLY_SMALLER = "physically_smaller"
    """Channel masks: the model with the pruned channels removed."""


class Kernel(StrEnum):
    """The kernel a layer of the sparse execution runs."""

    DENSE = "dense"
    CSR = "csr"


@dataclass(frozen=True)
class LatencySettings(Record):
    """How every model of a run is timed (params ``latency``): ``warmup`` untimed runs, then
    ``repeats`` timed ones, at each of ``batch_sizes``."""

    described_as = "latency settings"

    batch_sizes: tuple[int, ...]
    repeats: int
    warmup: int

    def __post_init__(self) -> None:
        check_counts(self.repeats, self.warmup)
        sizes = tuple(self.batch_sizes)
        if not sizes:
            raise PrunebenchError("latency batch_sizes must name at least one batch size")
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise PrunebenchError(f"latency batch sizes must be integers >= 1, got {size!r}")
        if len(set(sizes)) != len(sizes):
            raise PrunebenchError(f"latency batch sizes must be distinct, got {list(sizes)}")
        object.__setattr__(self, "batch_sizes", sizes)  # a list given, a tuple kept


@dataclass(frozen=True)
class Hardware(Record):
    """What a timing ran on, every value a string so that the record can enter a fingerprint."""

    described_as = "hardware"

    cpu: str
    logical_cpus: str
    threads: str
    """Torch's intra-op threads."""
    torch: str
    device: str
    gpu: str
    """The GPU's name; ``"none"`` off CUDA."""
    cpu_capability: str
    """ATen's CPU capability (``"AVX2"``, ...)."""
    cpu_numerics: str
    """The CPU numerics mode: ``"pinned"`` or ``"native"`` (``foundations.numerics``)."""

    @classmethod
    def of(cls, device: torch.device) -> Self:
        """The hardware of this machine and ``device``."""
        described = environment(device)
        return cls(
            cpu=described.cpu,
            logical_cpus=str(os.cpu_count()),
            threads=described.threads,
            torch=described.torch,
            device=str(device),
            gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
            cpu_capability=str(described.cpu_capability),
            cpu_numerics=described.cpu_numerics["mode"],
        )


@dataclass(frozen=True)
class LoadAverage(Record):
    """The machine's 1-minute load average before and after a record's timings (None where the
    OS has none).

    Other work on the machine slows every execution, and on a loaded machine with fewer free cores
    than torch threads by far more than its share (a thread waiting for a descheduled one): a
    timing taken under load is not a fact about the hardware, and this tells it apart.
    """

    described_as = "load average"

    before: float | None
    after: float | None


@dataclass(frozen=True)
class LayerTiming(Record):
    """What one masked layer's choice of kernel for the sparse execution was made on.

    Medians in milliseconds of ``*_runs`` alternated runs. ``csr_given_up``: the CSR kernel's first
    run was so much slower than the dense one's that it was not run again
    (``executions.GIVE_UP_FACTOR``).
    """

    described_as = "layer timing"

    dense_ms: float
    dense_runs: int
    csr_ms: float
    csr_runs: int
    csr_given_up: bool


@dataclass(frozen=True)
class CsrNotApplicable(Record):
    """A masked layer with no CSR kernel: ``csr`` says why (``"not applicable: groups=2"``)."""

    described_as = "layer timing"

    csr: str


@dataclass(frozen=True)
class ExecutionTiming(Timing):
    """An execution's timing at one batch size, with what the execution chose to run."""

    described_as = "execution timing"

    layers: dict[str, Kernel] | None = field(default=None, metadata=OMIT_IF_NONE)
    """Sparse: the kernel each masked layer runs."""
    layer_timings: dict[str, LayerTiming | CsrNotApplicable] | None = field(
        default=None, metadata=OMIT_IF_NONE
    )
    """Sparse: the measurements behind each masked layer's kernel."""
    dtype: str | None = field(default=None, metadata=OMIT_IF_NONE)
    """Semi-structured 2:4: ``"float16"``, the precision it runs in."""


@dataclass(frozen=True)
class BatchLatency(Record):
    """One batch size of a cell: the dense control and every execution, timed together."""

    described_as = "batch latency"

    dense: Timing
    executions: dict[str, ExecutionTiming | str]
    """A timing per execution, or why the execution does not apply (``"not applicable: ..."``)."""
    best_execution: Execution
    """The timed execution with the lowest median."""
    measured_speedup: float
    """The dense control's median over the best execution's."""


@dataclass(frozen=True)
class TimedParameters(Record):
    """Parameter counts: the dense model's, and those of the pruned model as timed (its nonzero
    parameters, or the physically smaller model's parameters)."""

    described_as = "timed parameters"

    dense: int
    timed: int


@dataclass(frozen=True)
class LatencyConditions(Record):
    """How and where a latency record was timed."""

    settings: LatencySettings
    hardware: Hardware
    load_average: LoadAverage


@dataclass(frozen=True)
class ControlLatency(LatencyConditions):
    """The dense control's timing per batch size (``str(batch)``) and its parameter count."""

    described_as = "control latency"

    batches: dict[str, Timing]
    parameters: int


@dataclass(frozen=True)
class CellLatency(LatencyConditions):
    """One pruned model's latency per batch size (``str(batch)``) against the dense control."""

    described_as = "cell latency"

    structure: Structure
    seed: int
    """The seed of the random inputs."""
    batches: dict[str, BatchLatency]
    parameters: TimedParameters


@dataclass(frozen=True)
class ControlLatencyFile(ControlLatency):
    """``results/latency/control.json``: the control's latency and the fingerprint of what it
    timed (the stage re-times the control when that changes)."""

    described_as = "control latency record"

    fingerprint: str

    @classmethod
    def of(cls, latency: ControlLatency, *, fingerprint: str) -> Self:
        return cls(**as_mapping(latency), fingerprint=fingerprint)


@dataclass(frozen=True)
class CellLatencyFile(CellLatency):
    """``results/latency/<method>/<cell>/latency.json``: a cell's latency, with the cell's
    method and target compression."""

    described_as = "cell latency record"

    strategy: str
    target_compression: float

    @classmethod
    def of(cls, latency: CellLatency, *, strategy: str, target_compression: float) -> Self:
        return cls(**as_mapping(latency), strategy=strategy, target_compression=target_compression)
