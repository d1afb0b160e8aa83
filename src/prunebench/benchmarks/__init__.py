"""Benchmarks: what is held fixed, by registry name (``registry``), and the initial models.

Published weights with their sha256, local mirrors and our own bundled models (``pretrained``,
the files under ``weights/``).
"""
