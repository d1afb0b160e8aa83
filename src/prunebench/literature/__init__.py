"""The pruning literature's own numbers: the meta-analysis data of Blalock et al. (2020).

The 81 papers and 551 reported results the authors aggregated for their sections 3-4 (Figures
1-5), as they published them in ShrinkBench (``analysis/assets/existing-results``), shipped
unchanged in ``blalock2020/`` beside their MIT licence notice. ``papers`` reads the corpus and who
compares to whom (the paper's Figure 2), ``results`` turns the reported results into one tidy
table, ``pairs`` says which (dataset, architecture) pairs are common and which of our benchmarks
matches one, ``counts`` writes Figure 2's counts as Markdown.

Only the aggregate stage (its report's published results) and ``scripts/literature_figures.py``
(``docs/literature.md``) import this package; it needs pandas.
"""
