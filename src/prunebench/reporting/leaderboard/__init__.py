"""The leaderboard: every registered method on one benchmark, ranked, grouped and timed.

``ranking`` (curve averages and the Friedman / Nemenyi groups), ``frontier`` (accuracy against
measured speedup), ``page`` (the Markdown page). Its figures are in ``reporting.figures``
(``ranks``, ``frontier``); the stage that writes it all is ``prunebench.stages.leaderboard``.
"""
