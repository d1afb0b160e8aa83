"""The pipeline's plumbing, under the stages and above the library.

params.yaml and what each stage reads of it (``params``), the grid of cells and the store of
finished, verified cells (``cells``), where cells run (``runners``) and the code fingerprint of a
stage (``sources``).
"""
