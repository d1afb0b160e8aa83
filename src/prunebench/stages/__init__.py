"""The work of each DVC stage, one module per stage, callable from a notebook as well as a stage.

``fetch_data``, ``fetch_pretrained``, ``prune``, ``finetune``, ``evaluate``, ``latency``,
``aggregate``: each module holds the work on one cell (``prune_cell``, ``finetune_cell``,
``evaluate_cell``) and the loop over a method's grid that keeps only current, intact cells
(``*_cells``, on :func:`prunebench.pipeline.cells.run_cells`). The scripts under the checkout's
``stages/`` only parse their arguments and call one function here. This package imports nothing:
each stage imports only its own module, so its code fingerprint
(:mod:`prunebench.pipeline.sources`) covers no other stage's code.
"""
