"""The Markdown report: the answer first, then setup, results, figures and the paper's checklist.

Sections, in order (:func:`~prunebench.reporting.report.render.render_report` lists them):
**Answer** (is the method under evaluation better than each baseline, where on the curve, by how
much, how sure, in ``answer``; any cell off its target compression, in ``off_target``; what the
matched controls say about its allocation and its choice of weights, in ``matched_controls``;
unequal training budgets, in ``training_budget``; how far it falls from the unpruned control, in
``control``), **Setup** (``setup``; its line on published results, in ``published_results``),
**Results** (mean ± std tables, every seed, every comparison, in ``results``; the training
budget table, in ``training_budget``), **Measured speed** (``measured_speed``), **Figures**
(``figure_list``), **Published results** where the literature has some on the run's pair
(``published_results``), **Metric disagreement** (``metric_disagreement``) and the **Checklist**
of Blalock et al. (2020),
Appendix B (:mod:`prunebench.reporting.checklist`, judged from what ``evidence`` gathers).
``formatting`` writes numbers, intervals and method names alike in every section; ``setup`` also
defines :class:`~prunebench.reporting.report.setup.ReportSetup`, the run's setup that the report
and the figures describe. Every sentence is computed from this run's cells, so a run with one
seed or three compressions says so in its own report.

What kind of method each one is (its score, allocation, structure, schedule) comes from
:class:`~prunebench.reporting.methods.Methods`, never from its name.
"""
