"""Stage leaderboard: every method of the leaderboard pipeline ranked on one page, with figures."""

import argparse
from pathlib import Path

from prunebench.pipeline import layout  # no torch: common still pins the numerics first

from common import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--config",
        default=layout.resolved_file("leaderboard", layout.LEADERBOARD_RESOLVED),
        type=Path,
    )
    parser.add_argument("--cells", default=layout.LEADERBOARD_CELLS, type=Path)
    parser.add_argument("--latency", default=layout.LEADERBOARD_LATENCY, type=Path)
    parser.add_argument("--control", default=layout.CONTROL_METRICS, type=Path)
    parser.add_argument("--page", default=layout.LEADERBOARD_PAGE, type=Path)
    parser.add_argument("--figures", default=layout.LEADERBOARD_FIGURES, type=Path)
    args = parser.parse_args()
    from prunebench.pipeline.configs import LeaderboardConfig
    from prunebench.stages.leaderboard import leaderboard

    leaderboard(
        LeaderboardConfig.read(args.config),
        cells=args.cells,
        latency=args.latency,
        control=args.control,
        page=args.page,
        figures=args.figures,
    )


if __name__ == "__main__":
    run(main)
