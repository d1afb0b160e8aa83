"""Stage resolve: validate params.yaml and write what each later stage reads of it.

Runs first, so a bad value stops the pipeline in one line before DVC replaces any output.
"""

import argparse
from pathlib import Path

import yaml

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--out", default=layout.RESOLVED, type=Path)
    args = parser.parse_args()
    from prunebench.foundations.errors import PrunebenchError
    from prunebench.foundations.files import prepare_outputs
    from prunebench.pipeline.layout import resolved_file
    from prunebench.pipeline.params import check_reachable, parse_params
    from prunebench.pipeline.resolve import resolve

    try:
        raw = yaml.safe_load(args.params.read_text())
    except yaml.YAMLError as error:
        raise PrunebenchError(f"{args.params} is not valid YAML: {error}") from None
    params = parse_params(raw)
    check_reachable(params)
    configs = {
        args.out / resolved_file(stage).name: config for stage, config in resolve(params).items()
    }
    prepare_outputs(*configs)
    for path, config in configs.items():
        config.write(path)


if __name__ == "__main__":
    run(main)
