"""Baselines on a tiny dataset with a known answer, unseen-word buckets, and the GLUE phrase loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.core.errors import EmbedlabError
from embedlab.core.schema import FastTextModel, TfidfLr
from embedlab.data.datasets import load_sst2_phrases
from embedlab.data.text import unseen_bucket, unseen_counts
from embedlab.studies.results import unseen_table
from embedlab.training.baselines import fasttext_supervised, majority, tfidf_lr
from helpers import NEGATIVE, POSITIVE, separable


def test_majority_predicts_the_most_frequent_training_class():
    probs, info = majority(([["x"]] * 5, np.array([1, 1, 0, 1, 0])), n_test=3, n_classes=2)
    assert info["majority_class"] == 1 and probs.argmax(1).tolist() == [1, 1, 1]


def test_tfidf_lr_separates_a_separable_task_and_picks_c_on_dev():
    train, dev, test = separable(200, 0), separable(50, 1), separable(100, 2)
    cfg = TfidfLr(name="tfidf_lr", ngrams=[1, 2], min_df=1, C=[0.01, 10.0])
    probs, info = tfidf_lr(train, dev, test[0], 2, cfg, seed=0)
    assert (probs.argmax(1) == test[1]).mean() == 1.0
    assert info["C"] == 10.0 and info["dev_accuracy_best"] == 1.0
    np.testing.assert_allclose(probs.sum(1), 1.0)


def test_fasttext_supervised_learns_a_separable_task_with_and_without_vectors():
    train, test = separable(300, 0), separable(100, 2)
    cfg = FastTextModel(name="fasttext", epochs=25, learning_rate=0.5, word_ngrams=2, dim=10)
    probs, _ = fasttext_supervised(train, test[0], 2, cfg, seed=1, vectors=None)
    assert (probs.argmax(1) == test[1]).mean() >= 0.95
    vectors = {w: np.full(4, 0.1 if w in POSITIVE else -0.1, np.float32) for w in POSITIVE + NEGATIVE}
    probs, info = fasttext_supervised(train, test[0], 2, cfg, seed=1, vectors=vectors)
    assert info == {"pretrained_vectors": 6, "dim": 4} and (probs.argmax(1) == test[1]).mean() >= 0.95


def test_unseen_words_are_counted_against_the_training_texts_only():
    train = [["the", "alps", "are", "high"], ["a", "film"]]
    counts = unseen_counts(
        train, [["the", "alps"], ["the", "himalaya"], ["himalaya", "k2", "the"], ["x", "y", "z", "w"]]
    )
    assert counts.tolist() == [0, 1, 2, 4]
    assert unseen_bucket(counts).tolist() == ["0", "1", "2", "3+"]


def write_run(root: Path, source: tuple[str, str], seed: int, correct: list[bool], unseen: list[int]) -> None:
    run = root / f"{source[0]}-{source[1]}-{seed}"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(
        f'{{"status": "completed", "task": "t", "model": "cnn", "embedding": "{source[0]}", '
        f'"mode": "{source[1]}", "seed": {seed}, "test_accuracy": {np.mean(correct)}}}'
    )
    labels = np.zeros(len(correct), int)
    pd.DataFrame(
        {
            "index": range(len(correct)),
            "label": labels,
            "pred": (~np.array(correct)).astype(int),
            "unseen_words": unseen,
        }
    ).to_csv(run / "predictions.csv", index=False)


def test_unseen_table_compares_each_source_with_scratch_per_bucket(tmp_path):
    from embedlab.studies.results import collect

    unseen = [0, 0, 1, 1, 2, 5]
    for seed in (1, 2):
        write_run(tmp_path, ("scratch", "scratch"), seed, [True, True, False, False, False, False], unseen)
        write_run(tmp_path, ("glove6b", "frozen"), seed, [True, False, True, True, True, True], unseen)
    table = unseen_table(collect(tmp_path)).set_index("unseen_words")
    assert table.loc["0", "accuracy_scratch"] == 1.0 and table.loc["0", "accuracy_source"] == 0.5
    assert table.loc["1", "difference"] == 1.0 and table.loc["3+", "sentences_per_seed"] == 1
    assert (table["seeds"] == 2).all() and (table["source"] == "glove6b/frozen").all()


def glue(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("sentence\tlabel\n" + "".join(f"{t} \t{y}\n" for t, y in rows))


def test_phrase_loader_drops_repeats_and_dev_test_sentences_and_counts_them(tmp_path):
    glue(tmp_path / "glue/train.tsv", [("a fine film", "1"), ("A  fine film", "1"), ("dull", "0"), ("so dull .", "0")])
    glue(tmp_path / "glue/dev.tsv", [("so dull .", "0")])
    (tmp_path / "kim").mkdir()
    (tmp_path / "kim/test").write_text("1 a good one\n0 bad\n")
    files = {"train": "glue/train.tsv", "dev": "glue/dev.tsv", "test": "kim/test"}
    raw = load_sst2_phrases(files, tmp_path)
    assert raw.splits["train"] == (["a fine film", "dull"], ["1", "0"])
    assert raw.notes == {"train_phrases_read": 4, "train_duplicates_dropped": 1, "train_dev_test_overlap_dropped": 1}
    assert raw.splits["test"] == (["a good one", "bad"], ["1", "0"])


def test_phrase_loader_names_the_missing_glue_file_and_where_to_get_it(tmp_path):
    with pytest.raises(EmbedlabError, match=r"SST-2.zip .* extract SST-2/train.tsv"):
        load_sst2_phrases({"train": "glue/SST-2/train.tsv", "dev": "d.tsv", "test": "t"}, tmp_path)
