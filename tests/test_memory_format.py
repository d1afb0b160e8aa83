"""Channels-last training layout: strides change inside, never values, and are restored after."""

import torch

from prunebench.models import create_model
from prunebench.models.memory_format import channels_last


def _strides(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: parameter.stride() for name, parameter in model.named_parameters()}


def test_conv_weights_are_channels_last_inside_and_restored_after():
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    strides_before = _strides(model)
    with channels_last(model):
        # conv1 has one input channel: its default strides already count as channels-last
        # contiguous, yet oneDNN reads the layout from the exact strides, which must change.
        assert model.conv1.weight.stride() == (25, 1, 5, 1)
        assert model.conv2.weight.stride() == (500, 1, 100, 20)
        assert model.fc1.weight.stride() == strides_before["fc1.weight"]
    assert _strides(model) == strides_before
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
        assert value.is_contiguous(), name


def test_nested_use_keeps_the_outer_layout_and_parameters_keep_their_identity():
    model = create_model("resnet20", 10)
    parameters = list(model.parameters())
    with channels_last(model):
        with channels_last(model):
            pass
        assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        assert model.conv1.weight.stride() != (27, 9, 3, 1)
    assert model.conv1.weight.stride() == (27, 9, 3, 1)
    assert all(a is b for a, b in zip(parameters, model.parameters(), strict=True))


def test_outputs_and_gradients_match_the_default_layout():
    torch.manual_seed(0)
    model = create_model("lenet5", 10)
    images = torch.randn(8, 1, 28, 28)

    def output_and_gradient() -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        output = model(images)
        output.square().sum().backward()
        return output.detach(), model.conv2.weight.grad.clone()

    reference_output, reference_gradient = output_and_gradient()
    with channels_last(model):
        output, gradient = output_and_gradient()
    torch.testing.assert_close(output, reference_output, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gradient, reference_gradient, rtol=1e-4, atol=1e-4)
    # The gradient left inside the body got the parameter's own layout back.
    assert model.conv2.weight.grad.stride() == model.conv2.weight.stride()
