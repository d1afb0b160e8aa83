"""Training with masks: the finetuning and pretraining loop and its recipe (``loop``)."""
