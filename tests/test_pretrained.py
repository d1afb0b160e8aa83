"""Published weights: checksums, the local mirror, safe loading, strict fit, original forwards.

The mirror is the shared copy of ShrinkBench's published files: ``$PRUNEBENCH_PRETRAINED_MIRROR``
(which ``.ci/run`` sets), else ``../shared/pretrained/shrinkbench`` from the repository root. A
clone elsewhere finds it through the variable. No test touches the network.
"""

import os
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from prunebench.benchmarks.pretrained import (
    BUNDLED_DIR,
    MIRROR_ENV,
    PRETRAINED,
    convert_plain,
    convert_shrinkbench_cifar,
    download_verified,
    fetch_published,
    load_checkpoint,
    load_state_dict_strict,
)
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import sha256_file
from prunebench.models import MODELS, create_model

# Read once here: the autouse fixture below unsets the variable, so no test depends on it.
MIRROR = Path(
    os.environ.get(MIRROR_ENV)
    or Path(__file__).resolve().parents[2] / "shared" / "pretrained" / "shrinkbench"
)
SHRINKBENCH_SOURCES = sorted(name for name in PRETRAINED if name.startswith("shrinkbench_"))

needs_mirror = pytest.mark.skipif(
    not (MIRROR / "SHA256SUMS").is_file(), reason=f"no ShrinkBench mirror at {MIRROR}"
)


@pytest.fixture(autouse=True)
def no_mirror_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)


def fetch(source: str, tmp_path: Path) -> dict[str, torch.Tensor]:
    return fetch_published(source, mirror=MIRROR, cache_dir=tmp_path / "cache")


def cifar_like_batch() -> torch.Tensor:
    """Stand-ins for normalised CIFAR-10 images: 32x32 RGB, zero mean, unit variance."""
    return torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_every_source_fits_a_registered_model() -> None:
    for name in PRETRAINED:
        source = PRETRAINED[name]
        assert source.model in MODELS, name
        assert len(source.sha256) >= 8, name
        if source.bundled:
            assert (BUNDLED_DIR / source.path).is_file(), name
        else:
            assert source.url.endswith("/" + source.path.rsplit("/", 1)[-1]), name


@needs_mirror
def test_recorded_sha256_are_the_published_ones() -> None:
    published = dict(
        reversed(line.split()) for line in (MIRROR / "SHA256SUMS").read_text().splitlines()
    )
    recorded = {PRETRAINED[name].path: PRETRAINED[name].sha256 for name in SHRINKBENCH_SOURCES}
    assert recorded == published
    for path, sha256 in published.items():
        assert sha256_file(MIRROR / path) == sha256


def test_torchvision_sources_are_torchvisions_v1_weights() -> None:
    import torchvision

    for model in ("resnet18", "resnet50", "vgg16", "mobilenet_v2"):
        source = PRETRAINED[f"torchvision_imagenet_{model}"]
        weights = torchvision.models.get_model_weights(model).IMAGENET1K_V1
        assert source.url == weights.url
        assert source.model == model
        # torch.hub's convention: the file name ends in the first hex digits of its sha256
        assert source.path == f"{model}-{source.sha256}.pth"


@needs_mirror
@pytest.mark.parametrize("source", SHRINKBENCH_SOURCES)
def test_shrinkbench_weights_load_strictly_through_the_mirror(source: str, tmp_path: Path) -> None:
    state_dict = fetch(source, tmp_path)
    model = create_model(PRETRAINED[source].model, PRETRAINED[source].num_classes)
    assert set(state_dict) == set(model.state_dict())
    load_state_dict_strict(model, state_dict)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state_dict[name]), name
    assert not (tmp_path / "cache").exists(), "reading a mirror must not write to the cache"


@needs_mirror
def test_mirror_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(MIRROR))
    state_dict = fetch_published("shrinkbench_mnist_lenet5", mirror=None, cache_dir=tmp_path)
    assert state_dict["fc2.weight"].shape == (10, 500)
    assert list(tmp_path.iterdir()) == []


@needs_mirror
def test_old_batch_norm_counters_are_filled_in(tmp_path: Path) -> None:
    raw = load_checkpoint(MIRROR / "cifar10" / "resnet20.th")
    assert isinstance(raw, dict) and set(raw) == {"best_prec1", "state_dict"}
    assert all(name.startswith("module.") for name in raw["state_dict"])
    assert not any(name.endswith("num_batches_tracked") for name in raw["state_dict"])
    counters = [
        name for name in fetch("shrinkbench_cifar10_resnet20", tmp_path) if "tracked" in name
    ]
    assert len(counters) == 19  # the stem's BN and two per block, 9 blocks


@needs_mirror
def test_lenet5_forward_equals_shrinkbench_mnistnet(tmp_path: Path) -> None:
    state_dict = fetch("shrinkbench_mnist_lenet5", tmp_path)
    model = create_model("lenet5", num_classes=10).eval()
    load_state_dict_strict(model, state_dict)
    images = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    # MnistNet.forward, written out: ReLU then 2x2 max-pool after each conv, flatten C, H, W.
    x = F.max_pool2d(
        F.relu(F.conv2d(images, state_dict["conv1.weight"], state_dict["conv1.bias"])), 2
    )
    x = F.max_pool2d(F.relu(F.conv2d(x, state_dict["conv2.weight"], state_dict["conv2.bias"])), 2)
    x = x.view(-1, 4 * 4 * 50)
    x = F.relu(F.linear(x, state_dict["fc1.weight"], state_dict["fc1.bias"]))
    original = F.log_softmax(F.linear(x, state_dict["fc2.weight"], state_dict["fc2.bias"]), dim=1)

    with torch.no_grad():
        logits = model(images)
    # Our models return logits; MnistNet returns their log-softmax.
    assert torch.equal(F.log_softmax(logits, dim=1), original)


def reference_resnet_forward(state_dict: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Idelbayev's CIFAR ResNet forward in eval mode, from the state dict alone."""

    def conv_bn(x: torch.Tensor, conv: str, bn: str, stride: int = 1) -> torch.Tensor:
        x = F.conv2d(x, state_dict[f"{conv}.weight"], stride=stride, padding=1)
        return F.batch_norm(
            x,
            state_dict[f"{bn}.running_mean"],
            state_dict[f"{bn}.running_var"],
            state_dict[f"{bn}.weight"],
            state_dict[f"{bn}.bias"],
            training=False,
        )

    out = F.relu(conv_bn(x, "conv1", "bn1"))
    for stage in (1, 2, 3):
        block = 0
        while f"layer{stage}.{block}.conv1.weight" in state_dict:
            prefix = f"layer{stage}.{block}"
            downsample = stage > 1 and block == 0
            residual = F.relu(
                conv_bn(out, f"{prefix}.conv1", f"{prefix}.bn1", 2 if downsample else 1)
            )
            residual = conv_bn(residual, f"{prefix}.conv2", f"{prefix}.bn2")
            if downsample:
                planes = residual.shape[1]
                shortcut = F.pad(out[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))
            else:
                shortcut = out
            out = F.relu(residual + shortcut)
            block += 1
    out = F.avg_pool2d(out, out.shape[3]).flatten(1)
    return F.linear(out, state_dict["linear.weight"], state_dict["linear.bias"])


@needs_mirror
def test_resnet20_forward_equals_the_original(tmp_path: Path) -> None:
    state_dict = fetch("shrinkbench_cifar10_resnet20", tmp_path)
    model = create_model("resnet20", num_classes=10)
    load_state_dict_strict(model, state_dict)
    model.eval()
    images = cifar_like_batch()
    with torch.no_grad():
        first = model(images)
        second = model(images)
    assert torch.equal(first, second), "eval-mode forward must be deterministic"
    assert torch.equal(model.bn1.running_mean, state_dict["bn1.running_mean"]), "BN must not update"
    assert torch.equal(first, reference_resnet_forward(state_dict, images))
    assert first.argmax(1).unique().numel() > 1, (
        "a trained model does not map all inputs to one class"
    )


@needs_mirror
def test_tampered_mirror_file_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "cifar10").mkdir(parents=True)
    tampered = mirror / "cifar10" / "resnet20.th"
    shutil.copyfile(MIRROR / "cifar10" / "resnet20.th", tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    cache = tmp_path / "cache"

    with pytest.raises(PrunebenchError) as caught:
        fetch_published("shrinkbench_cifar10_resnet20", mirror=mirror, cache_dir=cache)
    message = str(caught.value)
    assert str(tampered) in message
    assert PRETRAINED["shrinkbench_cifar10_resnet20"].sha256 in message
    assert sha256_file(tampered) in message
    assert not cache.exists() or list(cache.rglob("*")) == []


@needs_mirror
def test_tampered_download_leaves_nothing_behind(tmp_path: Path) -> None:
    published = MIRROR / "cifar10" / "resnet20.th"
    tampered = tmp_path / "served" / "resnet20.th"
    tampered.parent.mkdir()
    data = bytearray(published.read_bytes())
    data[-1] ^= 0x01
    tampered.write_bytes(bytes(data))
    destination = tmp_path / "cache" / "cifar10" / "resnet20.th"

    expected = PRETRAINED["shrinkbench_cifar10_resnet20"].sha256
    with pytest.raises(PrunebenchError, match=f"sha256 mismatch.*expected {expected}"):
        download_verified(tampered.as_uri(), destination, expected)
    assert list(destination.parent.iterdir()) == []

    download_verified(published.as_uri(), destination, expected)
    assert [path.name for path in destination.parent.iterdir()] == ["resnet20.th"]
    assert sha256_file(destination) == expected


def test_failed_download_is_one_error(tmp_path: Path) -> None:
    destination = tmp_path / "cache" / "weights.pt"
    with pytest.raises(PrunebenchError, match="could not download"):
        download_verified((tmp_path / "absent.pt").as_uri(), destination, "0" * 64)
    assert list(destination.parent.iterdir()) == []


@needs_mirror
def test_cached_download_is_reused_and_verified(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    cached = cache / "mnist" / "mnistnet.pt"
    shutil.copyfile(MIRROR / "mnist" / "mnistnet.pt", cached)
    state_dict = fetch_published("shrinkbench_mnist_lenet5", mirror=None, cache_dir=cache)
    assert set(state_dict) == {
        f"{layer}.{kind}"
        for layer in ("conv1", "conv2", "fc1", "fc2")
        for kind in ("weight", "bias")
    }

    cached.write_bytes(cached.read_bytes()[:-1])
    with pytest.raises(PrunebenchError, match="sha256 mismatch"):
        fetch_published("shrinkbench_mnist_lenet5", mirror=None, cache_dir=cache)


def test_missing_mirror_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PrunebenchError) as caught:
        fetch_published("shrinkbench_cifar10_resnet56", mirror=tmp_path, cache_dir=tmp_path / "c")
    message = str(caught.value)
    assert str(tmp_path / "cifar10" / "resnet56.th") in message
    assert PRETRAINED["shrinkbench_cifar10_resnet56"].url in message


def test_unknown_source_lists_valid_names(tmp_path: Path) -> None:
    with pytest.raises(
        PrunebenchError, match="unknown pretrained source.*shrinkbench_mnist_lenet5"
    ):
        fetch_published("shrinkbench_resnet20", mirror=tmp_path, cache_dir=tmp_path)


class _Touch:
    """Unpickling this would create a file: the kind of code a malicious checkpoint runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_code_executing_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    checkpoint = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "payload": _Touch(marker)}, checkpoint)
    with pytest.raises(PrunebenchError, match="evil.pt: refused to load"):
        load_checkpoint(checkpoint)
    assert not marker.exists()


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(PrunebenchError, match="garbage.pt: refused to load"):
        load_checkpoint(garbage)


def test_non_state_dicts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PrunebenchError, match="not a state dict"):
        convert_plain([torch.zeros(1)], "list.pt")
    with pytest.raises(PrunebenchError, match="entry 'epoch' is a int"):
        convert_plain({"weight": torch.zeros(1), "epoch": 3}, "mixed.pt")
    with pytest.raises(PrunebenchError, match="empty"):
        convert_plain({}, "empty.pt")
    with pytest.raises(PrunebenchError, match="'state_dict' entry"):
        convert_shrinkbench_cifar({"weight": torch.zeros(1)}, "plain.th")


@needs_mirror
def test_strict_load_names_the_first_mismatching_key(tmp_path: Path) -> None:
    resnet20 = fetch("shrinkbench_cifar10_resnet20", tmp_path)
    resnet32 = fetch("shrinkbench_cifar10_resnet32", tmp_path)
    with pytest.raises(PrunebenchError, match=r"missing layer1\.3\.conv1\.weight$"):
        load_state_dict_strict(create_model("resnet32", 10), resnet20)
    with pytest.raises(PrunebenchError, match=r"unexpected layer1\.3\.conv1\.weight$"):
        load_state_dict_strict(create_model("resnet20", 10), resnet32)
    with pytest.raises(
        PrunebenchError, match=r"linear\.weight has shape \(10, 64\), the model expects \(100, 64\)"
    ):
        load_state_dict_strict(create_model("resnet20", 100), resnet20)


@pytest.mark.parametrize("benchmark", ["fashion_mnist_sample_lenet5", "fashion_mnist_lenet5"])
def test_our_published_weights_ship_verified_with_their_record(benchmark, tmp_path) -> None:
    import prunebench.benchmarks.pretrained as pretrained
    from prunebench.benchmarks.registry import BENCHMARKS
    from prunebench.models import create_model

    record = pretrained.bundled_record(benchmark)
    source = f"prunebench_{benchmark}"
    assert BENCHMARKS[benchmark].pretrained == source
    assert PRETRAINED[source].sha256 == record["sha256"]
    for key in ("recipe", "seed", "data_sha256", "machine", "best_validation_top1"):
        assert key in record, key
    assert record["recipe"] == BENCHMARKS[benchmark].pretrain.to_json()
    model = create_model("lenet5", 10)
    load_state_dict_strict(model, fetch_published(source, None, tmp_path))
    assert list(tmp_path.iterdir()) == [], "bundled weights are not copied anywhere"


def test_damaged_bundled_weights_are_refused(tmp_path) -> None:
    # A copy of the package whose bundled weights lost a bit, imported by a fresh interpreter.
    import subprocess
    import sys

    import prunebench

    package = tmp_path / "src/prunebench"
    shutil.copytree(
        Path(prunebench.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    weights = package / "benchmarks/weights/fashion_mnist_sample_lenet5.safetensors"
    payload = bytearray(weights.read_bytes())
    payload[-1] ^= 1
    weights.write_bytes(bytes(payload))
    fetch = (
        "import sys; from prunebench.benchmarks.pretrained import fetch_published; "
        "fetch_published('prunebench_fashion_mnist_sample_lenet5', None, sys.argv[1])"
    )
    result = subprocess.run(
        [sys.executable, "-c", fetch, str(tmp_path / "cache")],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "src")},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"PrunebenchError: sha256 mismatch for {weights}: expected " in result.stderr


@pytest.mark.slow
def test_published_weights_are_what_the_pipeline_pretraining_makes(tmp_path) -> None:
    """scripts/publish_pretrained.py, re-run here, gives committed weights bit for bit.

    Initial model 2 is the one re-made: the script, recipe and data are those of every initial
    model (initial model k differs only by its seed, k), and early stopping ends its training
    after 5 epochs where initial model 0's runs 10, so the check costs half as much.
    """
    import json
    import subprocess
    import sys

    import prunebench.benchmarks.pretrained as pretrained

    script = Path(__file__).resolve().parent.parent / "scripts" / "publish_pretrained.py"
    benchmark, initial_model = "fashion_mnist_sample_lenet5", 2
    published = pretrained.bundled_record(benchmark, initial_model)
    assert published["epochs_run"] == 5
    subprocess.run(
        [sys.executable, str(script), "--benchmark", benchmark, "--initial-model",
         str(initial_model), "--out", str(tmp_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    stem = f"{benchmark}-i{initial_model}"
    made = json.loads((tmp_path / f"{stem}.json").read_text())
    assert made["sha256"] == published["sha256"]
    assert made["data_sha256"] == published["data_sha256"]
    assert sha256_file(tmp_path / f"{stem}.safetensors") == published["sha256"]


def test_initial_models_of_our_benchmarks_are_registered_each_with_its_own_seed() -> None:
    import prunebench.benchmarks.pretrained as pretrained

    for benchmark in ("fashion_mnist_sample_lenet5", "fashion_mnist_lenet5"):
        source = f"prunebench_{benchmark}"
        assert pretrained.published_initial_models(source) == [0, 1, 2]
        assert pretrained.initial_model_source(source, 0) == source  # the default name stays
        digests, data = set(), set()
        for initial_model in (0, 1, 2):
            record = pretrained.bundled_record(benchmark, initial_model)
            name = pretrained.initial_model_source(source, initial_model)
            assert PRETRAINED[name].sha256 == record["sha256"]
            assert record["seed"] == initial_model  # initial model k: pretrained from seed k
            assert record.get("initial_model", 0) == initial_model
            digests.add(record["sha256"])
            data.add(record["data_sha256"])
        assert len(digests) == 3, benchmark
        assert len(data) == 1, benchmark  # the same data: only the seed differs
    # Weights published by others are one training run: one initial model.
    assert pretrained.published_initial_models("shrinkbench_mnist_lenet5") == [0]
    assert pretrained.published_initial_models("torchvision_imagenet_resnet18") == [0]
