"""Non-neural baselines on a run's own splits: is the neural comparison even competitive?

Each baseline sees the same tokenized training, dev and test texts as the neural models of its study (same task,
seed, fold and training-size sample) and returns test-set class probabilities, so its run directory is a row of
the results table like any other. `majority` predicts the most frequent training class; `tfidf_lr` is
scikit-learn's tf-idf over word 1-2 grams with logistic regression, its C chosen on the dev split; `fasttext`
is fastText supervised (the reference implementation), with the run's pretrained vectors when its embedding has
them (`pretrainedVectors`), trained in a child process with one thread so that a seed gives the same model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.core.errors import EmbedlabError
from embedlab.vectors.transformer import encode_sentences, encoder_folder

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import FastTextModel, SentenceEncoder, TfidfLr

Tokens = Sequence[Sequence[str]]


def majority(train: tuple[Tokens, np.ndarray], n_test: int, n_classes: int) -> tuple[np.ndarray, dict[str, Any]]:
    counts = np.bincount(train[1], minlength=n_classes)
    probs = np.zeros((n_test, n_classes))
    probs[:, int(np.argmax(counts))] = 1.0
    return probs, {"majority_class": int(np.argmax(counts))}


def tfidf_lr(
    train: tuple[Tokens, np.ndarray],
    dev: tuple[Tokens, np.ndarray],
    test: Tokens,
    n_classes: int,
    config: TfidfLr,
    seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """tf-idf (sublinear tf) over word n-grams + logistic regression, C the best of config.C on dev accuracy."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    low, high = (int(n) for n in config.ngrams)
    vectorizer = TfidfVectorizer(
        analyzer=lambda tokens: _ngrams(tokens, low, high), sublinear_tf=True, min_df=config.min_df
    )
    x_train = vectorizer.fit_transform(train[0])
    x_dev, x_test = vectorizer.transform(dev[0]), vectorizer.transform(test)
    score, c, model = best_logistic(x_train, train[1], x_dev, dev[1], config.C, seed)
    probs = np.zeros((x_test.shape[0], n_classes))
    probs[:, model.classes_] = model.predict_proba(x_test)
    return probs, {"dev_accuracy_best": score, "C": c, "features": int(x_train.shape[1])}


def best_logistic(
    x_train: Any, y_train: np.ndarray, x_dev: Any, y_dev: np.ndarray, cs: Sequence[float], seed: int
) -> tuple[float, float, Any]:
    """Logistic regression for each C, the one with the best dev accuracy (the first of ties): score, C, model."""
    from sklearn.linear_model import LogisticRegression

    best: tuple[float, float, Any] | None = None
    for c in cs:
        model = LogisticRegression(C=float(c), max_iter=2000, random_state=seed).fit(x_train, y_train)
        score = float((model.predict(x_dev) == y_dev).mean())
        if best is None or score > best[0]:
            best = (score, float(c), model)
    assert best is not None
    return best


def _ngrams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    return [" ".join(tokens[i : i + n]) for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]


FASTTEXT_CHILD = r"""
import json, sys
import fasttext
args = json.load(open(sys.argv[1], encoding="utf-8"))
model = fasttext.train_supervised(**args["train"])
labels, probs = model.predict(args["texts"], k=-1)
json.dump([dict(zip(l, map(float, p))) for l, p in zip(labels, probs)], open(args["out"], "w"))
"""


def fasttext_supervised(
    train: tuple[Tokens, np.ndarray],
    test: Tokens,
    n_classes: int,
    config: FastTextModel,
    seed: int,
    vectors: dict[str, np.ndarray] | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """fastText supervised in a child process (fasttext 0.9.3 trained twice in one process can stop with NaN)."""
    with tempfile.TemporaryDirectory(prefix="embedlab-fasttext-") as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text(
            "".join(f"__label__{y} {' '.join(t)}\n" for t, y in zip(train[0], train[1], strict=True)), "utf-8"
        )
        options = {
            "input": str(train_file),
            "epoch": config.epochs,
            "lr": config.learning_rate,
            "wordNgrams": config.word_ngrams,
            "dim": config.dim,
            "thread": 1,
            "seed": seed,
            "verbose": 0,
        }
        if vectors:
            dim = len(next(iter(vectors.values())))
            vec = Path(tmp) / "vectors.vec"
            with open(vec, "w", encoding="utf-8") as handle:
                handle.write(f"{len(vectors)} {dim}\n")
                for word, row in vectors.items():
                    handle.write(word + " " + " ".join(f"{v:.6g}" for v in row) + "\n")
            options.update(pretrainedVectors=str(vec), dim=dim)
        out = Path(tmp) / "probs.json"
        payload = Path(tmp) / "payload.json"
        payload.write_text(json.dumps({"train": options, "texts": [" ".join(t) for t in test], "out": str(out)}))
        process = subprocess.run([sys.executable, "-c", FASTTEXT_CHILD, str(payload)], capture_output=True, text=True)
        if process.returncode != 0:
            last = (process.stderr.strip().splitlines() or ["no output"])[-1]
            raise EmbedlabError(f"fastText supervised failed: {last}")
        rows = json.loads(out.read_text())
    probs = np.zeros((len(test), n_classes))
    for i, row in enumerate(rows):
        for label, p in row.items():
            probs[i, int(label.removeprefix("__label__"))] = p
    return probs, {"pretrained_vectors": len(vectors) if vectors else 0, "dim": options["dim"]}


def sentence_encoder(
    train: tuple[Sequence[str], np.ndarray],
    dev: tuple[Sequence[str], np.ndarray],
    scored: Sequence[str],
    n_classes: int,
    config: SentenceEncoder,
    seed: int,
    cache_dir: Path | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A frozen sentence encoder's embeddings (vectors.transformer, cached) + logistic regression, C the best of
    config.C on dev accuracy. Raw texts: the encoder has its own tokenizer."""
    import time

    encoder = encoder_folder(config.encoder, "model.encoder")
    started = time.perf_counter()
    splits = [list(train[0]), list(dev[0]), list(scored)]
    x_train, x_dev, x_scored = encode_sentences(encoder, splits, cache_dir, config.batch_size)
    encode_seconds = time.perf_counter() - started
    score, c, model = best_logistic(x_train, train[1], x_dev, dev[1], config.C, seed)
    probs = np.zeros((len(scored), n_classes))
    probs[:, model.classes_] = model.predict_proba(x_scored)
    info = {"dev_accuracy_best": score, "C": c, "encoder": str(encoder), "dim": int(x_train.shape[1])}
    return probs, {**info, "encode_seconds": round(encode_seconds, 2)}


BASELINES = ("majority", "tfidf_lr", "fasttext", "sentence_encoder")
