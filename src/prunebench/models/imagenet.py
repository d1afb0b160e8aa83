"""torchvision's ImageNet architectures, by their torchvision names.

torchvision costs seconds to import, so it is imported only when one of these models is built;
importing ``prunebench.models`` never loads it. Weights are not fetched here: published weights
go through ``prunebench.benchmarks.pretrained``, which checks their sha256 before loading.
"""

from torch import nn

from prunebench.models import MODELS

# torchvision model name -> the named_modules() name of its final linear layer
_CLASSIFIERS = {
    "resnet18": "fc",
    "resnet50": "fc",
    "vgg16": "classifier.6",
    "mobilenet_v2": "classifier.1",
}


def _register(name: str, classifier: str) -> None:
    def build(num_classes: int) -> nn.Module:
        import torchvision

        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
        model.classifier_name = classifier
        return model

    build.__doc__ = f"torchvision's {name}, randomly initialised, classifier {classifier!r}."
    MODELS.add(name, build)


for _name, _classifier in _CLASSIFIERS.items():
    _register(_name, _classifier)
