"""What a score is: a named function of :class:`ScoreInputs`, higher keeps.

A score only ranks; how many weights or channels are kept where is the allocation's job. Its
``name`` is what reports call it (figure colours, the checklist's baseline kinds), so it is
declared, never read off a Python function's name: renaming a function changes no result. As in
Torch-Pruning (an importance is a callable object) and jaxpruner (a score is a typed object), a
score is a value that a strategy holds.

Example::

    >>> def doubled_magnitude(inputs):
    ...     return {name: 2 * w.detach().abs() for name, w in inputs.parameters.items()}
    >>> Score("doubled_magnitude", doubled_magnitude).name
    'doubled_magnitude'

Scores must not change the model: parameters, buffers (batch-norm statistics), ``.grad`` and the
train/eval mode are as they were afterwards.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.sparsity.channels.group import ChannelGroup

Batch = tuple[torch.Tensor, torch.Tensor]
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Scores = dict[str, torch.Tensor]
"""One score tensor per prunable weight, of the weight's shape, by state-dict name."""


@dataclass(frozen=True)
class ScoreInputs:
    """Everything a score may read.

    ``parameters`` are the prunable weights by state-dict name (``masks.prunable_parameters``);
    ``batches`` are the minibatches for data-dependent scores, ``(images, labels)`` each;
    ``options`` the strategy's hyperparameters (its options dataclass). ``keep_count`` is the
    number of weights the allocation will keep, for scores that prune iteratively on their way
    to it (SynFlow); ``input_shape`` one sample's shape, for scores that run the network on a
    synthetic input; ``groups`` the channel groups a channel score rates, one number each.
    """

    model: nn.Module
    parameters: dict[str, nn.Parameter]
    seed: int
    batches: Iterable[Batch] | None
    loss_function: LossFunction
    options: Any = None
    keep_count: int | None = None
    input_shape: tuple[int, ...] | None = None
    groups: Sequence[ChannelGroup] | None = None


@dataclass(frozen=True)
class Score:
    """A score under its name: how important each weight (or channel group) is, higher keeps.

    ``name`` is what reports call it; ``compute`` maps :class:`ScoreInputs` to one tensor per
    prunable weight (:data:`Scores`) for the unstructured structure, or to one number per
    channel group (``inputs.groups``) for the channel structure; ``needs_batches`` says it reads
    ``inputs.batches`` (gradients, activations), which the caller must then pass.
    """

    name: str
    compute: Callable[[ScoreInputs], Any]
    needs_batches: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.isidentifier()):
            raise PrunebenchError(
                f"a score's name must be a word (letters, digits, _), got {self.name!r}"
            )
        if not callable(self.compute):
            raise PrunebenchError(f"score {self.name!r} must compute with a function")
