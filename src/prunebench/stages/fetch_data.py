"""Stage fetch_data: the benchmark's train / validation / test splits, materialised."""

from pathlib import Path

from prunebench.data import load_dataset, materialize
from prunebench.foundations.files import prepare_outputs
from prunebench.pipeline.configs import FetchDataConfig


def fetch_data(config: FetchDataConfig, out: Path) -> None:
    """Read ``config.dataset``, hold the validation split out of train, write it to ``out``.

    ``out`` is replaced only once the new splits are complete.
    """
    prepare_outputs(out)
    dataset = load_dataset(
        config.dataset,
        root=config.root,
        validation_size=config.validation_size,
        split_seed=config.split_seed,
        download=config.download,
    )
    materialize(dataset, out)
