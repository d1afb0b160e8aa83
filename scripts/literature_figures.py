"""Redraw Figure 3 and recount Figure 2 and Table 1 of Blalock et al. (2020) from the shipped data.

    .venv/bin/python scripts/literature_figures.py [--out docs/literature]

Reads the meta-analysis data in ``src/prunebench/literature/blalock2020/`` and writes, under
``--out``: ``figure3_compression.png`` and ``figure3_speedup.png`` (every result on the four most
common pairs without MNIST: change in top-1 and top-5 against compression ratio, then against
theoretical speedup) and ``counts.md`` (Figure 2's histograms and Table 1, beside the paper's
text). ``docs/literature.md`` explains them. The same data give the same bytes.
"""

import argparse
from pathlib import Path

from prunebench.foundations.files import atomic_write_bytes
from prunebench.literature.counts import FIGURE_3_AXES, counts_markdown
from prunebench.literature.pairs import merge_models, most_common_pairs
from prunebench.literature.papers import read_papers
from prunebench.literature.results import read_results
from prunebench.reporting.figures.fragmentation import plot_fragmentation

COMMAND = "python scripts/literature_figures.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=Path("docs/literature"), type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = read_results()
    merged = merge_models(results)
    pairs = most_common_pairs(merged)
    for x in FIGURE_3_AXES:
        plot_fragmentation(merged, pairs, x, args.out / f"figure3_{x}.png")
    counts = counts_markdown(read_papers(), results, COMMAND)
    atomic_write_bytes(args.out / "counts.md", counts.encode())
    print(f"wrote {args.out}/figure3_{{{','.join(FIGURE_3_AXES)}}}.png and counts.md")


if __name__ == "__main__":
    main()
