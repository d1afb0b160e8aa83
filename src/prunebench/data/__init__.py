"""Datasets: the registry ``DATASETS``, readers of the standard formats, splits, batches.

``load_dataset`` reads a dataset by registry name and holds a validation split out of train;
``materialize`` / ``open_materialized`` write and re-read it for the pipeline's stages;
``Dataset.batches`` yields normalised (and, for training, augmented) batches on a device.
"""

from prunebench.data.catalog import DATASETS, DatasetSource, load_dataset
from prunebench.data.dataset import Dataset, DatasetInfo, Split
from prunebench.data.imagefolder import ImageFileSplit
from prunebench.data.materialize import materialize, open_materialized
from prunebench.data.splits import SPLIT_NAMES, hold_out_validation
from prunebench.data.tensors import TensorSplit

__all__ = [
    "DATASETS",
    "SPLIT_NAMES",
    "Dataset",
    "DatasetInfo",
    "DatasetSource",
    "ImageFileSplit",
    "Split",
    "TensorSplit",
    "hold_out_validation",
    "load_dataset",
    "materialize",
    "open_materialized",
]
