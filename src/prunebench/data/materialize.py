"""The dataset as the ``fetch_data`` stage writes it and every later stage reads it back.

Reading the original formats needs decompression, unpickling or torchvision; reading this
directory needs only ``safetensors`` and ``json``, so stages start fast. Layout:

- ``dataset.json``: format version, info, split sizes, split seed and the sources' sha256.
- in-memory datasets: ``train.safetensors``, ``validation.safetensors``, ``test.safetensors``,
  each with uint8 ``images`` ``[N, C, H, W]`` and int64 ``labels`` ``[N]``.
- file-backed datasets (ImageNet): ``index.json`` with the image root and, per split, the image
  paths relative to it and their labels; pixels stay where they are.

The directory is written under a temporary name and renamed into place, so a crash never leaves a
half-written dataset that DVC or a later stage would take as complete.
"""

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from prunebench.data.dataset import Dataset, DatasetInfo, Split
from prunebench.data.imagefolder import ImageFileSplit
from prunebench.data.splits import SPLIT_NAMES
from prunebench.data.tensors import TensorSplit
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import atomic_directory, save_state_dict, write_json

FORMAT = "prunebench-dataset/1"
DATASET_FILE = "dataset.json"
INDEX_FILE = "index.json"
TENSORS = "tensors"
IMAGE_INDEX = "image_index"


def materialize(dataset: Dataset, out_dir: str | Path) -> None:
    """Write ``dataset`` to ``out_dir``, replacing what was there only once all of it is written."""
    out_dir = Path(out_dir)
    splits = {name: dataset.split(name) for name in SPLIT_NAMES}
    if all(isinstance(split, TensorSplit) for split in splits.values()):
        kind = TENSORS
    elif all(isinstance(split, ImageFileSplit) for split in splits.values()):
        kind = IMAGE_INDEX
    else:
        raise TypeError(f"cannot materialise splits of types {[type(s) for s in splits.values()]}")
    with atomic_directory(out_dir) as staging:
        if kind == TENSORS:
            for name, split in splits.items():
                # The one writer of tensors: its files follow the umask like every other output.
                tensors = {"images": split.images, "labels": split.labels}
                save_state_dict(staging / f"{name}.safetensors", tensors)
        else:
            write_json(staging / INDEX_FILE, _image_index(splits))
        write_json(
            staging / DATASET_FILE,
            {
                "format": FORMAT,
                "kind": kind,
                "info": dataclasses.asdict(dataset.info),
                "split_sizes": dataset.split_sizes(),
                "split_seed": dataset.split_seed,
                "source_sha256": dataset.source_sha256,
            },
        )


def _image_index(splits: dict[str, ImageFileSplit]) -> dict[str, Any]:
    roots = {split.root.resolve() for split in splits.values()}
    if len(roots) != 1:
        raise ValueError(f"the splits of one dataset must share one image root, got {roots}")
    return {
        "root": str(roots.pop()),
        "splits": {
            name: {"files": list(split.files), "labels": split.labels.tolist()}
            for name, split in splits.items()
        },
    }


def open_materialized(out_dir: str | Path) -> Dataset:
    """Read back a dataset written by :func:`materialize` (no torchvision import)."""
    out_dir = Path(out_dir)
    try:
        description = json.loads((out_dir / DATASET_FILE).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PrunebenchError(
            f"{out_dir} is not a materialised dataset ({error}); run the fetch_data stage"
        ) from None
    if description.get("format") != FORMAT:
        raise PrunebenchError(
            f"{out_dir / DATASET_FILE} has format {description.get('format')!r}, "
            f"expected {FORMAT!r}"
        )
    info_fields = description["info"]
    info = DatasetInfo(
        **{
            key: tuple(value) if isinstance(value, list) else value
            for key, value in info_fields.items()
        }
    )
    if description["kind"] == TENSORS:
        splits: dict[str, Split] = {}
        for name in SPLIT_NAMES:
            tensors = load_file(out_dir / f"{name}.safetensors")
            splits[name] = TensorSplit(tensors["images"], tensors["labels"])
    else:
        index = json.loads((out_dir / INDEX_FILE).read_text())
        root = Path(index["root"])
        splits = {
            name: ImageFileSplit(
                root,
                tuple(index["splits"][name]["files"]),
                torch.tensor(index["splits"][name]["labels"], dtype=torch.int64),
            )
            for name in SPLIT_NAMES
        }
    return Dataset(
        info=info,
        train=splits["train"],
        validation=splits["validation"],
        test=splits["test"],
        source_sha256=description["source_sha256"],
        split_seed=description["split_seed"],
    )
