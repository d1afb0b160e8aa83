"""Measurement: what a model scores and what it costs.

Accuracy on a split (``accuracy``); parameters, compression, multiply-adds, theoretical speedup
and activation memory (``cost``); what a model's metrics record holds (``records``) and
the measuring of it (``measure``); measured inference latency (``latency``).
"""
