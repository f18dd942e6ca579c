"""One vocabulary-aligned vector type: row i of a `Space` is word i of the run's vocabulary, whose first rows are
padding and the unknown word (data.text.FIRST_WORD), and `present` marks the rows the space has a vector for.
A run's own spaces are named TRAINED and INITIAL (its embedding after and before training); references keep their
source's name. gensim's KeyedVectors, the interchange type for every neighbour and intrinsic score, is built here
and nowhere else (`keyed_vectors`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.data.text import FIRST_WORD, Vocabulary

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

TRAINED, INITIAL = "trained", "initial"
RUN_SPACES = (TRAINED, INITIAL)


def keyed_vectors(words: Sequence[str], matrix: np.ndarray, counts: Sequence[int] | None = None) -> Any:
    """gensim KeyedVectors of these words in this order, with a `count` attribute when counts are given."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=matrix.shape[1], dtype=np.float32)
    kv.add_vectors(list(words), np.asarray(matrix, dtype=np.float32))
    if counts is not None:
        kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
        kv.expandos["count"][:] = list(counts)
    return kv


@dataclass(frozen=True)
class Space:
    """An embedding aligned with the task vocabulary: row i is word i; `present` marks rows the space has."""

    name: str
    matrix: np.ndarray
    present: np.ndarray

    @classmethod
    def full(cls, name: str, matrix: np.ndarray) -> Space:
        """Every word row present (a run's own embedding); padding and the unknown word are not words."""
        present = np.ones(len(matrix), dtype=bool)
        present[:FIRST_WORD] = False
        return cls(name, matrix, present)

    def keyed(self, vocab: Vocabulary, with_counts: bool = False) -> Any:
        """The present rows as KeyedVectors in vocabulary (training frequency) order, with training counts if asked."""
        rows = np.flatnonzero(self.present)
        counts = [vocab.counts[i] for i in rows] if with_counts else None
        return keyed_vectors([vocab.words[i] for i in rows], self.matrix[rows], counts)


def nearest(
    kv: KeyedVectors, words: Sequence[str], k: int, exclude: Sequence[str] = ()
) -> dict[str, list[tuple[str, float]]]:
    """The k nearest words (cosine) of each word the space holds, itself and `exclude` left out: gensim's
    `most_similar(word, topn=k)` for all words at once, in one matrix product. The one neighbours function: the
    CLI, the run's analysis and the report's browser all call it."""
    present = [w for w in dict.fromkeys(words) if w in kv.key_to_index]
    if not present or k < 1:
        return {w: [] for w in present}
    unit = kv.get_normed_vectors()
    ids = np.array([kv.key_to_index[w] for w in present])
    sims = unit[ids] @ unit.T
    sims[np.arange(len(ids)), ids] = -np.inf
    banned = [kv.key_to_index[w] for w in exclude if w in kv.key_to_index]
    sims[:, banned] = -np.inf
    top = min(k, len(kv.index_to_key) - 1 - len(banned))
    if top < 1:
        return {w: [] for w in present}
    best = np.argpartition(-sims, top - 1, axis=1)[:, :top]
    found = {}
    for row, word in enumerate(present):
        order = best[row][np.argsort(-sims[row, best[row]], kind="stable")]
        found[word] = [(kv.index_to_key[i], float(sims[row, i])) for i in order]
    return found
