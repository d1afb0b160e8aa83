"""Stage fetch_pretrained: the model every cell starts from, and the control's metrics."""

import argparse
from pathlib import Path

from common import device_from_environment, epoch_curves, pretrained_cache, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="resolved/fetch_pretrained.json", type=Path)
    parser.add_argument("--data", default="data/splits", type=Path)
    parser.add_argument("--out", default="models/pretrained", type=Path)
    parser.add_argument("--control", default="results/control.json", type=Path)
    parser.add_argument("--cache", default=pretrained_cache(), type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import FetchPretrainedConfig
    from prunebench.stages.fetch_pretrained import fetch_pretrained

    fetch_pretrained(
        FetchPretrainedConfig.read(args.config),
        data=args.data,
        out=args.out,
        control=args.control,
        device=device_from_environment(),
        cache=args.cache,
        epoch_logger=epoch_curves,
    )


if __name__ == "__main__":
    run(main)
