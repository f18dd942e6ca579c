"""embedlab: measure how a task-trained Keras Embedding differs from word2vec, GloVe and fastText."""

__version__ = "0.1.0"
