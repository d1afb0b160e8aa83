"""The scores of single weights: random, magnitude, gradient, activation and LAMP.

Each is a :class:`~prunebench.strategies.score.Score` whose function returns one tensor per
prunable weight, of the weight's shape, on its device (``score.Scores``); how many are kept where
is the allocation's job (``prunebench.strategies.allocation``).

Scores computed from data run the model in eval mode. That is deterministic (no dropout draws) and
leaves batch-norm running statistics untouched, so pruning never alters the pretrained model
beyond its masks; ShrinkBench computed gradients in train mode, which updates those statistics.
"""

from collections.abc import Iterable, Iterator

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.accuracy import eval_mode
from prunebench.strategies.score import Batch, Score, ScoreInputs, Scores


def magnitude_scores(inputs: ScoreInputs) -> Scores:
    """``|w|``: the paper's magnitude pruning."""
    return {name: weight.detach().abs() for name, weight in inputs.parameters.items()}


def random_scores(inputs: ScoreInputs) -> Scores:
    """Uniform random scores from a generator seeded by ``seed`` alone.

    Drawn on the CPU in a fixed layer order, so the masks depend on the seed only: not on the
    device, the global RNG state, or which strategy ran before.
    """
    generator = torch.Generator().manual_seed(inputs.seed)
    return {
        name: torch.rand(weight.shape, generator=generator).to(weight.device)
        for name, weight in inputs.parameters.items()
    }


def gradient_scores(inputs: ScoreInputs) -> Scores:
    """``|w * dL/dw|``, with ``dL/dw`` summed over the given minibatches (paper, section 7.2).

    The sum of per-batch mean-loss gradients is the gradient over all the batches up to a
    constant factor, which no ranking depends on. ``torch.autograd.grad`` leaves ``.grad``
    untouched.
    """
    names = list(inputs.parameters)
    weights = [inputs.parameters[name] for name in names]
    gradient_sums = [torch.zeros_like(weight) for weight in weights]
    device = weights[0].device
    with eval_mode(inputs.model), torch.enable_grad():
        for images, labels in _nonempty(inputs.batches):
            loss = inputs.loss_function(inputs.model(images.to(device)), labels.to(device))
            gradients = torch.autograd.grad(
                loss, weights, allow_unused=True, materialize_grads=True
            )
            for gradient_sum, gradient in zip(gradient_sums, gradients, strict=True):
                gradient_sum += gradient
    return _finite(
        {
            name: (weight.detach() * gradient_sum).abs()
            for name, weight, gradient_sum in zip(names, weights, gradient_sums, strict=True)
        }
    )


def activation_scores(inputs: ScoreInputs) -> Scores:
    """``|w|`` times the mean absolute input activation of the weight's input channel or feature.

    ShrinkBench's activation-weighted magnitude: a weight matters in proportion to how large the
    inputs it multiplies are. For a conv weight ``[out, in/groups, kh, kw]`` the activation is
    averaged over samples and spatial positions of its input channel; for a linear weight
    ``[out, in]`` over samples of its input feature. (ShrinkBench averages over the batch before
    taking the absolute value; the two agree on inputs after a ReLU, which is every layer but the
    first.) Accumulated with forward hooks over all the given minibatches.
    """
    modules = {
        name: inputs.model.get_submodule(name.rpartition(".")[0]) for name in inputs.parameters
    }
    sums = {
        name: torch.zeros(_input_width(module), device=inputs.parameters[name].device)
        for name, module in modules.items()
    }
    counts = dict.fromkeys(modules, 0)

    def recorder(name: str, module: nn.Module):
        channel_dim = 1 if isinstance(module, nn.Conv2d) else -1

        def hook(_: nn.Module, args: tuple, __: torch.Tensor) -> None:
            activation = args[0].detach().abs()
            channel_dim_index = channel_dim % activation.dim()
            other_dims = [dim for dim in range(activation.dim()) if dim != channel_dim_index]
            sums[name] += activation.sum(dim=other_dims)
            counts[name] += activation.numel() // activation.shape[channel_dim]

        return hook

    handles = [module.register_forward_hook(recorder(n, module)) for n, module in modules.items()]
    device = next(iter(inputs.parameters.values())).device
    try:
        with eval_mode(inputs.model), torch.no_grad():
            for images, _ in _nonempty(inputs.batches):
                inputs.model(images.to(device))
    finally:
        for handle in handles:
            handle.remove()
    scores = {}
    for name, module in modules.items():
        weight = inputs.parameters[name].detach()
        # A layer the forward pass never reached scores 0: none of its weights affect anything.
        mean_activation = (sums[name] / max(counts[name], 1)).to(weight.dtype)
        scores[name] = weight.abs() * _per_weight(mean_activation, module)
    return _finite(scores)


def lamp_scores(inputs: ScoreInputs) -> Scores:
    """Layer-adaptive magnitude (LAMP, Lee et al., ICLR 2021), to be ranked globally.

    ``score(w) = w^2 / sum(w'^2 for w' in the same layer with |w'| >= |w|)``: the weight's share of
    the squared mass of itself and every larger weight of its layer. The largest weight of every
    layer scores 1, so no layer is ever emptied, and a global threshold on these scores adapts
    the sparsity per layer. Weights of equal magnitude share one denominator (the sum over all
    of them, as the definition says), so the scores do not depend on a sort order. Computed in
    float64: a layer's suffix sums add millions of terms.
    """
    scores = {}
    for name, weight in inputs.parameters.items():
        squared = weight.detach().flatten().double().square()
        ascending, order = torch.sort(squared)
        suffix_sums = ascending.flip(0).cumsum(0).flip(0)
        # Among equal values, the first in ascending order has the suffix sum covering them all.
        first_equal = torch.searchsorted(ascending, ascending, side="left")
        denominators = suffix_sums[first_equal]
        sorted_scores = torch.where(denominators > 0, ascending / denominators, 0.0)
        layer_scores = torch.empty_like(sorted_scores)
        layer_scores[order] = sorted_scores
        scores[name] = layer_scores.view(weight.shape)
    return scores


def _nonempty(batches: Iterable[Batch] | None) -> Iterator[Batch]:
    """Yield ``batches``, raising :class:`PrunebenchError` if there are none."""
    if batches is None:
        raise PrunebenchError("this strategy scores weights from data but was given no batches")
    empty = True
    for batch in batches:
        empty = False
        yield batch
    if empty:
        raise PrunebenchError("this strategy scores weights from data but was given no batches")


def _finite(scores: Scores) -> Scores:
    """Return ``scores``, or raise if any is NaN or infinite (no ranking of those is meaningful)."""
    for name, score in scores.items():
        if not torch.isfinite(score).all():
            raise PrunebenchError(f"scores of {name!r} are not finite: NaN or inf in the loss?")
    return scores


def _input_width(module: nn.Module) -> int:
    """Input channels of a conv, input features of a linear layer."""
    return module.in_channels if isinstance(module, nn.Conv2d) else module.in_features


def _per_weight(per_input: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """Broadcast a value per input channel/feature to the shape of ``module.weight``.

    A grouped conv's weight ``[out, in/groups, kh, kw]`` sees, in output group ``g``, the input
    channels ``g * in/groups ...``; hence the regrouping.
    """
    if isinstance(module, nn.Linear):
        return per_input.view(1, -1)
    groups = module.groups
    per_group = per_input.view(groups, -1).repeat_interleave(module.out_channels // groups, dim=0)
    return per_group.view(module.out_channels, -1, 1, 1)


RANDOM = Score("random", random_scores)
MAGNITUDE = Score("magnitude", magnitude_scores)
GRADIENT = Score("gradient", gradient_scores, needs_batches=True)
ACTIVATION = Score("activation", activation_scores, needs_batches=True)
LAMP = Score("lamp", lamp_scores)
