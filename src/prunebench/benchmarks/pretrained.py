"""Published pretrained weights: where they live, their sha256, and conversion to our state dicts.

A published checkpoint is identified by its content, not its URL: every file is checked against
the sha256 recorded here *before* it is unpickled, and it is unpickled only with
``torch.load(weights_only=True)``, which cannot run code. Files come either from a local mirror
directory (``mirror`` argument, else the ``PRUNEBENCH_PRETRAINED_MIRROR`` environment variable),
laid out like the publisher's (``<mirror>/cifar10/resnet20.th``; for torchvision the bare file
name, so torch.hub's ``checkpoints`` directory works as a mirror), or are downloaded into a cache
directory. A download is written to a temporary file beside its destination and moved into place
only once verified, so a failed or tampered download leaves nothing behind.

Sources (registry ``PRETRAINED``):

- ``shrinkbench_mnist_lenet5``, ``shrinkbench_cifar10_resnet{20,32,44,56}``: ShrinkBench's
  ``JJGO/shrinkbench-models`` (the ResNets are Idelbayev's). The sha256 are the full digests of
  the published files.
- ``torchvision_imagenet_{resnet18,resnet50,vgg16,mobilenet_v2}``: torchvision's
  ``IMAGENET1K_V1`` weights. torchvision publishes only a sha256 prefix, in the file name
  (``resnet18-f37072fd.pth``); we check that prefix, as ``torch.hub``'s ``check_hash`` does.
"""

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_file, load_state_dict, sha256_file
from prunebench.foundations.registry import Registry

MIRROR_ENV = "PRUNEBENCH_PRETRAINED_MIRROR"

StateDict = dict[str, torch.Tensor]
Converter = Callable[[object, str], StateDict]

_SHRINKBENCH_URL = "https://raw.githubusercontent.com/JJGO/shrinkbench-models/master/"
_TORCHVISION_URL = "https://download.pytorch.org/models/"
_MIN_SHA256_PREFIX = 8
_CHUNK = 1 << 20


def _tensor_dict(checkpoint: object, file: str) -> StateDict:
    """``checkpoint`` as a plain ``{name: tensor}`` dict, or a PrunebenchError naming ``file``."""
    if not isinstance(checkpoint, Mapping):
        raise PrunebenchError(
            f"{file}: not a state dict (got {type(checkpoint).__name__}, expected name -> tensor)"
        )
    if not checkpoint:
        raise PrunebenchError(f"{file}: the state dict is empty")
    for name, value in checkpoint.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise PrunebenchError(
                f"{file}: not a plain state dict: entry {name!r} is a {type(value).__name__}, "
                "not a tensor"
            )
    return dict(checkpoint)


def _with_num_batches_tracked(state_dict: StateDict) -> StateDict:
    """Add the ``num_batches_tracked`` counters that checkpoints from PyTorch < 0.4.1 lack.

    Every batch norm layer has had this buffer since PyTorch 0.4.1. PyTorch itself fills it in
    when loading an old checkpoint; we do so explicitly, with the same value (0), so that the
    converted state dict has exactly the model's keys and ``load_state_dict_strict`` can insist on
    that. The counter only matters for BN with ``momentum=None``, which none of our models use.
    """
    completed = dict(state_dict)
    for name in state_dict:
        if name.endswith(".running_mean"):
            counter = name.removesuffix("running_mean") + "num_batches_tracked"
            completed.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return completed


def convert_plain(checkpoint: object, file: str) -> StateDict:
    """A checkpoint that is already a state dict in our naming (ShrinkBench's ``mnistnet.pt``)."""
    return _tensor_dict(checkpoint, file)


def convert_shrinkbench_cifar(checkpoint: object, file: str) -> StateDict:
    """Idelbayev's CIFAR ResNet checkpoints as ShrinkBench publishes them.

    They are ``{'best_prec1': float, 'state_dict': {...}}``, saved from ``nn.DataParallel`` (every
    key prefixed ``module.``) by a PyTorch older than 0.4.1 (no ``num_batches_tracked``).
    """
    if not isinstance(checkpoint, Mapping) or "state_dict" not in checkpoint:
        raise PrunebenchError(f"{file}: expected a checkpoint dict with a 'state_dict' entry")
    state_dict = _tensor_dict(checkpoint["state_dict"], file)
    state_dict = {name.removeprefix("module."): tensor for name, tensor in state_dict.items()}
    return _with_num_batches_tracked(state_dict)


def convert_torchvision(checkpoint: object, file: str) -> StateDict:
    """torchvision's ImageNet weights: plain state dicts, some without ``num_batches_tracked``."""
    return _with_num_batches_tracked(_tensor_dict(checkpoint, file))


@dataclass(frozen=True)
class WeightSource:
    """One published checkpoint: what it fits, where it is, and the hash that identifies it.

    ``path`` is the file's place inside a mirror directory and inside the download cache; for
    weights that ship in this package (``url`` None), its place under :data:`BUNDLED_DIR`.
    ``sha256`` is the full hex digest, or (torchvision) the published prefix of at least eight
    hex digits. ``convert`` turns the loaded object into a state dict for ``model``.
    """

    model: str
    num_classes: int
    url: str | None
    path: str
    sha256: str
    convert: Converter

    @property
    def bundled(self) -> bool:
        return self.url is None


PRETRAINED: Registry[WeightSource] = Registry("pretrained source")

_SHRINKBENCH_CIFAR_SHA256 = {
    20: "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
    32: "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850",
    44: "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4",
    56: "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367",
}

PRETRAINED.add(
    "shrinkbench_mnist_lenet5",
    WeightSource(
        model="lenet5",
        num_classes=10,
        url=_SHRINKBENCH_URL + "mnist/mnistnet.pt",
        path="mnist/mnistnet.pt",
        sha256="5e1e80e145773c6ea30cb93dfc7d23fb87fd4116ff24e6889fdcb96a577190c9",
        convert=convert_plain,
    ),
)
for _depth, _sha256 in _SHRINKBENCH_CIFAR_SHA256.items():
    PRETRAINED.add(
        f"shrinkbench_cifar10_resnet{_depth}",
        WeightSource(
            model=f"resnet{_depth}",
            num_classes=10,
            url=_SHRINKBENCH_URL + f"cifar10/resnet{_depth}.th",
            path=f"cifar10/resnet{_depth}.th",
            sha256=_sha256,
            convert=convert_shrinkbench_cifar,
        ),
    )

# torchvision model name -> file name of its IMAGENET1K_V1 weights (the part after the last
# dash is the published sha256 prefix)
_TORCHVISION_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "vgg16": "vgg16-397923af.pth",
    "mobilenet_v2": "mobilenet_v2-b0353104.pth",
}
for _model, _file in _TORCHVISION_FILES.items():
    PRETRAINED.add(
        f"torchvision_imagenet_{_model}",
        WeightSource(
            model=_model,
            num_classes=1000,
            url=_TORCHVISION_URL + _file,
            path=_file,
            sha256=_file.rsplit("-", 1)[1].removesuffix(".pth"),
            convert=convert_torchvision,
        ),
    )


# Our own weights, for the benchmarks whose model we train, so that every machine starts from the
# same initial model (docs/design.md, "Reproducibility"). They ship in the package beside a JSON
# of their sha256, the recipe, seed, data digest and machine that produced them;
# ``scripts/publish_pretrained.py`` makes both. A benchmark has several initial models, each
# pretrained from its own seed (the paper's Figure 8: the initial model moves the curves):
# initial model 0 is ``<benchmark>.safetensors``, registered as ``prunebench_<benchmark>``;
# initial model k >= 1 is ``<benchmark>-i<k>.safetensors``, registered as
# ``prunebench_<benchmark>-i<k>``.
BUNDLED_DIR = Path(__file__).resolve().parent / "weights"
BUNDLED = ("fashion_mnist_sample_lenet5", "fashion_mnist_lenet5")


def initial_model_stem(stem: str, initial_model: int) -> str:
    """The name of initial model ``initial_model`` of ``stem`` (a file stem or a registry name).

    Initial model 0 keeps the name the weights had before there were several, so the default run
    and its cached cells are unchanged.

    Example::

        >>> initial_model_stem("prunebench_fashion_mnist_lenet5", 2)
        'prunebench_fashion_mnist_lenet5-i2'
    """
    return stem if initial_model == 0 else f"{stem}-i{initial_model}"


def bundled_record(benchmark: str, initial_model: int = 0) -> dict:
    """The JSON record published beside the bundled weights of ``benchmark``."""
    import json

    return json.loads(
        (BUNDLED_DIR / f"{initial_model_stem(benchmark, initial_model)}.json").read_text()
    )


def _bundled_initial_models(benchmark: str) -> list[int]:
    """The initial models of ``benchmark`` that ship in the package, in order, without gaps."""
    found = []
    while (BUNDLED_DIR / f"{initial_model_stem(benchmark, len(found))}.json").is_file():
        found.append(len(found))
    return found


INITIAL_MODELS: dict[str, list[int]] = {}
"""The published initial models of each registered source with more than one (by source name)."""

for _benchmark in BUNDLED:
    for _initial_model in _bundled_initial_models(_benchmark):
        _record = bundled_record(_benchmark, _initial_model)
        _name = initial_model_stem(f"prunebench_{_benchmark}", _initial_model)
        PRETRAINED.add(
            _name,
            WeightSource(
                model=_record["model"],
                num_classes=_record["num_classes"],
                url=None,
                path=f"{initial_model_stem(_benchmark, _initial_model)}.safetensors",
                sha256=_record["sha256"],
                convert=convert_plain,
            ),
        )
        INITIAL_MODELS.setdefault(f"prunebench_{_benchmark}", []).append(_initial_model)


def published_initial_models(source: str) -> list[int]:
    """Which initial models the published source ``source`` offers: ``[0, 1, ...]``.

    Weights published by others (ShrinkBench's, torchvision's) are one initial model, ``[0]``.
    """
    PRETRAINED[source]  # an unknown source is refused, naming the valid ones
    return INITIAL_MODELS.get(source, [0])


def initial_model_source(source: str, initial_model: int) -> str:
    """The registry name of initial model ``initial_model`` of the published ``source``."""
    name = initial_model_stem(source, initial_model)
    PRETRAINED[name]
    return name


def _check_digest(file: Path | str, expected: str, actual: str) -> None:
    if len(expected) < _MIN_SHA256_PREFIX:
        raise ValueError(f"expected sha256 {expected!r} is too short to identify a file")
    if not actual.startswith(expected.lower()):
        raise PrunebenchError(
            f"sha256 mismatch for {file}: expected {expected}, got {actual}; "
            "the file is corrupt or not the published one"
        )


def verify_sha256(path: Path, expected: str) -> None:
    """Raise PrunebenchError unless ``path``'s sha256 is ``expected`` (or starts with it)."""
    _check_digest(path, expected, sha256_file(path))


def download_verified(url: str, destination: Path, expected_sha256: str) -> None:
    """Download ``url`` to ``destination`` only if its sha256 matches ``expected_sha256``.

    The bytes go to a temporary file in ``destination``'s directory and are hashed as they
    arrive; only a verified file is moved into place (``os.replace``, atomic). On a mismatch, a
    network error or an interruption the temporary file is deleted, so nothing is left behind.
    """
    try:
        with atomic_file(destination, suffix=".part") as temporary:
            digest = hashlib.sha256()
            with open(temporary, "wb") as out, urllib.request.urlopen(url) as response:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            _check_digest(url, expected_sha256, digest.hexdigest())
    except (urllib.error.URLError, OSError) as error:
        raise PrunebenchError(f"could not download {url}: {error}") from error


def load_checkpoint(path: Path) -> object:
    """Unpickle a third-party checkpoint with ``weights_only=True``: tensors and containers only.

    A file that would need arbitrary code to unpickle (or is no checkpoint at all) raises
    PrunebenchError instead of running anything.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # whatever a malformed third-party file makes torch.load raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise PrunebenchError(f"{path}: refused to load as a checkpoint: {first_line}") from error


def _mirror_dir(mirror: Path | None) -> Path | None:
    if mirror is not None:
        return Path(mirror)
    from_environment = os.environ.get(MIRROR_ENV)
    return Path(from_environment) if from_environment else None


def verify_bundled(source: str) -> Path:
    """The file of the bundled weights ``source``, refused unless it matches its sha256.

    Returns:
        The path of the weights file in the package.
    """
    weights = PRETRAINED[source]
    file = BUNDLED_DIR / weights.path
    if not file.is_file():
        raise PrunebenchError(f"pretrained weights {source!r}: no file {file} in the package")
    verify_sha256(file, weights.sha256)
    return file


def fetch_published(source: str, mirror: Path | None, cache_dir: Path) -> StateDict:
    """The state dict of the published weights ``source``, in our model's naming, verified.

    Weights that ship in the package are read from there (safetensors: nothing is unpickled).
    Otherwise, with a mirror directory (``mirror``, else ``$PRUNEBENCH_PRETRAINED_MIRROR``), the
    file is read from ``<mirror>/<path>`` and nothing is written; without one it is downloaded
    once into ``<cache_dir>/<path>`` and reused from there. Either way its sha256 is checked
    before it is loaded.
    """
    weights = PRETRAINED[source]
    if weights.bundled:
        file = verify_bundled(source)
        return weights.convert(load_state_dict(file), str(file))
    mirror_dir = _mirror_dir(mirror)
    if mirror_dir is not None:
        file = mirror_dir / weights.path
        if not file.is_file():
            raise PrunebenchError(
                f"pretrained weights {source!r} not found in the mirror: no file {file}; "
                f"download {weights.url} to that path, or run without a mirror (no mirror "
                f"argument, {MIRROR_ENV} unset) to download it into the cache"
            )
    else:
        file = Path(cache_dir) / weights.path
        if not file.is_file():
            download_verified(weights.url, file, weights.sha256)
    verify_sha256(file, weights.sha256)
    return weights.convert(load_checkpoint(file), str(file))


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load ``state_dict`` into ``model`` only if it has exactly the model's names and shapes.

    The error names the first mismatch in the model's own parameter order (a missing name, a
    shape mismatch with both shapes), then any unexpected name, so that a wrong architecture is
    reported by the layer where it diverges rather than by a list of every key.
    """
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state_dict:
            raise PrunebenchError(f"state dict does not fit {type(model).__name__}: missing {name}")
        shape = tuple(state_dict[name].shape)
        if shape != tuple(tensor.shape):
            raise PrunebenchError(
                f"state dict does not fit {type(model).__name__}: {name} has shape {shape}, "
                f"the model expects {tuple(tensor.shape)}"
            )
    for name in state_dict:
        if name not in expected:
            raise PrunebenchError(
                f"state dict does not fit {type(model).__name__}: unexpected {name}"
            )
    model.load_state_dict(state_dict, strict=True)
