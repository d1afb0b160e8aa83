"""SynFlow: iterative synaptic-flow pruning without data (Tanaka et al., NeurIPS 2020).

Why it exists. Single-shot scores ranked globally can empty a whole layer at high compression
("layer collapse"), which disconnects the network. SynFlow scores each weight by how much of the
*synaptic flow* through the network passes through it, and prunes in many small rounds,
re-scoring the pruned network each time. The paper proves that iterative pruning with a positive
score conserved from layer to layer (as this one is) and small enough steps empties no layer
before it must, and that the score needs no data, so it is the same for every benchmark seed.

The score. Replace every parameter and buffer by its absolute value (the paper's code takes
``abs`` of the whole ``state_dict``: weights, biases, batch-norm scale and shift, and the
batch-norm running statistics), feed an input of all ones (a batch of one, of the model's input
shape) and let ``R`` be the sum of the outputs. The score of a weight is ``|theta * dR/dtheta|``.
Batch norm runs in eval mode, as in the paper's ``prune_loop``, so it is a fixed affine map and
its running statistics are never updated. Everything is computed in float64: ``R`` sums, over
every input-output path, the product of one absolute weight per layer, which grows or shrinks
geometrically with depth; float32 overflows or underflows on deep networks long before float64,
and its rounding would decide the order of close scores.

The schedule. ``rounds`` rounds, the kept fraction decaying exponentially (the paper's default
``exponential`` schedule): round ``k`` of ``n`` keeps
``round(total * (keep_count / total) ** (k / n))`` weights, so the last round keeps exactly
``keep_count``. Each round scores the masked network (pruned weights are zero, so their flow is
gone) and keeps the highest scores among the weights still kept; a pruned weight is never revived.

The model's tensors are never written to: the linearised copy lives in a separate dictionary
that ``torch.func.functional_call`` swaps in for the forward pass (putting the model's own
tensors back after), and gradients are taken with ``torch.autograd.grad`` with respect to that
copy, so no ``.grad`` is touched. The train/eval flags are changed for the call and restored by
:func:`~prunebench.measurement.accuracy.eval_mode`.
"""

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.accuracy import eval_mode
from prunebench.sparsity.masks import MaskSet, validate_masks
from prunebench.strategies.allocation import top_k_masks
from prunebench.strategies.options import require_whole_number
from prunebench.strategies.score import Score, ScoreInputs

# float64 throughout: see the module docstring.
SCORE_DTYPE = torch.float64
# What a weight pruned by an earlier round scores in the last round. Every SynFlow score is an
# absolute value, so -1 ranks below all of them, as -inf would; but it is finite, and the strategy
# contract refuses a score that is not (a NaN or infinite entry is how a broken score shows).
PRUNED_SCORE = -1.0


@dataclass(frozen=True)
class SynflowOptions:
    """SynFlow's hyperparameters.

    ``rounds``: number of prune-and-rescore rounds on the exponential schedule. The paper uses 100;
    one round is single-shot SynFlow, which can collapse layers as any single-shot score can.
    """

    rounds: int = 100

    def __post_init__(self) -> None:
        require_whole_number(self.rounds, "synflow rounds")


def synflow_schedule(prunable_total: int, keep_count: int, rounds: int) -> list[int]:
    """Number of weights kept after each of the ``rounds`` rounds, the last being ``keep_count``.

    Round ``k`` keeps ``round(prunable_total * (keep_count / prunable_total) ** (k / rounds))``:
    every round removes the same fraction of the weights still kept (the paper's ``exponential``
    schedule), so no round takes a large step on scores computed before it. The last entry is
    set to ``keep_count`` exactly (a floating-point power need not land on it), and the counts
    never increase, so a round only ever prunes weights that the previous round kept.
    """
    if prunable_total < 1:
        raise PrunebenchError(f"synflow needs prunable weights, got {prunable_total}")
    if not 0 <= keep_count <= prunable_total:
        raise PrunebenchError(
            f"synflow keep_count must lie in [0, {prunable_total}], got {keep_count}"
        )
    ratio = keep_count / prunable_total
    counts = []
    previous = prunable_total
    for round_index in range(1, rounds + 1):
        count = round(prunable_total * ratio ** (round_index / rounds))
        previous = min(max(count, keep_count), previous)
        counts.append(previous)
    counts[-1] = keep_count
    return counts


def synflow_scores(
    model: nn.Module,
    parameters: dict[str, nn.Parameter],
    input_shape: tuple[int, ...],
    masks: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """One round of SynFlow scores ``|theta * dR/dtheta|`` for the prunable ``parameters``.

    ``parameters`` are the prunable weights by state-dict name (``masks.prunable_parameters``);
    ``input_shape`` is one sample's shape, without the batch dimension (``(1, 28, 28)`` for
    LeNet-5). With ``masks`` (boolean, ``True`` keeps; any subset of ``parameters``) the scores
    are those of the masked network, in which the pruned weights are zero and score zero.
    Returns float64 scores of each weight's shape on its device. The model is left as it was.
    """
    _check_parameters(model, parameters)
    inputs = _all_ones(model, input_shape)
    return _scores(
        model, parameters, _linearised_state(model), inputs, _checked_masks(model, masks)
    )


def synflow_masks(
    model: nn.Module,
    parameters: dict[str, nn.Parameter],
    keep_count: int,
    input_shape: tuple[int, ...],
    options: SynflowOptions = SynflowOptions(),
) -> MaskSet:
    """Iterative SynFlow masks keeping exactly ``keep_count`` of the prunable ``parameters``.

    ``keep_count`` is the number of prunable weights to keep, as
    ``prunebench.strategies.allocation.keep_count`` computes it from a target compression;
    ``input_shape`` is one sample's shape, without the batch dimension. Runs
    ``options.rounds`` rounds on :func:`synflow_schedule`; in each, the weights pruned so far
    score :data:`PRUNED_SCORE` (below every score), so the global top-k (exact, ties to the
    earlier weight, as in every allocation) never revives one. Returns boolean masks on each
    weight's device. Data-free and deterministic: no random number is drawn. The model is left
    as it was.
    """
    scores = synflow_final_scores(model, parameters, keep_count, input_shape, options)
    return dict(zip(scores, top_k_masks(list(scores.values()), keep_count), strict=True))


def synflow_final_scores(
    model: nn.Module,
    parameters: dict[str, nn.Parameter],
    keep_count: int,
    input_shape: tuple[int, ...],
    options: SynflowOptions = SynflowOptions(),
) -> dict[str, torch.Tensor]:
    """The scores of SynFlow's last round, weights pruned by the earlier rounds at
    :data:`PRUNED_SCORE` (-1, below every score: SynFlow's scores are absolute values).

    Their global top ``keep_count`` is :func:`synflow_masks`: the form in which SynFlow is a
    score like any other for the strategy registry's global allocation.
    """
    _check_parameters(model, parameters)
    if isinstance(keep_count, bool) or not isinstance(keep_count, numbers.Integral):
        raise PrunebenchError(f"synflow keep_count must be a whole number, got {keep_count!r}")
    total = sum(weight.numel() for weight in parameters.values())
    schedule = synflow_schedule(total, int(keep_count), options.rounds)
    # Linearised once: the masks change between rounds, the absolute values do not.
    state = _linearised_state(model)
    inputs = _all_ones(model, input_shape)
    masks = {
        name: torch.ones(weight.shape, dtype=torch.bool, device=weight.device)
        for name, weight in parameters.items()
    }
    for round_index, count in enumerate(schedule):
        scores = _scores(model, parameters, state, inputs, masks)
        ranked = {
            name: score.masked_fill(~masks[name], PRUNED_SCORE) for name, score in scores.items()
        }
        if round_index == len(schedule) - 1:
            return ranked
        masks = dict(zip(ranked, top_k_masks(list(ranked.values()), count), strict=True))
    raise AssertionError("synflow_schedule returns at least one round")


def _last_round_scores(inputs: ScoreInputs) -> dict[str, torch.Tensor]:
    """:func:`synflow_final_scores` towards the strategy's ``keep_count``, with its options."""
    if inputs.input_shape is None or inputs.keep_count is None:
        raise PrunebenchError("synflow needs the model's input_shape and the keep count")
    return synflow_final_scores(
        inputs.model, inputs.parameters, inputs.keep_count, inputs.input_shape, inputs.options
    )


SYNFLOW = Score("synflow", _last_round_scores)
"""SynFlow as a score: data-free; its global top ``keep_count`` is SynFlow's mask."""


def _scores(
    model: nn.Module,
    parameters: dict[str, nn.Parameter],
    state: dict[str, torch.Tensor],
    inputs: torch.Tensor,
    masks: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Scores of the linearised ``state`` with ``masks`` applied: one forward, one backward.

    The prunable weights become fresh leaves (their masked absolute values), so the gradient is
    taken with respect to them alone and nothing accumulates in any ``.grad``.
    """
    leaves = {}
    for name in parameters:
        leaf = state[name]
        if name in masks:
            leaf = leaf.masked_fill(~masks[name], 0.0)
        leaves[name] = leaf.detach().requires_grad_()
    with eval_mode(model), torch.enable_grad():
        output = functional_call(model, {**state, **leaves}, (inputs,))
        flow = output.sum()
        if not torch.isfinite(flow):
            raise PrunebenchError(
                f"synflow's flow R is {flow.item()} in float64: the network's absolute weights "
                "overflow on an all-ones input"
            )
        gradients = torch.autograd.grad(
            flow, list(leaves.values()), allow_unused=True, materialize_grads=True
        )
    return {
        name: (leaf.detach() * gradient).abs()
        for (name, leaf), gradient in zip(leaves.items(), gradients, strict=True)
    }


def _linearised_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Float64 absolute values of every floating-point parameter and buffer, by name.

    Buffers too, as the paper's ``linearize`` runs over the whole ``state_dict`` (so a batch
    norm's running mean enters as ``|mean|``). Integer buffers (``num_batches_tracked``) are left
    to the model. Copies: the model's own tensors are not touched.
    """
    tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    return {
        name: tensor.detach().to(SCORE_DTYPE).abs()
        for name, tensor in tensors.items()
        if tensor.is_floating_point()
    }


def _checked_masks(
    model: nn.Module, masks: Mapping[str, torch.Tensor] | None
) -> dict[str, torch.Tensor]:
    """``masks`` checked against ``model`` (``masks.validate_masks``), on their weights' devices."""
    if masks is None:
        return {}
    validate_masks(masks, model)
    weights = dict(model.named_parameters())
    return {name: mask.to(weights[name].device) for name, mask in masks.items()}


def _all_ones(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """The all-ones input: a batch of one sample of ``input_shape``, float64, on the model."""
    shape = tuple(input_shape)
    if not shape or any(
        isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1
        for size in shape
    ):
        raise PrunebenchError(
            f"synflow input_shape must be positive whole numbers, got {input_shape!r}"
        )
    device = next(model.parameters()).device
    return torch.ones((1, *shape), dtype=SCORE_DTYPE, device=device)


def _check_parameters(model: nn.Module, parameters: dict[str, nn.Parameter]) -> None:
    """Raise unless ``parameters`` is non-empty and names ``model``'s own parameters.

    The score substitutes tensors by name, so a weight given under a name the model does not use
    for it would silently be scored as some other tensor, or not at all.
    """
    if not parameters:
        raise PrunebenchError(f"model {type(model).__name__} has no prunable weights")
    own = dict(model.named_parameters())
    for name, weight in parameters.items():
        if own.get(name) is not weight:
            raise PrunebenchError(
                f"{name!r} is not a parameter of {type(model).__name__} under that name"
            )
