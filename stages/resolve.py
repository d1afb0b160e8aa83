"""Stage resolve: validate params.yaml and write what each later stage reads of it.

Runs first, so a bad value stops the pipeline in one line before DVC replaces any output. With
``--leaderboard``, it resolves the leaderboard pipeline's stages instead (leaderboard/dvc.yaml):
params.yaml's benchmark and settings on leaderboard/params.yaml's methods and grid; with
``--study``, the study pipeline's (study/dvc.yaml): params.yaml's run on study/params.yaml's
initial models.
"""

import argparse
from pathlib import Path

import yaml

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml", type=Path)
    pipeline = parser.add_mutually_exclusive_group()
    pipeline.add_argument("--leaderboard", type=Path, help="leaderboard/params.yaml")
    pipeline.add_argument("--study", type=Path, help="study/params.yaml")
    parser.add_argument("--out", default=layout.RESOLVED, type=Path)
    args = parser.parse_args()
    from prunebench.foundations.files import prepare_outputs
    from prunebench.pipeline.params import (
        check_reachable,
        leaderboard_params,
        parse_params,
        study_params,
    )
    from prunebench.pipeline.resolve import resolve, resolve_leaderboard, resolve_study

    raw = read_yaml(args.params)
    if args.leaderboard is not None:
        params = leaderboard_params(raw, read_yaml(args.leaderboard))
        resolving = resolve_leaderboard
    elif args.study is not None:
        params = study_params(raw, read_yaml(args.study))
        resolving = resolve_study
    else:
        params = parse_params(raw)
        resolving = resolve
    check_reachable(params)
    resolved = resolving(params)
    configs = {layout.resolved_file(stage, args.out): config for stage, config in resolved.items()}
    prepare_outputs(*configs)
    for path, config in configs.items():
        config.write(path)


def read_yaml(path: Path) -> object:
    """The YAML file at ``path``; invalid YAML is refused in one line naming the file."""
    from prunebench.foundations.errors import PrunebenchError

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise PrunebenchError(f"{path} is not valid YAML: {error}") from None


if __name__ == "__main__":
    run(main)
