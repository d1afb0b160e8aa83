"""Size and cost of a (pruned) model: parameters, compression, MACs, speedup, memory, per layer.

Every function takes a model whose pruned weights are zero (``masks.apply_masks``);
:func:`model_cost` also takes a model and a mask set and measures the masked copy. Definitions
are the paper's (Blalock et al. 2020, sections 3 and 7; ShrinkBench's MAC counting):

- **compression** = total parameters / nonzero parameters, over *all* parameters of the model;
- **MACs**: conv = C_in/groups x C_out x k_h x k_w x H_out x W_out, linear = in x out (per
  position), counted for conv and linear layers only, as ShrinkBench does; a layer's *nonzero*
  MACs are its MACs times its fraction of nonzero weights, and **theoretical speedup** = dense MACs
  / nonzero MACs;
- **activation memory**: the values a forward pass feeds into layers that own parameters (conv,
  linear, batch norm), per sample; these are the activations backpropagation keeps to compute
  weight gradients. ShrinkBench counts outputs of every module except ReLUs, which depends on
  whether a model calls pooling and activations as modules or as functions; inputs of layers with
  parameters do not. *Nonzero* memory counts only the nonzero values;
- **effective compression**: compression counting only *effective* weights, those on a path of
  nonzero weights from the input to the output (:func:`ineffective_weights`). Pruning can leave
  weights with no such path, e.g. every weight reading a channel whose filters were all cut; they
  still count as nonzero but do nothing.
"""

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence

import torch
from torch import nn

from prunebench.measurement.accuracy import eval_mode
from prunebench.measurement.records import ModelCost
from prunebench.sparsity.masks import apply_masks, prunable_parameters
from prunebench.sparsity.masks import mask_compression as mask_compression  # re-exported


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """``(total, nonzero)`` over all parameters of ``model`` (each shared parameter once)."""
    total = nonzero = 0
    for parameter in model.parameters():
        total += parameter.numel()
        nonzero += int(torch.count_nonzero(parameter))
    return total, nonzero


def compression_ratio(model: nn.Module) -> float:
    """Total parameters / nonzero parameters."""
    total, nonzero = parameter_counts(model)
    return total / nonzero


def layer_table(model: nn.Module, input_shape: Sequence[int]) -> list[dict]:
    """One row per conv and linear weight: size, kept weights, sparsity, dense and nonzero MACs.

    MACs come from one forward pass on an input of shape ``(1, *input_shape)``, so they follow the
    spatial sizes the model actually produces; a layer called twice counts twice.
    """
    weights = prunable_parameters(model, include_classifier=True)
    modules = {name: model.get_submodule(name.rpartition(".")[0]) for name in weights}
    dense_macs = dict.fromkeys(weights, 0)

    def counter(name: str, module: nn.Module):
        def hook(_: nn.Module, __: tuple, output: torch.Tensor) -> None:
            dense_macs[name] += _layer_macs(module, output)

        return hook

    with _hooked(modules, counter), eval_mode(model), torch.no_grad():
        model(_ones_like_input(model, input_shape))
    rows = []
    for name, weight in weights.items():
        params = weight.numel()
        kept = int(torch.count_nonzero(weight))
        rows.append(
            {
                "name": name,
                "shape": list(weight.shape),
                "params": params,
                "kept": kept,
                "sparsity": 1 - kept / params,
                "dense_macs": dense_macs[name],
                "nonzero_macs": dense_macs[name] * kept / params,
            }
        )
    return rows


def macs(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, float]:
    """``(dense, nonzero)`` multiply-adds of one sample of shape ``input_shape``."""
    rows = layer_table(model, input_shape)
    return sum(row["dense_macs"] for row in rows), sum(row["nonzero_macs"] for row in rows)


def activation_memory(model: nn.Module, inputs: torch.Tensor) -> tuple[float, float]:
    """``(total, nonzero)`` activation values per sample entering layers that own parameters.

    ``inputs`` is a batch of real inputs: how many activations are nonzero depends on the data.
    """
    owners = {
        name: module
        for name, module in model.named_modules()
        if next(module.parameters(recurse=False), None) is not None
    }
    counts = {"total": 0, "nonzero": 0}

    def count_input(_: nn.Module, args: tuple, __: torch.Tensor) -> None:
        counts["total"] += args[0].numel()
        counts["nonzero"] += int(torch.count_nonzero(args[0]))

    with _hooked(owners, lambda *_: count_input), eval_mode(model), torch.no_grad():
        model(inputs)
    batch_size = inputs.shape[0]
    return counts["total"] / batch_size, counts["nonzero"] / batch_size


def ineffective_weights(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Nonzero conv and linear weights that lie on no path of nonzero weights from input to output.

    SynFlow's trick: on a float64 copy whose nonzero weights are replaced by positive values
    (batch norm by identity, biases by zero), every activation is >= 0, and the output's gradient
    with respect to a weight is nonzero exactly when the weight is fed by a nonzero activation
    (a path from the input) and feeds a nonzero gradient (a path to the output). Each kept weight
    becomes ``1 / kept weights of its output unit``, so activations stay near 1 through depth
    instead of overflowing, as products of ``|w|`` over a deep network can.
    """
    probe = copy.deepcopy(model).double()
    for name, module in list(probe.named_modules()):
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parent, _, child = name.rpartition(".")
            setattr(probe.get_submodule(parent), child, nn.Identity())
    weights = list(prunable_parameters(probe, include_classifier=True).values())
    nonzero = [weight != 0 for weight in weights]
    with torch.no_grad():
        for module in probe.modules():
            if isinstance(getattr(module, "bias", None), nn.Parameter):
                module.bias.zero_()
        for weight, is_nonzero in zip(weights, nonzero, strict=True):
            kept_per_output = is_nonzero.flatten(1).sum(dim=1).clamp(min=1)
            weight.copy_(is_nonzero / kept_per_output.view(-1, *[1] * (weight.dim() - 1)))
    with eval_mode(probe), torch.enable_grad():
        output = probe(_ones_like_input(probe, input_shape))
        gradients = torch.autograd.grad(
            output.sum(), weights, allow_unused=True, materialize_grads=True
        )
    return sum(
        int(torch.count_nonzero(is_nonzero & (gradient == 0)))
        for is_nonzero, gradient in zip(nonzero, gradients, strict=True)
    )


def effective_compression(model: nn.Module, input_shape: Sequence[int]) -> float:
    """Total parameters / (nonzero parameters - ineffective weights); >= the compression."""
    total, nonzero = parameter_counts(model)
    return total / (nonzero - ineffective_weights(model, input_shape))


def model_cost(
    model: nn.Module, inputs: torch.Tensor, masks: Mapping[str, torch.Tensor] | None = None
) -> ModelCost:
    """Every cost of ``model`` (with ``masks`` applied to a copy, if given).

    Args:
        model: the model, pruned weights zero unless ``masks`` are given.
        inputs: a batch of real inputs on the model's device: its shape (less the batch
            dimension) sets the MACs, its values the nonzero activation memory.
        masks: masks to apply to a copy of ``model`` first.
    """
    if masks is not None:
        model = copy.deepcopy(model)
        apply_masks(model, masks)
    input_shape = tuple(inputs.shape[1:])
    total, nonzero = parameter_counts(model)
    layers = layer_table(model, input_shape)
    dense_macs = sum(row["dense_macs"] for row in layers)
    nonzero_macs = sum(row["nonzero_macs"] for row in layers)
    memory, nonzero_memory = activation_memory(model, inputs)
    return ModelCost(
        params_total=total,
        params_nonzero=nonzero,
        compression=total / nonzero,
        effective_compression=effective_compression(model, input_shape),
        macs_dense=dense_macs,
        macs_nonzero=nonzero_macs,
        speedup=dense_macs / nonzero_macs,
        activations_total=memory,
        activations_nonzero=nonzero_memory,
    )


def _layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one call of a conv or linear ``module`` that produced ``output``, per sample."""
    batch_size = output.shape[0]
    if isinstance(module, nn.Conv2d):
        kernel_height, kernel_width = module.kernel_size
        output_positions = output.shape[2] * output.shape[3]
        return (
            module.in_channels // module.groups
            * module.out_channels
            * kernel_height
            * kernel_width
            * output_positions
        )  # fmt: skip
    positions = output.numel() // (batch_size * module.out_features)
    return module.in_features * module.out_features * positions


def _ones_like_input(model: nn.Module, input_shape: Sequence[int]) -> torch.Tensor:
    """A batch of one all-ones input on the model's device, in its dtype."""
    parameter = next(model.parameters())
    return torch.ones(1, *input_shape, dtype=parameter.dtype, device=parameter.device)


@contextlib.contextmanager
def _hooked(modules: Mapping[str, nn.Module], make_hook) -> Iterator[None]:
    """Register ``make_hook(name, module)`` as a forward hook on each module for the body."""
    handles = [module.register_forward_hook(make_hook(n, module)) for n, module in modules.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
