"""The meta-analysis's 81 papers, and who compares to whom (Blalock et al. 2020, Figure 2).

:func:`read_papers` gives one row per paper (``PAPER_COLUMNS``); :func:`comparison_counts` the
two histograms of the paper's Figure 2: how many papers compare to each paper, and to how many
papers each one compares. A comparison counts only between papers of the corpus, which the
authors built so that no paper in it compares to a pruning paper outside it (section 3.1).
"""

from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent / "blalock2020"
"""The shipped data: the authors' CSV files, unchanged, and their licence."""

# Venues whose papers were not peer reviewed when the data were collected: the convention of
# ShrinkBench's analysis code, which splits Figure 2's bars by it.
NOT_PEER_REVIEWED = ("arXiv", "OpenReview", "CVPR Workshops")

PAPER_COLUMNS = {
    "paper": "the paper's key in the data (`papers.csv` `Name`), e.g. `soft-filter-pruning`",
    "label": "first author and year, e.g. `He 2018`; a letter tells apart two papers that share "
    "both (`Huang 2018a`, `Huang 2018b`, in the order of their keys)",
    "year": "the year of publication",
    "venue": "where it was published (`arXiv` for a preprint)",
    "peer_reviewed": "whether the venue reviews its papers (not arXiv, OpenReview or a workshop)",
    "compares_to": "the keys of the corpus's papers it compares to, as a tuple",
}
"""The columns of :func:`read_papers`, with what each one means."""


def read_csv(name: str, folder: Path = DATA) -> pd.DataFrame:
    """One of the data's CSV files as text: every cell a string, an empty cell NaN.

    The files were exported from a spreadsheet with a byte-order mark, which ``utf-8-sig``
    strips from the first column's name.
    """
    return pd.read_csv(folder / name, encoding="utf-8-sig", dtype=str)


def read_papers(folder: Path = DATA) -> pd.DataFrame:
    """One row per paper of the corpus, sorted by key; columns as ``PAPER_COLUMNS`` says.

    Example::

        >>> papers = read_papers().set_index("paper")
        >>> papers.loc["soft-filter-pruning", ["label", "venue", "peer_reviewed"]].tolist()
        ['He 2018', 'IJCAI', True]
    """
    raw = read_csv("papers.csv", folder).sort_values("Name", ignore_index=True)
    keys = set(raw["Name"])
    papers = pd.DataFrame(
        {
            "paper": raw["Name"],
            "label": _labels(raw["AuthorName"], raw["Date"]),
            "year": raw["Date"].str.split("-").str[0].astype(int),
            "venue": raw["Venue"],
            "peer_reviewed": ~raw["Venue"].isin(NOT_PEER_REVIEWED),
            "compares_to": [_keys(text, keys) for text in raw["Compares To"]],
        }
    )
    return papers


def comparison_counts(papers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Figure 2's two histograms, split by peer review.

    ``"compared_to_by"``: for each number k, how many papers are compared to by exactly k papers
    of the corpus; ``"compares_to"``: how many papers compare to exactly k papers of it. Each is
    a table with columns ``k``, ``papers``, ``peer_reviewed`` and ``other``, one row per k from 0
    to the largest (a k no paper has is a row of zeros, as a histogram's empty bar).
    """
    compares_to = papers["compares_to"].map(len)
    compared_to_by = papers["paper"].map(
        pd.Series([key for keys in papers["compares_to"] for key in keys]).value_counts()
    )
    return {
        "compared_to_by": _histogram(compared_to_by.fillna(0).astype(int), papers),
        "compares_to": _histogram(compares_to, papers),
    }


def _histogram(counts: pd.Series, papers: pd.DataFrame) -> pd.DataFrame:
    """Papers per value of ``counts`` (one per paper), in all and by peer review."""
    ks = range(int(counts.max()) + 1)
    reviewed = counts[papers["peer_reviewed"]].value_counts().reindex(ks, fill_value=0)
    other = counts[~papers["peer_reviewed"]].value_counts().reindex(ks, fill_value=0)
    return pd.DataFrame(
        {"k": list(ks), "papers": reviewed + other, "peer_reviewed": reviewed, "other": other}
    ).reset_index(drop=True)


def _keys(text: object, corpus: set[str]) -> tuple[str, ...]:
    """The corpus's paper keys in a comma-separated ``Compares To`` cell (NaN: none)."""
    if not isinstance(text, str):
        return ()
    return tuple(key.strip() for key in text.split(",") if key.strip() in corpus)


def _labels(authors: pd.Series, dates: pd.Series) -> pd.Series:
    """``Author Year``, with a, b, ... where two papers (in key order) share author and year."""
    labels = authors.str.strip() + " " + dates.str.split("-").str[0]
    shared = labels.duplicated(keep=False)
    letters = labels[shared].groupby(labels[shared]).cumcount().map(lambda i: "abcdefgh"[i])
    return labels.where(~shared, labels + letters.reindex(labels.index, fill_value=""))
