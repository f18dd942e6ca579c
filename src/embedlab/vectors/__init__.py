"""Stage 2, vectors: vector files, embeddings for a vocabulary, corpora, pretraining word2vec/GloVe/fastText, reference
spaces, and intrinsic scores of a space (WordSim-353, SimLex-999, analogies: a pretrained model's report has them,
and a run's analysis scores its spaces with them)."""
