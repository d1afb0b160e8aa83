"""Stage latency: measured inference latency of every finetuned cell and of the dense control.

Timings belong to the machine that took them: see prunebench.stages.latency for why they are
never mixed across machines and never touch the deterministic results.
"""

import argparse
from pathlib import Path

from common import code_digest, device_from_environment, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="resolved/latency.json", type=Path)
    parser.add_argument("--models", default="models", type=Path)
    parser.add_argument("--pretrained", default="models/pretrained/model.safetensors", type=Path)
    parser.add_argument("--out", default="results/latency", type=Path)
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
