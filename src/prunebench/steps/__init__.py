"""The benchmark's steps, one module each, callable from a notebook as well as from a stage.

``fetch_data``, ``fetch_pretrained``, ``prune``, ``finetune``, ``evaluate``, ``aggregate``: each
module holds the work on one cell (``prune_cell``, ``finetune_cell``, ``evaluate_cell``) and the
loop over a method's grid that keeps only current, intact cells (``*_cells``, on
:func:`prunebench.grid.run_cells`). A step reads its inputs as ``prunebench.config.resolve``
gives them. This package imports nothing: each stage imports only the step it runs, so its code
fingerprint (``prunebench.sources``) covers no other step's code.
"""
