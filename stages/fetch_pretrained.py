"""Stage fetch_pretrained: the model every cell starts from, and the control's metrics."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import device_from_environment, epoch_curves, pretrained_cache, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=layout.resolved_file("fetch_pretrained"), type=Path)
    parser.add_argument("--data", default=layout.DATA_SPLITS, type=Path)
    parser.add_argument("--out", default=layout.PRETRAINED, type=Path)
    parser.add_argument("--control", default=layout.CONTROL_METRICS, type=Path)
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
