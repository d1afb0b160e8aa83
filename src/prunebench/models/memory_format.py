"""Channels-last memory format for convolution weights while a model trains or evaluates.

oneDNN (CPU) and cuDNN (GPU) pick their NHWC kernels when a convolution's weight has
channels-last strides; activations then stay NHWC from layer to layer, so pooling and the next
convolution avoid the reorders of PyTorch's default NCHW, which makes a LeNet-5 training step on
the CPU markedly faster (``docs/measurements.md``; ``perf/train_throughput.py``). Only strides
change, never a value, and checkpoints are saved from the original layout.
"""

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def channels_last(model: nn.Module) -> Iterator[None]:
    """Hold ``model``'s 4-D parameters (convolution weights) channels-last inside the body.

    Parameters keep their identity (only ``.data`` is swapped), so hooks and an optimizer built on
    them keep working. On exit, each parameter this call converted gets its original strides
    back, and so does its gradient; nested uses (evaluation inside training) change nothing.
    """
    original_strides = {}
    for parameter in model.parameters():
        if parameter.dim() != 4:
            continue
        # ``.to`` rather than ``.contiguous``: a weight with one input channel counts as
        # contiguous in both layouts, and ``.contiguous`` would leave its NCHW strides, which
        # make oneDNN choose NCHW for the whole network.
        converted = parameter.data.to(memory_format=torch.channels_last)
        if converted.stride() != parameter.stride():
            original_strides[parameter] = parameter.stride()
            parameter.data = converted
    try:
        yield
    finally:
        for parameter, stride in original_strides.items():
            parameter.data = _restrided(parameter.data, stride)
            if parameter.grad is not None:
                parameter.grad = _restrided(parameter.grad, stride)


def _restrided(tensor: torch.Tensor, stride: tuple[int, ...]) -> torch.Tensor:
    return torch.empty_strided(
        tensor.shape, stride, dtype=tensor.dtype, device=tensor.device
    ).copy_(tensor)
