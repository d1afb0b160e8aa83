"""Stage aggregate: every cell into one table, the summary metrics, figures and the report."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=layout.resolved_file("aggregate"), type=Path)
    parser.add_argument("--results", default=layout.RESULTS, type=Path)
    parser.add_argument("--source", default=layout.PRETRAINED_SOURCE, type=Path)
    parser.add_argument("--data", default=layout.DATA_SPLITS / "dataset.json", type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import AggregateConfig
    from prunebench.stages.aggregate import aggregate

    config = AggregateConfig.read(args.config)
    aggregate(config, results=args.results, source=args.source, data=args.data)


if __name__ == "__main__":
    run(main)
