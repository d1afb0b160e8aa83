"""Model registry: parameter counts of the published architectures, shortcuts, classifier names."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.models import MODELS, classifier_name, create_model
from prunebench.models.cifar_resnet import BasicBlock, PadShortcut

# Counts of the reference implementations (akamaster's table: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M;
# Zagoruyko's VGG: 15.0M), to the parameter.
PARAMETER_COUNTS = {
    "lenet300_100": 266_610,
    "lenet5": 431_080,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "vgg_bn_drop": 14_991_946,
}

INPUT_SHAPES = {
    "lenet300_100": (1, 28, 28),
    "lenet5": (1, 28, 28),
    "resnet20": (3, 32, 32),
    "vgg_bn_drop": (3, 32, 32),
}


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_parameter_count_matches_the_reference(name: str) -> None:
    assert parameter_count(create_model(name, num_classes=10)) == PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_classifier_name_is_the_final_linear_layer(name: str) -> None:
    model = create_model(name, num_classes=7)
    modules = dict(model.named_modules())
    classifier = modules[classifier_name(model)]
    assert isinstance(classifier, nn.Linear)
    assert classifier.out_features == 7
    last_linear = [module for module in modules.values() if isinstance(module, nn.Linear)][-1]
    assert classifier is last_linear


@pytest.mark.parametrize("name", sorted(INPUT_SHAPES))
def test_forward_gives_one_logit_per_class(name: str) -> None:
    model = create_model(name, num_classes=5).eval()
    with torch.no_grad():
        logits = model(
            torch.randn(3, *INPUT_SHAPES[name], generator=torch.Generator().manual_seed(0))
        )
    assert logits.shape == (3, 5)
    assert torch.isfinite(logits).all()


def test_option_a_shortcut_subsamples_and_zero_pads_channels() -> None:
    block = BasicBlock(in_planes=16, planes=32, stride=2)
    assert isinstance(block.shortcut, PadShortcut)
    x = torch.arange(2 * 16 * 6 * 6, dtype=torch.float32).reshape(2, 16, 6, 6)
    expected = torch.zeros(2, 32, 3, 3)
    for channel in range(16):
        for row in range(3):
            for column in range(3):
                # The 16 old channels sit in the middle: 8 zero channels before, 8 after.
                expected[:, 8 + channel, row, column] = x[:, channel, 2 * row, 2 * column]
    assert torch.equal(block.shortcut(x), expected)


def test_cifar_resnet_shortcuts_have_no_parameters() -> None:
    model = create_model("resnet20", num_classes=10)
    padded = [name for name, module in model.named_modules() if isinstance(module, PadShortcut)]
    assert padded == ["layer2.0.shortcut", "layer3.0.shortcut"]
    assert not any(".shortcut." in name for name in model.state_dict())


def test_lenet5_has_shrinkbench_state_dict_names() -> None:
    names = list(create_model("lenet5", num_classes=10).state_dict())
    assert names == [
        f"{layer}.{kind}"
        for layer in ("conv1", "conv2", "fc1", "fc2")
        for kind in ("weight", "bias")
    ]


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(PrunebenchError, match="unknown model 'resnet21'.*lenet5.*resnet20"):
        create_model("resnet21", num_classes=10)


def test_non_positive_class_count_is_refused() -> None:
    with pytest.raises(PrunebenchError, match="num_classes"):
        create_model("lenet5", num_classes=0)


def test_classifier_name_of_a_foreign_model_is_an_error() -> None:
    with pytest.raises(PrunebenchError, match="classifier_name"):
        classifier_name(nn.Linear(2, 2))


def test_importing_models_does_not_import_torchvision() -> None:
    code = "import sys, prunebench.models; print('torchvision' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_torchvision_resnet18() -> None:
    model = create_model("resnet18", num_classes=1000)
    assert parameter_count(model) == 11_689_512
    assert classifier_name(model) == "fc"
    assert dict(model.named_modules())["fc"].out_features == 1000


@pytest.mark.parametrize(
    ("name", "classifier"), [("vgg16", "classifier.6"), ("mobilenet_v2", "classifier.1")]
)
def test_torchvision_classifier_names(name: str, classifier: str) -> None:
    model = create_model(name, num_classes=12)
    assert classifier_name(model) == classifier
    modules = dict(model.named_modules())
    assert modules[classifier] is [m for m in modules.values() if isinstance(m, nn.Linear)][-1]
    assert modules[classifier].out_features == 12


def test_torchvision_models_are_registered() -> None:
    assert {"resnet18", "resnet50", "vgg16", "mobilenet_v2"} <= set(MODELS.names())
