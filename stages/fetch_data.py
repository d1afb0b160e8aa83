"""Stage fetch_data: materialise the benchmark's train / validation / test splits in data/splits."""

import argparse

from prunebench.benchmarks import BENCHMARKS
from prunebench.data import load_dataset, materialize

from common import load_params, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data/splits")
    args = parser.parse_args()
    params = load_params()
    benchmark = BENCHMARKS[params.benchmark]
    validation_size = params.data.validation_size or benchmark.validation_size
    dataset = load_dataset(
        benchmark.dataset,
        root=params.data.root,
        validation_size=validation_size,
        split_seed=params.data.split_seed,
        download=params.data.download,
    )
    materialize(dataset, args.out)


if __name__ == "__main__":
    run(main)
