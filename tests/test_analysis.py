"""Analysis on constructed inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from embedlab.analysis import class_indicative_words, drift, log_odds, mean_pair_cosine
from embedlab.text import Vocabulary


def space(vectors: dict[str, list[float]]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=len(next(iter(vectors.values()))))
    kv.add_vectors(list(vectors), np.array(list(vectors.values()), dtype=np.float32))
    return kv


def test_mean_pair_cosine_known_values_and_missing_pairs():
    kv = space({"good": [1, 0], "bad": [-1, 0], "great": [2, 0], "awful": [0, 3]})
    assert mean_pair_cosine(kv, [("good", "bad")]) == (pytest.approx(-1.0), 1)
    assert mean_pair_cosine(kv, [("good", "great"), ("good", "awful"), ("good", "nope")]) == (pytest.approx(0.5), 2)
    value, n = mean_pair_cosine(kv, [("x", "y")])
    assert n == 0 and np.isnan(value)


def test_drift_by_frequency_bucket_on_constructed_matrices():
    vocab = Vocabulary(("<pad>", "<unk>", "a", "b", "c", "d"), (0, 0, 60, 10, 2, 0))
    initial = np.array([[0, 0], [1, 1], [1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    trained = initial.copy()
    trained[2] = [0, 1]  # "a" turned 90 degrees
    trained[4] = [-1, 0]  # "c" reversed
    result = drift(initial, trained, vocab, vocab.counts)
    table = result.table.set_index("word")
    assert table.loc["a", "cosine"] == pytest.approx(0.0) and table.loc["c", "cosine"] == pytest.approx(-1.0)
    assert table.loc["b", "cosine"] == pytest.approx(1.0) and not table.loc["b", "changed"]
    buckets = result.by_bucket.set_index("bucket")
    assert buckets.loc["50+", "words"] == 1 and buckets.loc["50+", "share_unchanged"] == 0.0
    assert buckets.loc["5-49", "share_unchanged"] == 1.0 and buckets.loc["0", "share_unchanged"] == 1.0
    assert buckets.loc["1-4", "mean_cosine"] == pytest.approx(-1.0)
    assert result.movers(1)["word"].tolist() == ["c"]


def test_log_odds_finds_the_class_words_of_a_toy_corpus():
    docs = [["great", "film"], ["great", "fun"], ["great", "film"], ["awful", "film"], ["awful", "plot"], ["awful"]]
    labels = np.array([1, 1, 1, 0, 0, 0])
    vocab = Vocabulary.build(docs)
    table = log_odds(docs, labels, vocab)
    top = table[table["class"] == 1].nlargest(1, "log_odds")["word"].item()
    assert top == "great"
    film = table[(table["word"] == "film")].set_index("class")["log_odds"]
    assert film[1] > 0 > film[0]
    assert class_indicative_words(table, per_class=1, min_count=2, vocab=vocab) == ["awful", "great"]
