"""Stage 3, training: the Keras models, sparse-update optimizers, the training loop, the non-neural baselines."""
