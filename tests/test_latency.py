"""Measured latency on real small models: records complete and consistent, sparse kernels equal
to the dense layers they replace, the physically smaller model timed for channel masks, and
records that read back and write out the committed files byte for byte."""

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prunebench.foundations.environment import cpu_model
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import json_bytes, read_json
from prunebench.foundations.taxonomy import Structure
from prunebench.measurement.latency.executions import Runnable
from prunebench.measurement.latency.kernels import CsrConv2d, CsrLinear, is_two_to_four
from prunebench.measurement.latency.measure import LatencySetup, measure_cell, measure_control
from prunebench.measurement.latency.records import (
    BatchLatency,
    CellLatency,
    CellLatencyFile,
    ControlLatency,
    ControlLatencyFile,
    CsrNotApplicable,
    Execution,
    ExecutionTiming,
    Hardware,
    Kernel,
    LatencySettings,
    LayerTiming,
    LoadAverage,
    TimedParameters,
)
from prunebench.measurement.latency.timing import Timing, time_forward
from prunebench.models import create_model
from prunebench.sparsity.masks import apply_masks, prunable_parameters
from prunebench.strategies import compute_masks

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results/latency"
LENET_SHAPE = (1, 28, 28)
CPU = torch.device("cpu")


def setup(batch_sizes: list[int], repeats: int, warmup: int) -> LatencySetup:
    return LatencySetup(LatencySettings(batch_sizes, repeats, warmup), LENET_SHAPE, CPU)


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


def assert_timing(timing: Timing) -> None:
    assert math.isfinite(timing.median_ms) and timing.median_ms > 0
    assert math.isfinite(timing.iqr_ms) and timing.iqr_ms >= 0
    assert timing.repeats >= 1


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
        setup=setup([1, 8], repeats=3, warmup=1),
        seed=0,
    )

    assert record.structure is Structure.UNSTRUCTURED
    assert record.settings == LatencySettings((1, 8), repeats=3, warmup=1)
    assert record.seed == 0
    assert record.hardware == Hardware.of(CPU)
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    assert record.parameters == TimedParameters(
        dense=sum(p.numel() for p in dense.parameters()), timed=nonzero
    )
    assert set(record.batches) == {"1", "8"}
    for entry in record.batches.values():
        assert_timing(entry.dense)
        executions = entry.executions
        assert set(executions) == {"dense_with_zeros", "sparse", "semi_structured_2_4"}
        assert executions["semi_structured_2_4"] == "not applicable: no CUDA device"
        timed = {name: e for name, e in executions.items() if isinstance(e, ExecutionTiming)}
        assert set(timed) == {"dense_with_zeros", "sparse"}
        for timing in timed.values():
            assert_timing(timing)
        sparse = executions["sparse"]
        assert set(sparse.layers) == {"conv1", "conv2", "fc1"}  # fc2, the classifier: unmasked
        for name, measured in sparse.layer_timings.items():
            slower = measured.csr_given_up or measured.csr_ms >= measured.dense_ms
            assert sparse.layers[name] is (Kernel.DENSE if slower else Kernel.CSR)
        assert entry.best_execution in timed
        best = timed[entry.best_execution].median_ms
        assert best == min(t.median_ms for t in timed.values())
        assert entry.measured_speedup == entry.dense.median_ms / best
    # The caller's models: same weights, same mode.
    assert all(torch.equal(state(dense)[k], v) for k, v in dense_before.items())
    assert all(torch.equal(state(model)[k], v) for k, v in model_before.items())
    assert dense.training


def test_hardware_names_the_cpu_and_torch():
    described = Hardware.of(CPU)
    assert described.cpu == cpu_model()
    assert described.torch == torch.__version__
    assert described.threads == str(torch.get_num_threads())
    assert described.gpu == "none"
    assert described.device == "cpu"
    assert all(isinstance(value, str) for value in described.to_json().values())


def test_measure_control_records_the_dense_model_per_batch_size():
    dense = lenet5()
    record = measure_control(dense, setup([1, 4], repeats=2, warmup=0))
    assert set(record.batches) == {"1", "4"}
    for timing in record.batches.values():
        assert_timing(timing)
        assert timing.repeats == 2
    assert record.parameters == sum(p.numel() for p in dense.parameters())
    assert record.settings == LatencySettings([1, 4], repeats=2, warmup=0)


def test_time_forward_restores_the_mode_and_timing_takes_median_and_iqr():
    model = nn.Linear(4, 2).train()
    timing = time_forward(model, torch.randn(3, 4), repeats=4, warmup=1)
    assert timing.repeats == 4 and timing.median_ms > 0
    assert model.training, "the caller's mode is restored"
    # 1..5 ms: median 3 ms, quartiles 2 and 4 ms.
    samples = Timing.from_samples([1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000])
    assert samples.to_json() == {"median_ms": 3.0, "iqr_ms": 2.0, "repeats": 5}


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


def test_a_grouped_conv_records_why_it_has_no_csr_kernel():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.Linear(4, 2))
    masks = {"0.weight": torch.rand(4, 2, 3, 3) < 0.5, "2.weight": torch.rand(2, 4) < 0.5}
    record = measure_cell(
        masked_copy(model, masks),
        masks,
        structure=Structure.UNSTRUCTURED,
        dense=model,
        setup=LatencySetup(LatencySettings([2], repeats=1, warmup=0), (4, 3, 3), CPU),
        seed=0,
    )
    sparse = record.batches["2"].executions["sparse"]
    assert sparse.layers["0"] is Kernel.DENSE
    assert sparse.layer_timings["0"] == CsrNotApplicable("not applicable: groups=2")
    assert sparse.to_json()["layer_timings"]["0"] == {"csr": "not applicable: groups=2"}


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
        setup=setup([2], repeats=2, warmup=0),
        seed=0,
    )

    parameters = dict(dense.named_parameters())
    uncovered = sum(p.numel() for name, p in parameters.items() if name not in masks)
    kept = sum(int(torch.count_nonzero(mask)) for mask in masks.values())
    assert record.structure is Structure.CHANNEL
    assert record.parameters.timed == kept + uncovered
    assert record.parameters.timed < record.parameters.dense
    entry = record.batches["2"]
    assert set(entry.executions) == {"dense_with_zeros", "physically_smaller"}
    for timing in entry.executions.values():
        assert_timing(timing)
    assert entry.best_execution in entry.executions


class InputDtype(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.dtype:
        return x.dtype


def test_a_half_precision_execution_casts_its_inputs_and_says_so_in_its_record():
    half = Runnable(InputDtype(), half=True)
    assert half.call(torch.zeros(2, 3))() == torch.float16
    assert half.timed(Timing(1.0, 0.25, 3)).to_json() == {
        "median_ms": 1.0,
        "iqr_ms": 0.25,
        "repeats": 3,
        "dtype": "float16",
    }
    assert Runnable(InputDtype()).call(torch.zeros(2, 3))() == torch.float32


def test_two_to_four():
    two_of_four = torch.tensor([[1, 1, 0, 0, 0, 1, 0, 1], [1, 0, 0, 0, 0, 0, 1, 1]], dtype=bool)
    assert is_two_to_four(two_of_four)
    three_of_four = two_of_four.clone()
    three_of_four[1, 1] = True
    three_of_four[1, 2] = True
    assert not is_two_to_four(three_of_four)
    assert not is_two_to_four(torch.zeros(2, 6, dtype=bool)), "rows must split into groups of 4"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"repeats": 0}, "latency repeats must be an integer >= 1, got 0"),
        ({"warmup": -1}, "latency warmup must be an integer >= 0, got -1"),
        ({"batch_sizes": []}, "latency batch_sizes must name at least one batch size"),
        ({"batch_sizes": [0]}, "latency batch sizes must be integers >= 1, got 0"),
        ({"batch_sizes": [4, 4]}, r"latency batch sizes must be distinct, got \[4, 4\]"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(PrunebenchError, match=message) as raised:
        LatencySettings(**{"batch_sizes": [1], "repeats": 1, "warmup": 0, **settings})
    assert "\n" not in str(raised.value)


def test_an_unknown_structure_is_refused_in_one_line():
    dense = lenet5()
    with pytest.raises(PrunebenchError) as raised:
        measure_cell(dense, {}, structure="block", dense=dense, setup=setup([1], 1, 0), seed=0)
    assert str(raised.value) == "unknown latency structure 'block'; valid: unstructured, channel"


# Records built by hand in the shape of the committed LeNet-5 files: 2 batch sizes, 3 masked layers.
TIMING = Timing(median_ms=0.8, iqr_ms=0.1, repeats=30)
SETTINGS = LatencySettings(batch_sizes=[1, 128], repeats=30, warmup=5)
HARDWARE = Hardware(
    cpu="AMD EPYC",
    logical_cpus="2",
    threads="2",
    torch="2.15.0",
    device="cpu",
    gpu="none",
    cpu_capability="AVX2",
    cpu_numerics="pinned",
)
LOAD = LoadAverage(before=1.5, after=None)
LAYER = LayerTiming(dense_ms=0.2, dense_runs=5, csr_ms=11.4, csr_runs=1, csr_given_up=True)
SPARSE = ExecutionTiming(
    median_ms=0.7,
    iqr_ms=0.1,
    repeats=30,
    layers={"conv1": Kernel.DENSE, "conv2": Kernel.CSR, "fc1": Kernel.CSR},
    layer_timings={"conv1": LAYER, "conv2": LAYER, "fc1": LAYER},
)
BATCH = BatchLatency(
    dense=TIMING,
    executions={
        "dense_with_zeros": ExecutionTiming(median_ms=0.75, iqr_ms=0.1, repeats=30),
        "semi_structured_2_4": "not applicable: no CUDA device",
        "sparse": SPARSE,
    },
    best_execution=Execution.SPARSE,
    measured_speedup=0.8 / 0.7,
)
CELL = CellLatency(
    settings=SETTINGS,
    hardware=HARDWARE,
    load_average=LOAD,
    structure=Structure.UNSTRUCTURED,
    seed=0,
    batches={"1": BATCH, "128": BATCH},
    parameters=TimedParameters(dense=431080, timed=13471),
)
CONTROL = ControlLatency(
    settings=SETTINGS,
    hardware=HARDWARE,
    load_average=LOAD,
    batches={"1": TIMING, "128": TIMING},
    parameters=431080,
)
RECORDS = [
    TIMING,
    SETTINGS,
    HARDWARE,
    LOAD,
    LAYER,
    CsrNotApplicable("not applicable: groups=2"),
    SPARSE,
    ExecutionTiming(median_ms=0.3, iqr_ms=0.01, repeats=30, dtype="float16"),
    BATCH,
    TimedParameters(dense=431080, timed=13471),
    CONTROL,
    CELL,
    ControlLatencyFile.of(CONTROL, fingerprint="1196f794"),
    CellLatencyFile.of(CELL, strategy="lamp", target_compression=32.0),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: type(record).__name__)
def test_every_record_survives_its_json_round_trip(record):
    assert type(record).from_json(record.to_json()) == record


def key_tree(value: object) -> object:
    """The keys of nested JSON mappings, the values left out."""
    if isinstance(value, dict):
        return {key: key_tree(entry) for key, entry in value.items()}
    return None


def test_the_control_record_has_the_keys_of_the_committed_file():
    record = ControlLatencyFile.of(CONTROL, fingerprint="1196f794")
    assert key_tree(record.to_json()) == key_tree(read_json(COMMITTED / "control.json"))


def test_a_cell_record_has_the_keys_of_the_committed_file():
    record = CellLatencyFile.of(CELL, strategy="lamp", target_compression=32.0)
    committed = read_json(COMMITTED / "strategy/c32-s0/latency.json")
    assert key_tree(record.to_json()) == key_tree(committed)


def test_every_committed_record_reads_and_writes_back_byte_for_byte():
    control = COMMITTED / "control.json"
    assert json_bytes(ControlLatencyFile.read(control).to_json()) == control.read_bytes()
    cells = sorted(COMMITTED.glob("**/latency.json"))
    assert len(cells) == 40  # 8 methods, 5 targets, the seeds of latency.seeds (0)
    for path in cells:
        assert json_bytes(CellLatencyFile.read(path).to_json()) == path.read_bytes(), path
