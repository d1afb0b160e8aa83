"""Stage prune: one mask file and per-layer sparsity table per (compression, seed) of a method."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import code_digest, device_from_environment, run, runner_from_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True, help="strategy or matched control name")
    parser.add_argument(
        "--reference", type=Path, help="the method's mask cells (for a matched control)"
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", default=layout.resolved_file("prune"), type=Path)
    parser.add_argument(
        "--options", type=Path, help="resolved/strategy.json: the method under evaluation's options"
    )
    parser.add_argument("--data", default=layout.DATA_SPLITS, type=Path)
    parser.add_argument("--pretrained", default=layout.PRETRAINED_MODEL, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import EvaluatedStrategyConfig, PruneConfig
    from prunebench.stages.prune import prune_matched_cells, prune_strategy_cells

    shared = dict(
        out=args.out,
        data=args.data,
        pretrained=args.pretrained,
        device=device_from_environment(),
        code=code_digest(Path(__file__)),
        runner=runner_from_environment(),
    )
    config = PruneConfig.read(args.config)
    if args.reference is not None:
        prune_matched_cells(args.method, config, reference=args.reference, **shared)
    else:
        options = EvaluatedStrategyConfig.read(args.options).options if args.options else None
        prune_strategy_cells(args.method, config, options=options, **shared)


if __name__ == "__main__":
    run(main)
