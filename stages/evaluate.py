"""Stage evaluate: one metrics JSON per finetuned cell of a method, on the test split."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import code_digest, device_from_environment, run, runner_from_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--finetuned", required=True, type=Path, help="the finetune stage's output (with masks)"
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", default=layout.resolved_file("evaluate"), type=Path)
    parser.add_argument("--data", default=layout.DATA_SPLITS, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import EvaluateConfig
    from prunebench.stages.evaluate import evaluate_cells

    evaluate_cells(
        EvaluateConfig.read(args.config),
        finetuned=args.finetuned,
        out=args.out,
        data=args.data,
        device=device_from_environment(),
        code=code_digest(Path(__file__)),
        runner=runner_from_environment(),
    )


if __name__ == "__main__":
    run(main)
