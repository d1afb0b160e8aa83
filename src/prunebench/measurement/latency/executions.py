"""The ways a pruned model can run, each built as a :class:`Runnable` (or refused with a reason).

- :func:`dense_with_zeros`: the model as it is, pruned weights stored as zeros.
- :func:`sparse` (unstructured masks): each masked ``nn.Linear`` and ``nn.Conv2d`` runs either its
  dense kernel or its CSR kernel (``kernels``), whichever was faster for that layer on the
  activation it receives at this batch size (:func:`choose_kernel`).
- :func:`semi_structured_2_4` (unstructured masks, CUDA with compute capability 8.0 or more, every
  masked linear layer 2:4): linear weights as ``torch.sparse`` semi-structured tensors, in fp16.
- :func:`physically_smaller` (channel masks): the model with the pruned channels removed, built by
  Torch-Pruning (:func:`prunebench.sparsity.channels.physically_pruned`).

An execution that does not apply is the string ``"not applicable: <why>"``, as its record says.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from prunebench.foundations.typed import as_mapping
from prunebench.measurement.latency.kernels import csr_kernel, is_two_to_four, warm_up_sparse
from prunebench.measurement.latency.records import (
    CsrNotApplicable,
    ExecutionTiming,
    Kernel,
    LayerTiming,
)
from prunebench.measurement.latency.timing import Timing, forward, run_ns
from prunebench.sparsity.channels.dependencies import channel_groups
from prunebench.sparsity.channels.masks import pruned_groups
from prunebench.sparsity.channels.physical import physically_pruned

LAYER_REPEATS = 5
"""Timed runs per layer and kernel when the sparse execution picks each layer's kernel."""

GIVE_UP_FACTOR = 2.0
GIVE_UP_MIN_NS = 10_000_000
"""A CSR kernel whose first run takes more than ``GIVE_UP_FACTOR`` times the dense layer's first
timed run, and more than this (10 ms), is not timed further and the layer stays dense: a CSR
convolution at low sparsity can be many times slower than the dense one at a large batch, seconds
per run (``docs/measurements.md``). Below 10 ms finishing the runs costs at most 40 ms, while a
cold first call (allocations, caches: several times the warm call) or one preemption by the
scheduler must not decide the choice."""


@dataclass(frozen=True)
class Runnable:
    """An execution ready to time: its model, and what its record says beside the timing."""

    model: nn.Module
    half: bool = False
    """Runs in float16: its inputs are cast, and its record says ``"dtype": "float16"``."""
    layers: dict[str, Kernel] | None = None
    """The sparse execution's kernel per masked layer."""
    layer_timings: dict[str, LayerTiming | CsrNotApplicable] | None = None
    """The sparse execution's measurements behind each layer's kernel."""

    def call(self, example: torch.Tensor) -> Callable[[], object]:
        """A call that runs the model on ``example``, cast to the model's precision."""
        return forward(self.model, example.half() if self.half else example)

    def timed(self, timing: Timing) -> ExecutionTiming:
        """The execution's record, with ``timing``."""
        return ExecutionTiming(
            **as_mapping(timing),
            layers=self.layers,
            layer_timings=self.layer_timings,
            dtype="float16" if self.half else None,
        )


def dense_with_zeros(pruned: nn.Module) -> Runnable:
    """``pruned`` as it is: what a user of the pruned model runs."""
    return Runnable(pruned)


def sparse(pruned: nn.Module, masks: Mapping[str, torch.Tensor], example: torch.Tensor) -> Runnable:
    """``pruned`` with each masked layer whose CSR kernel was faster on its input replaced by it.

    Which kernel is faster depends on the shape of the activations, so the execution is built for
    ``example``'s batch size. When no layer is faster as CSR the model is ``pruned`` itself (timing
    it again would measure nothing new); otherwise a copy, ``pruned`` untouched.
    """
    layers = _masked_layers(pruned, masks)
    inputs = _layer_inputs(pruned, layers, example)
    warm_up_sparse(example.device)
    kernels: dict[str, Kernel] = {}
    layer_timings: dict[str, LayerTiming | CsrNotApplicable] = {}
    replacements: dict[str, nn.Module] = {}
    for name, layer in layers.items():
        if name not in inputs:  # a layer the forward pass never calls costs nothing
            continue
        csr, layer_timings[name] = choose_kernel(layer, inputs[name])
        kernels[name] = Kernel.DENSE if csr is None else Kernel.CSR
        if csr is not None:
            replacements[name] = csr
    del inputs
    model = pruned
    if replacements:
        # The swapped-in kernels hold their own copies of the weights; deep-copy the rest.
        model = copy.deepcopy(pruned)
        for name, csr in replacements.items():
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, csr)
    return Runnable(model, layers=kernels, layer_timings=layer_timings)


def choose_kernel(
    layer: nn.Module, layer_input: torch.Tensor
) -> tuple[nn.Module | None, LayerTiming | CsrNotApplicable]:
    """``(the CSR kernel if it is the faster, else None; what was measured)`` for one layer."""
    csr = csr_kernel(layer)
    if isinstance(csr, str):
        return None, CsrNotApplicable(csr)
    device = layer_input.device
    run_dense, run_csr = forward(layer, layer_input), forward(csr, layer_input)
    run_dense()  # warms the dense kernel up; the CSR kernel's first run is timed, see below
    dense_ns = [run_ns(run_dense, device)]
    csr_ns = [run_ns(run_csr, device)]
    given_up = csr_ns[0] > max(GIVE_UP_FACTOR * dense_ns[0], GIVE_UP_MIN_NS)
    if not given_up:
        # Alternated, so that a change of the machine's load falls on both kernels alike.
        for _ in range(LAYER_REPEATS - 1):
            dense_ns.append(run_ns(run_dense, device))
            csr_ns.append(run_ns(run_csr, device))
    dense, sparse = Timing.from_samples(dense_ns), Timing.from_samples(csr_ns)
    chosen = None if given_up or sparse.median_ms >= dense.median_ms else csr
    measured = LayerTiming(
        dense_ms=dense.median_ms,
        dense_runs=dense.repeats,
        csr_ms=sparse.median_ms,
        csr_runs=sparse.repeats,
        csr_given_up=given_up,
    )
    return chosen, measured


def semi_structured_2_4(
    pruned: nn.Module, masks: Mapping[str, torch.Tensor], device: torch.device
) -> Runnable | str:
    """A copy of ``pruned`` in fp16 with its masked linear weights semi-structured, or why not."""
    if device.type != "cuda":
        return "not applicable: no CUDA device"
    capability = torch.cuda.get_device_capability(device)
    if capability < (8, 0):
        return f"not applicable: CUDA capability {capability[0]}.{capability[1]} < 8.0"
    linears = [n for n, m in _masked_layers(pruned, masks).items() if isinstance(m, nn.Linear)]
    if not linears:
        return "not applicable: no masked linear layer"
    if not all(is_two_to_four(masks[_weight_name(name)]) for name in linears):
        return "not applicable: mask is not 2:4"
    half = copy.deepcopy(pruned).half()
    try:
        for name in linears:
            linear = half.get_submodule(name)
            linear.weight = nn.Parameter(
                torch.sparse.to_sparse_semi_structured(linear.weight.detach()),
                requires_grad=False,
            )
    except (RuntimeError, ValueError) as error:  # shapes the kernels do not support
        return f"not applicable: {str(error).splitlines()[0]}"
    return Runnable(half, half=True)


def physically_smaller(
    pruned: nn.Module, masks: Mapping[str, torch.Tensor], input_shape: tuple[int, ...]
) -> Runnable:
    """``pruned`` (channel masks) rebuilt without its pruned channels, in eval mode."""
    groups = channel_groups(pruned, input_shape)
    smaller = physically_pruned(pruned, groups, pruned_groups(groups, masks), input_shape)
    return Runnable(smaller.eval())


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
