"""Measured inference latency of a pruned model against the dense one, for one benchmark cell.

A pruned model can be executed several ways, and which is fastest is a fact about the machine,
never an assumption (SPEC, "Measured speed"):

- ``"dense_with_zeros"``: the model as it is, pruned weights stored as zeros (what a user gets).
- ``"sparse"`` (unstructured masks): each masked ``nn.Linear`` and ``nn.Conv2d`` runs either its
  dense kernel or a CSR sparse matrix product (:class:`CsrLinear`, :class:`CsrConv2d`), whichever
  was faster for that layer on the activation it receives at this batch size.
- ``"semi_structured_2_4"`` (unstructured masks, CUDA with compute capability 8.0 or more, every
  masked linear layer 2:4): linear weights as ``torch.sparse`` semi-structured tensors, in fp16.
- ``"physically_smaller"`` (channel masks): the model with the pruned channels removed, built by
  Torch-Pruning (:func:`prunebench.sparsity.channels.physical.physically_pruned`).

:func:`measure_cell` times the unpruned model (the benchmark's control) in the same call as every
execution, their repeats interleaved, so that a speedup never divides timings from different
sessions or from different moments of a machine whose load changes. The module knows nothing of
DVC; a stage writes what :func:`measure_cell` returns.
"""

import copy
import gc
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.environment import environment
from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.cost import parameter_counts
from prunebench.sparsity.channels.dependencies import channel_groups
from prunebench.sparsity.channels.masks import pruned_groups
from prunebench.sparsity.channels.physical import physically_pruned
from prunebench.sparsity.masks import apply_masks

STRUCTURES = ("unstructured", "channel")

LAYER_REPEATS = 5
"""Timed runs per layer and kernel when the sparse execution picks each layer's kernel."""

GIVE_UP_FACTOR = 2.0
GIVE_UP_MIN_NS = 10_000_000
"""A CSR kernel whose first run takes more than ``GIVE_UP_FACTOR`` times the dense layer's first
timed run, and more than this (10 ms), is not timed further and the layer stays dense: a CSR
convolution at low sparsity can be 5-20x slower than the dense one at batch 1000, seconds per run.
Below 10 ms finishing the runs costs at most 40 ms, while a cold first call (allocations, caches:
1 ms where the warm call takes 0.15 ms) or one preemption by the scheduler (a few ms) must not
decide the choice."""


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated calls: median and interquartile range in milliseconds."""

    median_ms: float
    iqr_ms: float
    repeats: int

    @classmethod
    def from_samples(cls, samples_ns: Sequence[int]) -> "Timing":
        """The timing of ``samples_ns`` (nanoseconds); quantiles by linear interpolation."""
        milliseconds = np.asarray(samples_ns, dtype=np.float64) / 1e6
        q25, median, q75 = np.percentile(milliseconds, [25, 50, 75])
        return cls(float(median), float(q75 - q25), len(milliseconds))

    def as_dict(self) -> dict[str, float | int]:
        """``{"median_ms", "iqr_ms", "repeats"}``, JSON-serialisable."""
        return asdict(self)


def hardware(device: torch.device) -> dict[str, str]:
    """What a timing ran on, every value a string so that the dict can enter a fingerprint.

    CPU model, logical CPU count, torch threads and version, the device, the GPU's name (``"none"``
    off CUDA), ATen's CPU capability and the CPU numerics mode (``pinned`` or ``native``).
    """
    described = environment(device)
    return {
        "cpu": described["cpu"],
        "logical_cpus": str(os.cpu_count()),
        "threads": described["threads"],
        "torch": described["torch"],
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        "cpu_capability": str(described["cpu_capability"]),
        "cpu_numerics": described["cpu_numerics"]["mode"],
    }


def _synchronize(device: torch.device) -> None:
    # CUDA kernels run asynchronously: without this the clock would stop at the launch.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _run_ns(call: Callable[[], object], device: torch.device) -> int:
    """Nanoseconds one ``call`` takes, its device work included."""
    _synchronize(device)
    start = time.perf_counter_ns()
    call()
    _synchronize(device)
    return time.perf_counter_ns() - start


def _time_interleaved(
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
                samples[name].append(_run_ns(calls[name], device))
    finally:
        if collecting:
            gc.enable()
    return {name: Timing.from_samples(samples[name]) for name in names}


def _check_counts(repeats: int, warmup: int) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise PrunebenchError(f"latency repeats must be an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise PrunebenchError(f"latency warmup must be an integer >= 0, got {warmup!r}")


def _check_batch_sizes(batch_sizes: Sequence[int]) -> list[int]:
    sizes = list(batch_sizes)
    if not sizes:
        raise PrunebenchError("latency batch_sizes must name at least one batch size")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise PrunebenchError(f"latency batch sizes must be integers >= 1, got {size!r}")
    if len(set(sizes)) != len(sizes):
        raise PrunebenchError(f"latency batch sizes must be distinct, got {sizes}")
    return sizes


def _forward(model: nn.Module, example: torch.Tensor) -> Callable[[], object]:
    def call() -> object:
        return model(example)

    return call


def time_forward(model: nn.Module, example: torch.Tensor, *, repeats: int, warmup: int) -> Timing:
    """The :class:`Timing` of ``model(example)`` in eval mode under ``torch.inference_mode()``.

    ``warmup`` untimed calls, then ``repeats`` timed ones; on CUDA each timed call includes its
    kernels. ``model``'s train/eval mode is restored afterwards.
    """
    _check_counts(repeats, warmup)
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            timings = _time_interleaved(
                {"model": _forward(model, example)},
                repeats=repeats,
                warmup=warmup,
                device=example.device,
            )
    finally:
        model.train(training)
    return timings["model"]


def _csr(matrix: torch.Tensor) -> torch.Tensor:
    """``matrix`` (2-D) as a CSR sparse tensor."""
    with warnings.catch_warnings():
        # "Sparse CSR tensor support is in beta state": said once per process, and not news.
        warnings.simplefilter("ignore", UserWarning)
        return matrix.detach().to_sparse_csr()


@cache
def _warm_up_sparse(device: torch.device) -> None:
    """Run one tiny CSR product on ``device``, once per process.

    The first sparse product of a process loads and initialises the sparse library (4-20 ms on
    the 2-core CPU, against 0.1-0.4 ms for a LeNet-5 layer at batch 1); timed inside the first
    layer's first CSR run, it would make the kernel look slower than it is.
    """
    matrix = torch.eye(4, device=device)
    _ = _csr(matrix) @ matrix
    _synchronize(device)


class CsrLinear(nn.Module):
    """A linear layer that multiplies by its weight stored as a CSR sparse matrix.

    ``output = (csr @ x.T).T + bias``. The weight and bias are plain attributes, not parameters or
    buffers: the module is built on the device it runs on and only ever timed and evaluated.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight = _csr(linear.weight)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        out = (self.weight @ rows.T).T
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


class CsrConv2d(nn.Module):
    """A convolution as an im2col matrix times its weight stored as a CSR sparse matrix.

    The weight ``[out, in, kh, kw]`` is a CSR matrix ``[out, in * kh * kw]``; the input windows of
    the whole batch form one dense matrix ``[in * kh * kw, batch * positions]`` (the columns of
    ``F.unfold``, batch folded in), so a single sparse product computes the batch. Stride, padding
    and dilation are the conv's; only ``groups == 1`` and zero padding given as sizes are supported
    (:meth:`supports`).
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        reason = self.supports(conv)
        if reason is not None:
            raise PrunebenchError(f"CsrConv2d cannot replace {conv}: {reason}")
        self.out_channels = conv.out_channels
        self.kernel_size = conv.kernel_size
        self.stride = conv.stride
        self.padding = conv.padding
        self.dilation = conv.dilation
        self.weight = _csr(conv.weight.reshape(conv.out_channels, -1))
        self.bias = None if conv.bias is None else conv.bias.detach().view(1, -1, 1, 1)

    @staticmethod
    def supports(conv: nn.Conv2d) -> str | None:
        """``None`` if :class:`CsrConv2d` can replace ``conv``, else why not."""
        if conv.groups != 1:
            return f"groups={conv.groups}"
        if conv.padding_mode != "zeros":
            return f"padding_mode={conv.padding_mode!r}"
        if isinstance(conv.padding, str):
            return f"padding={conv.padding!r}"
        return None

    def columns(self, x: torch.Tensor) -> torch.Tensor:
        """The im2col matrix ``[in * kh * kw, batch * out_h * out_w]`` of a ``[N, C, H, W]`` batch.

        The rows are ordered as ``F.unfold``'s and the columns batch-major. Built from strided
        views with one copy: ``F.unfold`` followed by the transpose that folds the batch in was
        5-20x slower on LeNet-5's batch of 1000 on the 2-core CPU (0.4-10 s against 0.06-0.5 s).
        """
        pad_h, pad_w = self.padding
        if pad_h or pad_w:
            x = F.pad(x, (pad_w, pad_w, pad_h, pad_h))
        (k_h, k_w), (d_h, d_w), (s_h, s_w) = self.kernel_size, self.dilation, self.stride
        # [N, C, out_h, out_w, span_h, span_w]: every window, dilation's gaps included.
        windows = x.unfold(2, d_h * (k_h - 1) + 1, s_h).unfold(3, d_w * (k_w - 1) + 1, s_w)
        windows = windows[..., ::d_h, ::d_w]
        rows = x.shape[1] * k_h * k_w
        return windows.permute(1, 4, 5, 0, 2, 3).reshape(rows, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        unbatched = x.dim() == 3
        if unbatched:
            x = x.unsqueeze(0)
        batch = x.shape[0]
        out = self.weight @ self.columns(x)
        out_h, out_w = (
            (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
            for size, pad, dilation, kernel, stride in zip(
                x.shape[2:],
                self.padding,
                self.dilation,
                self.kernel_size,
                self.stride,
                strict=True,
            )
        )
        # Contiguous like the dense conv's output, so the layers after it run as they would there.
        out = out.view(self.out_channels, batch, out_h, out_w).transpose(0, 1).contiguous()
        if self.bias is not None:
            out.add_(self.bias)
        return out.squeeze(0) if unbatched else out


def is_two_to_four(mask: torch.Tensor) -> bool:
    """Whether ``mask`` keeps at most 2 of every 4 consecutive entries along its last dimension.

    The pattern semi-structured sparse kernels need; the last dimension must divide by 4.
    """
    if mask.dim() < 1 or mask.shape[-1] % 4 != 0:
        return False
    kept = mask.reshape(-1, 4).to(torch.int8).sum(dim=1)
    return bool((kept <= 2).all())


def _weight_name(module_name: str) -> str:
    """The state-dict name of the weight of the module ``module_name``."""
    return f"{module_name}.weight" if module_name else "weight"


def _masked_layers(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[str, nn.Module]:
    """The conv and linear modules whose weight mask prunes something, by module name."""
    layers = {}
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        mask = masks.get(_weight_name(name))
        if mask is not None and not bool(mask.all()):
            layers[name] = module
    return layers


def _layer_inputs(
    model: nn.Module, layers: Mapping[str, nn.Module], example: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The input each of ``layers`` receives in one forward pass of ``model`` on ``example``."""
    inputs: dict[str, torch.Tensor] = {}

    def recorder(name: str):
        def hook(_: nn.Module, args: tuple, __: torch.Tensor) -> None:
            inputs.setdefault(name, args[0])

        return hook

    handles = [layer.register_forward_hook(recorder(name)) for name, layer in layers.items()]
    try:
        model(example)
    finally:
        for handle in handles:
            handle.remove()
    return inputs


def _csr_kernel(layer: nn.Module) -> nn.Module | str:
    """The CSR replacement of ``layer``, or why there is none."""
    if isinstance(layer, nn.Linear):
        return CsrLinear(layer)
    reason = CsrConv2d.supports(layer)
    return CsrConv2d(layer) if reason is None else f"not applicable: {reason}"


def _choose_kernel(
    layer: nn.Module, layer_input: torch.Tensor, device: torch.device
) -> tuple[nn.Module | None, dict[str, Any]]:
    """``(CSR module if it is the faster kernel else None, what was measured)`` for one layer."""
    csr = _csr_kernel(layer)
    if isinstance(csr, str):
        return None, {"csr": csr}
    run_dense, run_csr = _forward(layer, layer_input), _forward(csr, layer_input)
    run_dense()  # warms the dense kernel up; the CSR kernel's first run is timed, see below
    dense_ns = [_run_ns(run_dense, device)]
    csr_ns = [_run_ns(run_csr, device)]
    given_up = csr_ns[0] > max(GIVE_UP_FACTOR * dense_ns[0], GIVE_UP_MIN_NS)
    if not given_up:
        # Alternated, so that a change of the machine's load falls on both kernels alike.
        for _ in range(LAYER_REPEATS - 1):
            dense_ns.append(_run_ns(run_dense, device))
            csr_ns.append(_run_ns(run_csr, device))
    dense, sparse = Timing.from_samples(dense_ns), Timing.from_samples(csr_ns)
    chosen = None if given_up or sparse.median_ms >= dense.median_ms else csr
    record = {
        "dense_ms": dense.median_ms,
        "dense_runs": len(dense_ns),
        "csr_ms": sparse.median_ms,
        "csr_runs": len(csr_ns),
        "csr_given_up": given_up,
    }
    return chosen, record


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)


def _sparse_execution(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor],
    example: torch.Tensor,
    device: torch.device,
) -> tuple[nn.Module | None, dict[str, str], dict[str, dict[str, Any]]]:
    """``(hybrid model or None, kernel per layer, per-layer measurements)`` at ``example``'s batch.

    The hybrid is a copy of ``model`` with each masked layer whose CSR kernel was faster on its
    actual input replaced by that kernel; None when no layer is faster as CSR (the execution is
    then ``model`` itself, and timing it again would measure nothing new).
    """
    layers = _masked_layers(model, masks)
    inputs = _layer_inputs(model, layers, example)
    _warm_up_sparse(device)
    kernels: dict[str, str] = {}
    measured: dict[str, dict[str, Any]] = {}
    replacements: dict[str, nn.Module] = {}
    for name, layer in layers.items():
        if name not in inputs:  # a layer the forward pass never calls costs nothing
            continue
        csr, measured[name] = _choose_kernel(layer, inputs[name], device)
        kernels[name] = "dense" if csr is None else "csr"
        if csr is not None:
            replacements[name] = csr
    del inputs
    if not replacements:
        return None, kernels, measured
    # The swapped-in kernels hold their own copies of the weights; deep-copy the rest.
    hybrid = copy.deepcopy(model)
    for name, csr in replacements.items():
        _replace(hybrid, name, csr)
    return hybrid, kernels, measured


def _semi_structured_execution(
    model: nn.Module, masks: Mapping[str, torch.Tensor], device: torch.device
) -> nn.Module | str:
    """``model`` in fp16 with its masked linear weights semi-structured (2:4), or why not."""
    if device.type != "cuda":
        return "not applicable: no CUDA device"
    capability = torch.cuda.get_device_capability(device)
    if capability < (8, 0):
        return f"not applicable: CUDA capability {capability[0]}.{capability[1]} < 8.0"
    linears = [n for n, m in _masked_layers(model, masks).items() if isinstance(m, nn.Linear)]
    if not linears:
        return "not applicable: no masked linear layer"
    if not all(is_two_to_four(masks[_weight_name(name)]) for name in linears):
        return "not applicable: mask is not 2:4"
    half = copy.deepcopy(model).half()
    try:
        for name in linears:
            linear = half.get_submodule(name)
            linear.weight = nn.Parameter(
                torch.sparse.to_sparse_semi_structured(linear.weight.detach()),
                requires_grad=False,
            )
    except (RuntimeError, ValueError) as error:  # shapes the kernels do not support
        return f"not applicable: {str(error).splitlines()[0]}"
    return half


def _load_average() -> float | None:
    """The 1-minute load average of the machine, where the OS reports one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _example(batch: int, input_shape: tuple[int, ...], seed: int, device: torch.device):
    # Drawn on the CPU, so the inputs are the same whatever the device.
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *input_shape), generator=generator).to(device)


def _on_device(model: nn.Module, device: torch.device) -> nn.Module:
    """An eval-mode copy of ``model`` on ``device``; the caller's model is never touched."""
    return copy.deepcopy(model).to(device).eval()


def measure_dense(
    dense: nn.Module,
    *,
    input_shape: tuple[int, ...],
    batch_sizes: Sequence[int],
    repeats: int,
    warmup: int,
    device: torch.device,
    seed: int = 0,
) -> dict[str, Any]:
    """The control's own record: the dense model's timing per batch size, JSON-serialisable.

    ``{"batches": {"<batch>": {"median_ms", "iqr_ms", "repeats"}}, "parameters": N,
    "hardware": {...}, "load_average": {"before", "after"}}``; inputs and load average as in
    :func:`measure_cell`.
    """
    _check_counts(repeats, warmup)
    sizes = _check_batch_sizes(batch_sizes)
    control = _on_device(dense, device)
    batches = {}
    load_before = _load_average()
    with torch.inference_mode():
        for batch in sizes:
            example = _example(batch, input_shape, seed, device)
            timing = _time_interleaved(
                {"dense": _forward(control, example)},
                repeats=repeats,
                warmup=warmup,
                device=device,
            )["dense"]
            batches[str(batch)] = timing.as_dict()
    return {
        "batches": batches,
        "parameters": parameter_counts(control)[0],
        "hardware": hardware(device),
        "load_average": {"before": load_before, "after": _load_average()},
    }


def measure_cell(
    model: nn.Module,
    masks: Mapping[str, torch.Tensor],
    *,
    structure: str,
    dense: nn.Module,
    input_shape: tuple[int, ...],
    batch_sizes: Sequence[int],
    repeats: int,
    warmup: int,
    device: torch.device,
    seed: int = 0,
) -> dict[str, Any]:
    """The measured latency of one pruned model against the dense control, JSON-serialisable.

    ``model`` carries its ``masks`` (they are re-applied to a copy, so pruned weights are exact
    zeros); ``structure`` is ``"unstructured"`` or ``"channel"``; ``dense`` is the unpruned model,
    timed in the same call with its repeats interleaved with the executions'. Inputs are
    ``randn(batch, *input_shape)`` from a CPU generator seeded with ``seed``. Returns::

        {"structure": ..., "hardware": {...}, "load_average": {"before": x, "after": y},
         "batches": {"<batch>": {
             "dense": {"median_ms", "iqr_ms", "repeats"},
             "executions": {name: timing (+ details) or "not applicable: ..."},
             "best_execution": name of the fastest timed execution,
             "measured_speedup": dense median / best execution median}},
         "parameters": {"dense": N, "timed": M}}

    Unstructured executions: ``dense_with_zeros``, ``sparse`` (its timing plus ``layers``, the
    kernel chosen per masked layer, and ``layer_timings``, the per-layer measurements behind the
    choice; when every layer stays dense its timing is that of ``dense_with_zeros``, the same
    model) and ``semi_structured_2_4``; ``timed`` counts the nonzero parameters. Channel
    executions: ``dense_with_zeros`` and ``physically_smaller``, whose parameter count is
    ``timed``. ``load_average`` is the machine's 1-minute load average (None where the OS has
    none) before and after the timing: other work on the machine slows every execution, and on a
    loaded machine with fewer free cores than torch threads by far more than its share (a thread
    waiting for a descheduled one), so a timing taken under load is not a fact about the hardware
    and can be told apart. The caller's models are left untouched.
    """
    if structure not in STRUCTURES:
        raise PrunebenchError(
            f"unknown latency structure {structure!r}; valid: {', '.join(STRUCTURES)}"
        )
    _check_counts(repeats, warmup)
    sizes = _check_batch_sizes(batch_sizes)
    control = _on_device(dense, device)
    pruned = _on_device(model, device)
    apply_masks(pruned, masks)

    # Executions that do not depend on the batch size, built once.
    fixed: dict[str, nn.Module | str] = {}
    if structure == "channel":
        groups = channel_groups(pruned, input_shape)
        smaller = physically_pruned(pruned, groups, pruned_groups(groups, masks), input_shape)
        fixed["physically_smaller"] = smaller.eval()
        timed_parameters = parameter_counts(smaller)[0]
    else:
        fixed["semi_structured_2_4"] = _semi_structured_execution(pruned, masks, device)
        timed_parameters = parameter_counts(pruned)[1]

    batches = {}
    load_before = _load_average()
    with torch.inference_mode():
        for batch in sizes:
            example = _example(batch, input_shape, seed, device)
            batches[str(batch)] = _measure_batch(
                control, pruned, masks, fixed, structure, example, repeats, warmup, device
            )
    return {
        "structure": structure,
        "hardware": hardware(device),
        "load_average": {"before": load_before, "after": _load_average()},
        "batches": batches,
        "parameters": {"dense": parameter_counts(control)[0], "timed": timed_parameters},
    }


def _measure_batch(
    control: nn.Module,
    pruned: nn.Module,
    masks: Mapping[str, torch.Tensor],
    fixed: Mapping[str, nn.Module | str],
    structure: str,
    example: torch.Tensor,
    repeats: int,
    warmup: int,
    device: torch.device,
) -> dict[str, Any]:
    """One batch size's entry of :func:`measure_cell`'s ``batches``."""
    executions: dict[str, nn.Module | str] = {"dense_with_zeros": pruned}
    details: dict[str, dict[str, Any]] = {}
    if structure == "unstructured":
        # Built per batch size: which kernel is faster depends on the shape of the activations.
        hybrid, kernels, measured = _sparse_execution(pruned, masks, example, device)
        executions["sparse"] = pruned if hybrid is None else hybrid
        details["sparse"] = {"layers": kernels, "layer_timings": measured}
    executions.update(fixed)
    if isinstance(executions.get("semi_structured_2_4"), nn.Module):
        details["semi_structured_2_4"] = {"dtype": "float16"}

    calls = {"dense": _forward(control, example)}
    timed_as: dict[str, str] = {}  # execution -> the call that times it
    for name, execution in executions.items():
        if isinstance(execution, str):
            continue
        same = next((n for n, e in executions.items() if e is execution and n in calls), None)
        if same is not None:  # the same model twice (a sparse execution with no CSR layer)
            timed_as[name] = same
            continue
        inputs = example.half() if name == "semi_structured_2_4" else example
        calls[name] = _forward(execution, inputs)
        timed_as[name] = name
    timings = _time_interleaved(calls, repeats=repeats, warmup=warmup, device=device)

    record: dict[str, Any] = {}
    for name, execution in executions.items():
        if isinstance(execution, str):
            record[name] = execution
        else:
            record[name] = {**timings[timed_as[name]].as_dict(), **details.get(name, {})}
    best = min(timed_as, key=lambda name: timings[timed_as[name]].median_ms)
    dense = timings["dense"]
    return {
        "dense": dense.as_dict(),
        "executions": record,
        "best_execution": best,
        "measured_speedup": dense.median_ms / timings[timed_as[best]].median_ms,
    }


__all__ = [
    "STRUCTURES",
    "CsrConv2d",
    "CsrLinear",
    "Timing",
    "hardware",
    "is_two_to_four",
    "measure_cell",
    "measure_dense",
    "time_forward",
]
