"""Stage finetune: train every pruned cell of a method with its masks held fixed."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import code_digest, device_from_environment, epoch_curves, run, runner_from_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--masks", required=True, type=Path, help="the prune stage's output")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", default=layout.resolved_file("finetune"), type=Path)
    parser.add_argument("--data", default=layout.DATA_SPLITS, type=Path)
    parser.add_argument("--pretrained", default=layout.PRETRAINED_MODEL, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import FinetuneConfig
    from prunebench.stages.finetune import finetune_cells

    finetune_cells(
        FinetuneConfig.read(args.config),
        masks=args.masks,
        out=args.out,
        data=args.data,
        pretrained=args.pretrained,
        device=device_from_environment(),
        code=code_digest(Path(__file__)),
        epoch_logger=epoch_curves,
        runner=runner_from_environment(),
    )


if __name__ == "__main__":
    run(main)
