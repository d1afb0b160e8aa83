"""Stage fetch_data: materialise the benchmark's train / validation / test splits."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=layout.resolved_file("fetch_data"), type=Path)
    parser.add_argument("--out", default=layout.DATA_SPLITS, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import FetchDataConfig
    from prunebench.stages.fetch_data import fetch_data

    fetch_data(FetchDataConfig.read(args.config), args.out)


if __name__ == "__main__":
    run(main)
