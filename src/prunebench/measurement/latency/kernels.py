"""Sparse kernels a pruned layer can run instead of its dense one.

- :class:`CsrLinear` and :class:`CsrConv2d`: a masked linear layer or convolution as a CSR sparse
  matrix product (the convolution through an im2col matrix), any mask;
- :func:`is_two_to_four`: whether a mask has the 2:4 pattern that semi-structured sparse kernels
  (``torch.sparse.to_sparse_semi_structured``) need.
"""

import warnings
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.latency.timing import synchronize


def _csr(matrix: torch.Tensor) -> torch.Tensor:
    """``matrix`` (2-D) as a CSR sparse tensor."""
    with warnings.catch_warnings():
        # "Sparse CSR tensor support is in beta state": said once per process, and not news.
        warnings.simplefilter("ignore", UserWarning)
        return matrix.detach().to_sparse_csr()


@cache
def warm_up_sparse(device: torch.device) -> None:
    """Run one tiny CSR product on ``device``, once per process.

    The first sparse product of a process loads and initialises the sparse library, which takes
    many times as long as a LeNet-5 layer's product at batch 1 (``docs/measurements.md``); timed
    inside the first layer's first CSR run, it would make the kernel look slower than it is.
    """
    matrix = torch.eye(4, device=device)
    _ = _csr(matrix) @ matrix
    synchronize(device)


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
        several times slower on LeNet-5's batch of 1000 (``docs/measurements.md``).
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


def csr_kernel(layer: nn.Module) -> nn.Module | str:
    """The CSR replacement of ``layer`` (a linear layer or convolution), or why there is none."""
    if isinstance(layer, nn.Linear):
        return CsrLinear(layer)
    reason = CsrConv2d.supports(layer)
    return CsrConv2d(layer) if reason is None else f"not applicable: {reason}"


def is_two_to_four(mask: torch.Tensor) -> bool:
    """Whether ``mask`` keeps at most 2 of every 4 consecutive entries along its last dimension.

    The pattern semi-structured sparse kernels need; the last dimension must divide by 4.
    """
    if mask.dim() < 1 or mask.shape[-1] % 4 != 0:
        return False
    kept = mask.reshape(-1, 4).to(torch.int8).sum(dim=1)
    return bool((kept <= 2).all())
