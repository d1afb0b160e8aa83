"""Training with masks: the finetuning and pretraining loop (``loop``) and its ``recipe``."""
