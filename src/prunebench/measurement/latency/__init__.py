"""Measured inference latency of a pruned model against the dense one, for one benchmark cell.

A pruned model can be executed several ways, and which is fastest is a fact about the machine,
never an assumption (``docs/design.md``, "Measured speed"). The package, one room per purpose:

- ``timing``: one timing (median and interquartile range) of calls whose repeats are interleaved;
- ``kernels``: the CSR linear and convolution layers, and the 2:4 pattern test;
- ``executions``: the ways a pruned model runs (dense with zeros, sparse with a kernel chosen per
  layer, semi-structured 2:4, physically smaller);
- ``records``: the typed records the latency stage writes (``results/latency``);
- ``measure``: the control and one cell timed at every batch size, the control's repeats
  interleaved with the executions'.

The package knows nothing of DVC; the latency stage writes what ``measure`` returns.
"""
