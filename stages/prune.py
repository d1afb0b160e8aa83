"""Stage prune: one mask file and per-layer sparsity table per (compression, seed) of a method."""

import argparse
from pathlib import Path

from common import code_digest, device_from_environment, read_json, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--method", required=True, help="strategy or matched control name")
    parser.add_argument(
        "--reference", type=Path, help="the method's mask cells (for a matched control)"
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", default="resolved/prune.json", type=Path)
    parser.add_argument(
        "--options", type=Path, help="resolved/strategy.json: the method under evaluation's options"
    )
    parser.add_argument("--data", default="data/splits", type=Path)
    parser.add_argument("--pretrained", default="models/pretrained/model.safetensors", type=Path)
    args = parser.parse_args()
    from prunebench.stages.prune import prune_cells

    prune_cells(
        args.method,
        read_json(args.config),
        out=args.out,
        data=args.data,
        pretrained=args.pretrained,
        device=device_from_environment(),
        code=code_digest(Path(__file__)),
        reference=args.reference,
        options=read_json(args.options)["options"] if args.options else None,
    )


if __name__ == "__main__":
    run(main)
