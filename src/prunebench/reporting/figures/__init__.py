"""The figures of a run: accuracy against compression and speedup, measured against theoretical
speedup, and the published results beside the measured curve, each a PNG written atomically.

``style`` gives every method its look (the same in every figure), ``axes`` what all figures
share, ``accuracy``, ``speedup`` and ``published`` draw one kind of figure each;
``fragmentation`` redraws Figure 3 of Blalock et al. (2020) for ``docs/literature.md``.
"""
