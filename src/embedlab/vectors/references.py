"""Reference spaces shown beside a run's own: published GloVe 6B and the vectors embedlab trained itself.

A reference is used only when it is already on disk (the GloVe file in the data directory, a pretrained model in
the cache): the analysis never downloads or trains. Each is restricted to the task vocabulary through the same
cached loader the embeddings use, so after the first run of a task it costs a small `.npz` read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embedlab.core.config import option_config
from embedlab.core.errors import EmbedlabError
from embedlab.data.text import FIRST_WORD, Vocabulary
from embedlab.vectors.files import VectorSource, load_pretrained
from embedlab.vectors.space import Space

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Corpus as CorpusConfig
    from embedlab.core.schema import Pretrain
    from embedlab.vectors.corpora import TaskText

log = logging.getLogger(__name__)

REFERENCES = ("glove6b", "word2vec", "glove", "fasttext")


def _pretrain_cfg(algorithm: str, run_pretrain: Pretrain | None) -> Pretrain:
    if run_pretrain and run_pretrain.algorithm == algorithm:
        return run_pretrain  # the run's own settings (a user's overrides included)
    return option_config("pretrain", algorithm)


def find_reference(
    name: str,
    data_dir: Path,
    cache_dir: Path,
    corpus_cfg: CorpusConfig | None,
    run_pretrain: Pretrain | None,
    glove6b_dim: int,
    task_text: TaskText | None = None,
) -> tuple[VectorSource, str, str] | None:
    """(source, format, description) of a reference that is on disk, or None."""
    from embedlab.vectors.embeddings import glove6b_source  # lazy: +56 ms at import
    from embedlab.vectors.pretrain import find_pretrained  # lazy: +46 ms at import

    if name not in REFERENCES:
        raise EmbedlabError(f"analysis.references: {name!r} is not known; use any of {REFERENCES}")
    if name == "glove6b":
        source = glove6b_source(data_dir, glove6b_dim, download=False)
        return (source, "glove", f"GloVe 6B {glove6b_dim}d ({source})") if source else None
    if corpus_cfg is None:
        return None
    model = find_pretrained(corpus_cfg, _pretrain_cfg(name, run_pretrain), data_dir, cache_dir, task_text)
    if model is None:
        return None
    corpus = corpus_cfg.name + (" + this training split" if corpus_cfg.task_train else "")
    return VectorSource(model.vectors), model.fmt, f"{name} trained by embedlab on {corpus}"


def load_references(
    names: list[str],
    vocab: Vocabulary,
    data_dir: Path,
    cache_dir: Path,
    corpus_cfg: CorpusConfig | None = None,
    run_pretrain: Pretrain | None = None,
    glove6b_dim: int = 100,
    task_text: TaskText | None = None,
) -> tuple[list[Space], dict[str, str]]:
    """The available references as Spaces, and for every requested name where it came from or why it is absent."""
    spaces, origin = [], {}
    for name in names:
        found = find_reference(name, data_dir, cache_dir, corpus_cfg, run_pretrain, glove6b_dim, task_text)
        if found is None:
            origin[name] = "not available (not on disk; never downloaded or trained for analysis)"
            log.info("reference %s not available; train or download it to see it in reports", name)
            continue
        source, fmt, description = found
        try:
            vectors = load_pretrained(source, vocab, fmt, None, cache_dir)
        except EmbedlabError as exc:
            origin[name] = f"not available ({exc})"
            continue
        matrix = np.zeros((len(vocab), vectors.dim), dtype=np.float32)
        rows = np.fromiter((vocab.index(w) for w in vectors.words), dtype=np.int64, count=len(vectors.words))
        matrix[rows] = vectors.matrix
        present = np.zeros(len(vocab), dtype=bool)
        present[rows] = True
        present[:FIRST_WORD] = False
        spaces.append(Space(name, matrix, present))
        origin[name] = description
    return spaces, origin
