"""Model registry: every architecture a benchmark can name, built by ``create_model``.

Each registered entry is a factory ``(num_classes) -> nn.Module``. Every model it returns carries
``classifier_name``: the ``named_modules()`` name of its final linear layer, which the paper's setup
leaves unpruned by default. Parameter names are state-dict names, matching the published
checkpoints (ShrinkBench, torchvision) so that they load strictly.

Registered names:

- ``lenet300_100``, ``lenet5``: MNIST-sized networks (``prunebench.models.lenet``).
- ``resnet20`` ... ``resnet110``: CIFAR ResNets with option-A shortcuts
  (``prunebench.models.cifar_resnet``).
- ``vgg_bn_drop``: Zagoruyko's CIFAR VGG (``prunebench.models.cifar_vgg``).
- ``resnet18``, ``resnet50``, ``vgg16``, ``mobilenet_v2``: torchvision's ImageNet models
  (``prunebench.models.imagenet``); torchvision is imported only when one is built.
"""

from collections.abc import Callable

from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.registry import Registry

ModelFactory = Callable[[int], nn.Module]

MODELS: Registry[ModelFactory] = Registry("model")

# Importing the definition modules fills MODELS; they must come after MODELS exists.
from prunebench.models import cifar_resnet, cifar_vgg, imagenet, lenet  # noqa: E402, F401


def create_model(name: str, num_classes: int) -> nn.Module:
    """Build the registered architecture ``name`` with a fresh ``num_classes``-way classifier.

    Unknown names raise :class:`PrunebenchError` listing the valid ones.
    """
    if num_classes < 1:
        raise PrunebenchError(f"num_classes must be at least 1, got {num_classes}")
    return MODELS[name](num_classes)


def classifier_name(model: nn.Module) -> str:
    """The module name of ``model``'s final linear layer, left unpruned by default.

    Read from the attribute every registered model sets, so that callers never guess it from the
    layer order (torchvision's VGG, for one, ends in ``classifier.6``, not in its last child).
    """
    name = getattr(model, "classifier_name", None)
    if not isinstance(name, str):
        raise PrunebenchError(
            f"model {type(model).__name__} has no classifier_name; build it with create_model"
        )
    return name
