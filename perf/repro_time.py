"""Where the default run's time goes: `make run` in a fresh clone, stage by stage.

Clones the checkout (committed state) into a temporary directory, runs `make run` there and
timestamps every line DVC prints, so each stage's wall time is the time from its
"Running stage" line to the next stage's. Prints the environment install, every stage, the
totals per kind of stage (prune, finetune, evaluate, ...) and the whole run; with
``--process-start`` it also times a stage process that does nothing but start (the Python
interpreter, torch and the stage's imports), the fixed cost every stage pays.

    python perf/repro_time.py [--keep] [--process-start]

The machine should be otherwise idle: timings taken beside other work measure that work too.
"""

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = re.compile(r"Running stage '([^']+)'")


def timed_lines(command: list[str], cwd: Path) -> list[tuple[float, str]]:
    """Run ``command``; return ``(seconds since start, line)`` for every line it prints."""
    start = time.perf_counter()
    lines = []
    with subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            lines.append((time.perf_counter() - start, line.rstrip("\n")))
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n" + "\n".join(line for _, line in lines[-30:]))
    lines.append((time.perf_counter() - start, "<end>"))
    return lines


def stage_times(lines: list[tuple[float, str]]) -> tuple[float, list[tuple[str, float]]]:
    """``(seconds before the first stage, [(stage, seconds), ...])``."""
    marks = [(at, match.group(1)) for at, line in lines if (match := STAGE.search(line))]
    end = lines[-1][0]
    first = marks[0][0] if marks else end
    stages = [
        (name, (marks[index + 1][0] if index + 1 < len(marks) else end) - at)
        for index, (at, name) in enumerate(marks)
    ]
    return first, stages


def process_start(checkout: Path) -> float:
    """Seconds a finetune stage process takes to start and exit (``--help`` after imports)."""
    command = [
        str(checkout / ".venv/bin/python"),
        "-c",
        "import sys; sys.path.insert(0, 'stages'); import common, torch, dvclive; "
        "import prunebench.stages.finetune",
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=checkout, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    parser.add_argument("--process-start", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="prunebench-repro-"))
    checkout = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(checkout)], check=True)
    lines = timed_lines(["make", "run"], checkout)
    setup, stages = stage_times(lines)
    total = lines[-1][0]
    print(f"make run: {total:7.1f} s in all; {setup:5.1f} s before the first stage")
    kinds: dict[str, list[float]] = collections.defaultdict(list)
    for name, seconds in stages:
        kind = name.split("@")[0].removesuffix("_baseline").removesuffix("_matched")
        kinds[kind].append(seconds)
        print(f"  {name:32s} {seconds:6.1f} s")
    print("per kind of stage:")
    for kind, times in kinds.items():
        print(f"  {kind:12s} {len(times):2d} stages {sum(times):7.1f} s")
    if args.process_start:
        runs = [process_start(checkout) for _ in range(3)]
        print(f"a finetune stage process starting: {sorted(runs)[1]:.2f} s (median of 3)")
    if args.keep:
        print(f"clone kept in {checkout}")
    else:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
