"""Stage resolve: validate params.yaml and write what each later stage reads of it.

Runs first, so a bad value stops the pipeline in one line before DVC replaces any output.
"""

import argparse
from pathlib import Path

import yaml

from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.files import write_json
from prunebench.pipeline.params import check_reachable, parse_params, resolve  # noqa: I001

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--out", default="resolved", type=Path)
    args = parser.parse_args()
    try:
        raw = yaml.safe_load(args.params.read_text())
    except yaml.YAMLError as error:
        raise PrunebenchError(f"{args.params} is not valid YAML: {error}") from None
    params = parse_params(raw)
    check_reachable(params)
    for stage, inputs in resolve(params).items():
        write_json(args.out / f"{stage}.json", inputs)


if __name__ == "__main__":
    run(main)
