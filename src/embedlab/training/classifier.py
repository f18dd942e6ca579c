"""A run's trained classifier as files (model.keras, vocab.txt, classifier.json in its RunDir): saved by the run,
read back and checked by `embedlab predict`, in one place so the two cannot drift apart."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import write_json
from embedlab.core.rundir import RunDir, finished_run
from embedlab.data.text import Tokenizer, Vocabulary
from embedlab.training import optimizers  # noqa: F401  (registers the optimizers a saved model may name)
from embedlab.training.models import EMBEDDING_LAYER
from embedlab.training.train import predict

CLASSIFIER_KEYS = {"classes": list, "tokenizer": dict, "max_len": int, "min_len": int, "batch_size": int}


def save_classifier(
    out_dir: Path,
    model: Any,
    vocab: Any,
    tokenizer: Tokenizer,
    classes: tuple[str, ...],
    max_len: int,
    min_len: int,
    batch_size: int,
) -> None:
    """The trained classifier in Keras' own format, with what turns text into its input (embedlab predict)."""
    run = RunDir(out_dir)
    model.save(run.model)
    run.vocab.write_text("\n".join(vocab.words) + "\n", encoding="utf-8")
    write_json(
        run.classifier,
        {
            "classes": list(classes),
            "tokenizer": dataclasses.asdict(tokenizer),
            "max_len": max_len,
            "min_len": min_len,
            "batch_size": batch_size,
            "vocab_counts": list(vocab.counts),
        },
    )


def read_classifier(run_dir: Path) -> tuple[dict, list[str]]:
    """classifier.json and vocab.txt, checked against each other (a changed file would predict silently wrong)."""
    spec_path, vocab_path = RunDir(run_dir).classifier, RunDir(run_dir).vocab
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmbedlabError(f"{spec_path} is missing; the run was made without save_model=true") from None
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise EmbedlabError(f"{spec_path} is not valid JSON ({exc}); rerun the run to write it again") from None
    spec = spec if isinstance(spec, dict) else {}
    wrong = [key for key, kind in CLASSIFIER_KEYS.items() if not isinstance(spec.get(key), kind)]
    counts = spec.get("vocab_counts")
    if wrong or not isinstance(counts, list) or not spec["classes"]:
        missing = ", ".join(wrong or ["vocab_counts"])
        raise EmbedlabError(
            f"{spec_path} lacks or mistypes {missing}: written by another embedlab version or edited; "
            "rerun the run with this version"
        )
    try:
        words = vocab_path.read_text(encoding="utf-8").split("\n")[:-1]
    except FileNotFoundError:
        raise EmbedlabError(f"{vocab_path} is missing; the run was made without save_model=true") from None
    except UnicodeError:
        raise EmbedlabError(f"{vocab_path} is not UTF-8 text; the run directory was changed, rerun it") from None
    if len(words) != len(counts):
        raise EmbedlabError(
            f"{vocab_path} has {len(words)} words but {spec_path.name} counts {len(counts)}: the run directory was "
            "changed since training; rerun the run"
        )
    return spec, words


def load_classifier(run_dir: Path, n_words: int) -> object:
    """model.keras, refused in one line when it is not a whole Keras file of this vocabulary's size."""
    path = RunDir(run_dir).model
    if not path.exists():
        raise EmbedlabError(
            f"{run_dir} has no {path.name}: give the directory of a finished neural run made with save_model=true"
        )
    if not zipfile.is_zipfile(path):
        raise EmbedlabError(f"{path} is not a Keras model file (damaged, truncated or replaced); rerun the run")
    try:
        model = keras.saving.load_model(path, compile=False)
        rows = int(model.get_layer(EMBEDDING_LAYER).input_dim)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged or tampered file
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise EmbedlabError(
            f"{path} cannot be loaded ({reason}); the file is damaged or was changed, rerun the run"
        ) from None
    if rows != n_words:
        raise EmbedlabError(f"{path} has {rows} embedding rows but vocab.txt {n_words} words; rerun the run")
    return model


def predict_texts(run_dir: Path, texts: Sequence[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """A finished run's classifier on new texts: predicted class names, class probabilities, the class names."""
    run_dir = finished_run(run_dir)
    spec, words = read_classifier(run_dir)
    empty = [i for i, text in enumerate(texts, 1) if not str(text).strip()]
    if empty:
        shown = ", ".join(map(str, empty[:5])) + (" ..." if len(empty) > 5 else "")
        raise EmbedlabError(f"text {shown} of {len(texts)} is empty; give every text some words")
    vocab = Vocabulary(tuple(words), tuple(spec["vocab_counts"]))
    tokenizer = Tokenizer(**spec["tokenizer"])
    model = load_classifier(run_dir, len(words))
    x = vocab.encode([tokenizer(t) for t in texts], spec["max_len"])
    probs = predict(model, x, spec["batch_size"], spec["min_len"])
    if not np.isfinite(probs).all():
        raise EmbedlabError(f"{run_dir}: the model gives non-finite probabilities; its weights are damaged, rerun it")
    return [spec["classes"][i] for i in probs.argmax(1)], probs, list(spec["classes"])
