"""Stage aggregate: every cell into one table, the summary metrics, figures and the report."""

import argparse
from pathlib import Path

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="resolved/aggregate.json", type=Path)
    parser.add_argument("--results", default="results", type=Path)
    parser.add_argument("--source", default="models/pretrained/source.json", type=Path)
    parser.add_argument("--data", default="data/splits/dataset.json", type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import AggregateConfig
    from prunebench.stages.aggregate import aggregate

    config = AggregateConfig.read(args.config)
    aggregate(config, results=args.results, source=args.source, data=args.data)


if __name__ == "__main__":
    run(main)
