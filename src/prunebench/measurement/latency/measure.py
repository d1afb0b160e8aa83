"""The latency of the dense control and of one pruned model, at every batch size of a run.

:func:`measure_cell` times the unpruned model (the benchmark's control) in the same call as every
execution of the pruned one, their repeats interleaved, so that a speedup never divides timings
from different sessions or from different moments of a machine whose load changes.
:func:`measure_control` is the same mechanism with no execution beside the control: the control's
own record. The caller's models are left untouched.

Example::

    setup = LatencySetup(LatencySettings([1, 128], repeats=30, warmup=5), (1, 28, 28), cpu)
    control = measure_control(dense, setup)
    cell = measure_cell(model, masks, structure=Structure.UNSTRUCTURED, dense=dense,
                        setup=setup, seed=0)
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.taxonomy import Structure, choices
from prunebench.measurement.cost import parameter_counts
from prunebench.measurement.latency.executions import (
    Runnable,
    dense_with_zeros,
    physically_smaller,
    semi_structured_2_4,
    sparse,
)
from prunebench.measurement.latency.records import (
    BatchLatency,
    CellLatency,
    ControlLatency,
    Execution,
    Hardware,
    LatencySettings,
    LoadAverage,
    TimedParameters,
)
from prunebench.measurement.latency.timing import Timing, forward, machine_load, time_interleaved
from prunebench.sparsity.masks import apply_masks

T = TypeVar("T")

CONTROL = "dense"
"""The control's name among the calls timed together (no execution is called so)."""


@dataclass(frozen=True)
class LatencySetup:
    """What every latency of a run shares: the settings, the models' input shape, the device."""

    settings: LatencySettings
    input_shape: tuple[int, ...]
    device: torch.device

    def example(self, batch: int, seed: int) -> torch.Tensor:
        """``randn(batch, *input_shape)`` on the device, from a CPU generator seeded with ``seed``
        (so that the inputs are the same whatever the device)."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn((batch, *self.input_shape), generator=generator).to(self.device)


def measure_control(dense: nn.Module, setup: LatencySetup) -> ControlLatency:
    """The dense model's timing at every batch size (inputs drawn with seed 0)."""
    control = _on_device(dense, setup.device)

    def control_timing(example: torch.Tensor) -> Timing:
        return _time_against_control(control, {}, example, setup)[0]

    batches, load_average = _per_batch(setup, 0, control_timing)
    return ControlLatency(
        settings=setup.settings,
        hardware=Hardware.of(setup.device),
        load_average=load_average,
        batches=batches,
        parameters=parameter_counts(control)[0],
    )


def measure_cell(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor],
    *,
    structure: Structure | str,
    dense: nn.Module,
    setup: LatencySetup,
    seed: int,
) -> CellLatency:
    """The latency of ``model`` in every execution its ``structure`` allows, against ``dense``.

    ``model`` carries its ``masks`` (they are re-applied to a copy, so pruned weights are exact
    zeros); ``dense`` is the unpruned model; ``seed`` draws the inputs. Unstructured masks are
    timed ``dense_with_zeros``, ``sparse`` (when every layer stays dense, its timing is that of
    ``dense_with_zeros``, the same model) and ``semi_structured_2_4``, and the timed parameters
    are the nonzero ones; channel masks ``dense_with_zeros`` and ``physically_smaller``, whose
    parameters are the timed ones.
    """
    structure = _structure(structure)
    control = _on_device(dense, setup.device)
    pruned = _on_device(model, setup.device)
    apply_masks(pruned, masks)
    built_once, timed_parameters = _batch_independent(pruned, masks, structure, setup)

    def batch_latency(example: torch.Tensor) -> BatchLatency:
        executions = {Execution.DENSE_WITH_ZEROS: dense_with_zeros(pruned)}
        if structure is Structure.UNSTRUCTURED:
            executions[Execution.SPARSE] = sparse(pruned, masks, example)
        return _batch_latency(control, executions | built_once, example, setup)

    batches, load_average = _per_batch(setup, seed, batch_latency)
    return CellLatency(
        settings=setup.settings,
        hardware=Hardware.of(setup.device),
        load_average=load_average,
        structure=structure,
        seed=seed,
        batches=batches,
        parameters=TimedParameters(dense=parameter_counts(control)[0], timed=timed_parameters),
    )


def _structure(structure: Structure | str) -> Structure:
    try:
        return Structure(structure)
    except ValueError:
        raise PrunebenchError(
            f"unknown latency structure {structure!r}; valid: {choices(Structure)}"
        ) from None


def _on_device(model: nn.Module, device: torch.device) -> nn.Module:
    """An eval-mode copy of ``model`` on ``device``; the caller's model is never touched."""
    return copy.deepcopy(model).to(device).eval()


def _batch_independent(
    pruned: nn.Module,
    masks: Mapping[str, torch.Tensor],
    structure: Structure,
    setup: LatencySetup,
) -> tuple[dict[Execution, Runnable | str], int]:
    """The executions that do not depend on the batch size (built once), and the parameter count
    of the pruned model as timed."""
    if structure is Structure.CHANNEL:
        smaller = physically_smaller(pruned, masks, setup.input_shape)
        return {Execution.PHYSICALLY_SMALLER: smaller}, parameter_counts(smaller.model)[0]
    semi_structured = semi_structured_2_4(pruned, masks, setup.device)
    return {Execution.SEMI_STRUCTURED_2_4: semi_structured}, parameter_counts(pruned)[1]


def _per_batch(
    setup: LatencySetup, seed: int, measure: Callable[[torch.Tensor], T]
) -> tuple[dict[str, T], LoadAverage]:
    """``measure`` of each batch size's inputs, by ``str(batch)``, and the machine's load average
    before and after."""
    before = machine_load()
    with torch.inference_mode():
        batches = {
            str(batch): measure(setup.example(batch, seed)) for batch in setup.settings.batch_sizes
        }
    return batches, LoadAverage(before=before, after=machine_load())


def _time_against_control(
    control: nn.Module,
    runnables: Mapping[Execution, Runnable],
    example: torch.Tensor,
    setup: LatencySetup,
) -> tuple[Timing, dict[Execution, Timing]]:
    """The control's timing and each execution's on ``example``, their repeats interleaved."""
    calls = {CONTROL: forward(control, example)}
    call_of: dict[Execution, str] = {}  # the call that times each execution
    for name, runnable in runnables.items():
        # The same model twice (a sparse execution with no CSR layer) is timed once.
        same = next((other for other in call_of if runnables[other].model is runnable.model), None)
        if same is None:
            calls[name] = runnable.call(example)
        call_of[name] = name if same is None else call_of[same]
    settings = setup.settings
    timings = time_interleaved(
        calls, repeats=settings.repeats, warmup=settings.warmup, device=setup.device
    )
    return timings[CONTROL], {name: timings[call] for name, call in call_of.items()}


def _batch_latency(
    control: nn.Module,
    executions: Mapping[Execution, Runnable | str],
    example: torch.Tensor,
    setup: LatencySetup,
) -> BatchLatency:
    """One batch size of a cell: the control and every execution that applies, timed together."""
    runnables = {name: e for name, e in executions.items() if isinstance(e, Runnable)}
    dense, timings = _time_against_control(control, runnables, example, setup)
    best = min(timings, key=lambda name: timings[name].median_ms)
    return BatchLatency(
        dense=dense,
        executions={
            name.value: execution if isinstance(execution, str) else execution.timed(timings[name])
            for name, execution in executions.items()
        },
        best_execution=best,
        measured_speedup=dense.median_ms / timings[best].median_ms,
    )
