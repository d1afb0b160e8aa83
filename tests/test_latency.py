"""Measured latency on real small models: records complete and consistent, sparse kernels equal
to the dense layers they replace, the physically smaller model timed for channel masks."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.environment import cpu_model
from prunebench.foundations.errors import PrunebenchError
from prunebench.measurement.latency import (
    CsrConv2d,
    CsrLinear,
    Timing,
    hardware,
    is_two_to_four,
    measure_cell,
    measure_dense,
    time_forward,
)
from prunebench.models import create_model
from prunebench.sparsity.masks import apply_masks, prunable_parameters
from prunebench.strategies import compute_masks

LENET_SHAPE = (1, 28, 28)
CPU = torch.device("cpu")


def lenet5() -> nn.Module:
    torch.manual_seed(0)
    return create_model("lenet5", 10)


def random_masks(model: nn.Module, keep: float, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.rand(weight.shape, generator=generator) < keep
        for name, weight in prunable_parameters(model).items()
    }


def masked_copy(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    masked = copy.deepcopy(model)
    apply_masks(masked, masks)
    return masked


def assert_timing(entry: dict) -> None:
    assert math.isfinite(entry["median_ms"]) and entry["median_ms"] > 0
    assert math.isfinite(entry["iqr_ms"]) and entry["iqr_ms"] >= 0
    assert entry["repeats"] >= 1


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.state_dict().items()}


def test_measure_cell_times_dense_and_every_execution_of_lenet5():
    dense = lenet5().train()
    masks = random_masks(dense, keep=0.1, seed=0)
    model = masked_copy(dense, masks)
    dense_before, model_before = state(dense), state(model)

    record = measure_cell(
        model,
        masks,
        structure="unstructured",
        dense=dense,
        input_shape=LENET_SHAPE,
        batch_sizes=[1, 8],
        repeats=3,
        warmup=1,
        device=CPU,
    )

    assert record["structure"] == "unstructured"
    assert record["hardware"] == hardware(CPU)
    assert set(record["load_average"]) == {"before", "after"}
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    assert record["parameters"] == {
        "dense": sum(p.numel() for p in dense.parameters()),
        "timed": nonzero,
    }
    assert set(record["batches"]) == {"1", "8"}
    for entry in record["batches"].values():
        assert_timing(entry["dense"])
        executions = entry["executions"]
        assert set(executions) == {"dense_with_zeros", "sparse", "semi_structured_2_4"}
        assert executions["semi_structured_2_4"] == "not applicable: no CUDA device"
        timed = {name: e for name, e in executions.items() if isinstance(e, dict)}
        assert set(timed) == {"dense_with_zeros", "sparse"}
        for timing in timed.values():
            assert_timing(timing)
        sparse = executions["sparse"]
        assert set(sparse["layers"]) == {"conv1", "conv2", "fc1"}  # fc2, the classifier: unmasked
        assert set(sparse["layers"].values()) <= {"dense", "csr"}
        for name, measured in sparse["layer_timings"].items():
            slower = measured["csr_given_up"] or measured["csr_ms"] >= measured["dense_ms"]
            faster = "dense" if slower else "csr"
            assert sparse["layers"][name] == faster
        assert entry["best_execution"] in timed
        best = timed[entry["best_execution"]]["median_ms"]
        assert best == min(t["median_ms"] for t in timed.values())
        assert entry["measured_speedup"] == entry["dense"]["median_ms"] / best
    # The caller's models: same weights, same mode.
    assert all(torch.equal(state(dense)[k], v) for k, v in dense_before.items())
    assert all(torch.equal(state(model)[k], v) for k, v in model_before.items())
    assert dense.training


def test_hardware_names_the_cpu_and_torch():
    described = hardware(CPU)
    assert described["cpu"] == cpu_model()
    assert described["torch"] == torch.__version__
    assert described["threads"] == str(torch.get_num_threads())
    assert described["gpu"] == "none"
    assert described["device"] == "cpu"
    assert all(isinstance(value, str) for value in described.values())


def test_measure_dense_records_the_control_per_batch_size():
    dense = lenet5()
    record = measure_dense(
        dense, input_shape=LENET_SHAPE, batch_sizes=[1, 4], repeats=2, warmup=0, device=CPU
    )
    assert set(record["batches"]) == {"1", "4"}
    for timing in record["batches"].values():
        assert_timing(timing)
        assert timing["repeats"] == 2
    assert record["parameters"] == sum(p.numel() for p in dense.parameters())


def test_time_forward_and_quantiles():
    model = nn.Linear(4, 2).train()
    timing = time_forward(model, torch.randn(3, 4), repeats=4, warmup=1)
    assert timing.repeats == 4 and timing.median_ms > 0
    assert model.training, "the caller's mode is restored"
    samples = Timing.from_samples([1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000])
    assert samples.as_dict() == {"median_ms": 3.0, "iqr_ms": 2.0, "repeats": 5}


def sparse_weight(module: nn.Module, keep: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        module.weight.mul_(torch.rand(module.weight.shape, generator=generator) < keep)


@pytest.mark.parametrize("bias", [True, False])
def test_the_csr_linear_computes_what_the_linear_layer_does(bias):
    torch.manual_seed(0)
    linear = nn.Linear(32, 24, bias=bias)
    sparse_weight(linear, keep=0.3, seed=1)
    csr = CsrLinear(linear)
    with torch.inference_mode():
        for shape in [(1, 32), (7, 32), (2, 5, 32)]:
            x = torch.randn(shape)
            torch.testing.assert_close(csr(x), linear(x), rtol=1e-5, atol=1e-5)


CONVS = [
    {"kernel_size": 5},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)},
    {"kernel_size": 3, "padding": 1, "bias": False},
]


@pytest.mark.parametrize("options", CONVS)
def test_the_csr_conv_computes_what_the_conv_does(options):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, **options)
    sparse_weight(conv, keep=0.3, seed=1)
    csr = CsrConv2d(conv)
    x = torch.randn(3, 6, 13, 11)
    with torch.inference_mode():
        expected = conv(x)
        out = csr(x)
        assert out.shape == expected.shape and out.is_contiguous()
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(csr(x[0]), conv(x[0]), rtol=1e-5, atol=1e-5)
        # The im2col matrix is F.unfold's, with the batch folded into the columns.
        unfolded = F.unfold(x, conv.kernel_size, conv.dilation, conv.padding, conv.stride)
        assert torch.equal(csr.columns(x), unfolded.transpose(0, 1).reshape(unfolded.shape[1], -1))


def test_lenet5_with_every_layer_csr_computes_what_it_does_dense():
    model = masked_copy(lenet5(), random_masks(lenet5(), keep=0.2, seed=3)).eval()
    all_csr = copy.deepcopy(model)
    for name in ("conv1", "conv2"):
        setattr(all_csr, name, CsrConv2d(getattr(model, name)))
    for name in ("fc1", "fc2"):
        setattr(all_csr, name, CsrLinear(getattr(model, name)))
    x = torch.randn(5, *LENET_SHAPE)
    with torch.inference_mode():
        torch.testing.assert_close(all_csr(x), model(x), rtol=1e-4, atol=1e-5)


def test_a_grouped_conv_keeps_its_dense_kernel():
    with pytest.raises(PrunebenchError, match="groups=2"):
        CsrConv2d(nn.Conv2d(4, 4, 3, groups=2))


def test_a_channel_mask_times_the_physically_smaller_model():
    torch.manual_seed(0)
    dense = create_model("lenet5", 10)
    with torch.no_grad():
        for parameter in dense.parameters():  # no zero that the mask did not make
            parameter.copy_(torch.randn_like(parameter) * 0.1 + 0.01)
    masks = compute_masks(dense, "layer_channel_l1", 4, seed=0, input_shape=LENET_SHAPE)
    model = masked_copy(dense, masks)

    record = measure_cell(
        model,
        masks,
        structure="channel",
        dense=dense,
        input_shape=LENET_SHAPE,
        batch_sizes=[2],
        repeats=2,
        warmup=0,
        device=CPU,
    )

    parameters = dict(dense.named_parameters())
    uncovered = sum(p.numel() for name, p in parameters.items() if name not in masks)
    kept = sum(int(torch.count_nonzero(mask)) for mask in masks.values())
    assert record["parameters"]["timed"] == kept + uncovered
    assert record["parameters"]["timed"] < record["parameters"]["dense"]
    entry = record["batches"]["2"]
    assert set(entry["executions"]) == {"dense_with_zeros", "physically_smaller"}
    for timing in entry["executions"].values():
        assert_timing(timing)
    assert entry["best_execution"] in entry["executions"]


def test_two_to_four():
    two_of_four = torch.tensor([[1, 1, 0, 0, 0, 1, 0, 1], [1, 0, 0, 0, 0, 0, 1, 1]], dtype=bool)
    assert is_two_to_four(two_of_four)
    three_of_four = two_of_four.clone()
    three_of_four[1, 1] = True
    three_of_four[1, 2] = True
    assert not is_two_to_four(three_of_four)
    assert not is_two_to_four(torch.zeros(2, 6, dtype=bool)), "rows must split into groups of 4"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warmup"),
        ({"batch_sizes": []}, "batch_sizes"),
        ({"batch_sizes": [0]}, "batch sizes"),
        ({"structure": "block"}, "unknown latency structure 'block'; valid: unstructured"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(change, message):
    dense = lenet5()
    arguments = {
        "structure": "unstructured",
        "dense": dense,
        "input_shape": LENET_SHAPE,
        "batch_sizes": [1],
        "repeats": 1,
        "warmup": 0,
        "device": CPU,
    }
    with pytest.raises(PrunebenchError, match=message) as raised:
        measure_cell(dense, {}, **{**arguments, **change})
    assert "\n" not in str(raised.value)
