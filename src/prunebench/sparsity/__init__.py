"""Sparsity: what a mask is and what it removes.

Binary masks over a model's parameters, kept exactly zero through training (``masks``), and the
channel groups a structured mask removes together, down to the physically smaller model
(``channels``).
"""
