"""Channel structure: whole output channels, with every parameter that depends on them.

A channel strategy removes whole output channels. A removed channel takes with it its filter (the
conv weight slice ``[c, :, :, :]`` or the linear row ``[c, :]``, and the bias entry), its batch-norm
scale and shift, and the input slices of every layer that reads it: the next conv's
``weight[:, c]``, or, after a flatten, the linear layer's input columns of that channel (16 of them
for LeNet-5's ``conv2 -> fc1``), the classifier included. Channels tied by a residual addition must
go together: pruning one branch of a sum alone would leave the channel alive through the other.

This package says what a channel structure *is*; how a method chooses which channels to remove
(channel scores, the selection towards a target) lives in ``prunebench.strategies``. Its rooms:

- ``group``: :class:`~prunebench.sparsity.channels.group.ChannelGroup`, the unit of pruning, and
  the parameter entries (slices) it removes;
- ``tracing``: Torch-Pruning's dependency graph of a copy of the model;
- ``shortcut``: the option-A shortcut of the CIFAR ResNets rewritten so that the graph is right;
- ``union_find``: the disjoint sets that merge channels tied through such a shortcut;
- ``dependencies``: :func:`~prunebench.sparsity.channels.dependencies.channel_groups`, a model's
  groups;
- ``masks``: :func:`~prunebench.sparsity.channels.masks.group_masks` (masks over weights, biases
  and batch-norm parameters) and its inverse ``pruned_groups``;
- ``physical``: :func:`~prunebench.sparsity.channels.physical.physically_pruned`, the smaller
  model that speed is measured on.
"""
