"""TensorBoard projector export of a run's embeddings: `tensorboard --logdir <run>/projector`, tab PROJECTOR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.rundir import RunDir
from embedlab.data.text import FIRST_WORD, Vocabulary

METADATA = RunDir(".").projector_metadata.name  # metadata.tsv, beside the checkpoint


def export_projector(
    folder: Path, vocab: Vocabulary, matrices: dict[str, np.ndarray], max_words: int, odds: pd.DataFrame | None = None
) -> Path:
    """A checkpoint with one variable per matrix (the most frequent max_words words) and shared word metadata.

    The metadata has each word's training count and, when given, its class log-odds, so points can be coloured
    by polarity in the projector.
    """
    import tensorflow as tf
    from tensorboard.plugins import projector

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    end = min(len(vocab), max_words + FIRST_WORD)
    words = list(vocab.words[FIRST_WORD:end])
    columns: dict[str, object] = {"word": words, "count": vocab.counts[FIRST_WORD:end]}
    if odds is not None:  # one frame built once: a column at a time fragments it (1,000 classes: 1,000 warnings)
        wide = odds.pivot(index="word", columns="class", values="log_odds")
        columns.update({f"log_odds_{cls}": wide.loc[words, cls].round(3).to_numpy() for cls in wide.columns})
    meta = pd.DataFrame(columns)
    meta.to_csv(folder / METADATA, sep="\t", index=False)
    variables = {name: tf.Variable(matrix[FIRST_WORD:end].astype(np.float32)) for name, matrix in matrices.items()}
    tf.train.Checkpoint(**variables).save(str(folder / "embedding.ckpt"))
    config = projector.ProjectorConfig()
    for name in variables:
        entry = config.embeddings.add()
        entry.tensor_name = f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
        entry.metadata_path = METADATA
    projector.visualize_embeddings(str(folder), config)
    return folder
