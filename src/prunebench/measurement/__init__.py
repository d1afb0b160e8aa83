"""Measurement: what a model scores and what it costs.

Accuracy on a split (``accuracy``); parameters, compression, multiply-adds, theoretical speedup
and activation memory (``cost``); a model's metrics record (``record``); measured inference
latency (``latency``).
"""
