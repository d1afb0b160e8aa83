"""Stage latency: measured inference latency of every finetuned cell and of the dense control.

Timings belong to the machine that took them: see prunebench.stages.latency for why they are
never mixed across machines and never touch the deterministic results.
"""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import code_digest, device_from_environment, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=layout.resolved_file("latency"), type=Path)
    parser.add_argument("--models", default=layout.MODELS, type=Path)
    parser.add_argument("--pretrained", default=layout.PRETRAINED_MODEL, type=Path)
    parser.add_argument("--out", default=layout.LATENCY, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import LatencyConfig
    from prunebench.stages.latency import latency_cells

    latency_cells(
        LatencyConfig.read(args.config),
        models=args.models,
        pretrained=args.pretrained,
        out=args.out,
        device=device_from_environment(),
        code=code_digest(Path(__file__)),
    )


if __name__ == "__main__":
    run(main)
