"""The figures of a run: accuracy against compression and speedup, and measured against
theoretical speedup, each a PNG written atomically.

``style`` gives every method its look (the same in every figure), ``axes`` what all figures
share, ``accuracy`` and ``speedup`` draw one kind of figure each.
"""
