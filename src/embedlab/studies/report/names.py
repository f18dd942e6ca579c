"""How the report shows a number or a name: one format per kind of number, one table of display names.

Tables keep code names and fractions (runs.csv, cells.csv, paired.csv stay as they are); everything a reader sees in
report.md / report.html goes through `show_table` and the formatters here, so a table and a sentence agree:
accuracy as a percentage with one decimal (81.2), differences in points with one decimal and a sign (+1.2),
intervals as [low, high], p-values as 0.03 / 0.0042 / < 0.001, scores (correlations, cosines, R^2) with two decimals.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from embedlab.vectors.space import INITIAL, TRAINED

# ------------------------------------------------------------------------------------------------- numbers


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fixed(value: object, scale: float = 1.0, digits: int = 1, signed: bool = False) -> str:
    """value x scale with a fixed number of decimals ('' when missing); a zero is never written '-0.0'."""
    number = _finite(value)
    if number is None:
        return ""
    text = f"{scale * number:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return f"+{text}" if signed and not text.startswith("-") else text


def accuracy(value: object) -> str:
    """A fraction of correct answers as a percentage, one decimal: 0.81234 -> 81.2."""
    return _fixed(value, 100)


def points(value: object) -> str:
    """A difference of two accuracies (fractions) in percentage points, one decimal, signed: 0.0268 -> +2.7."""
    return _fixed(value, 100, signed=True)


def spread(value: object) -> str:
    """A standard deviation of accuracies in points, one decimal: 0.003868 -> 0.4."""
    return _fixed(value, 100)


def percent(value: object) -> str:
    """A number already in %, one decimal (the published tables)."""
    return _fixed(value)


def percent_gap(value: object) -> str:
    """A difference already in % points, one decimal, signed."""
    return _fixed(value, signed=True)


def share(value: object) -> str:
    """A share (coverage, rows unchanged) as a percentage, one decimal."""
    return _fixed(value, 100)


def score(value: object) -> str:
    """A correlation, cosine or R^2: two decimals."""
    return _fixed(value, digits=2)


def count(value: object) -> str:
    """A whole number with thousands separators: 6920 -> 6,920."""
    number = _finite(value)
    return "" if number is None else f"{round(number):,}"


def size(value: object) -> str:
    """A training-set size as configured: a count (6,920) or a fraction (0.1)."""
    number = _finite(value)
    if number is None:
        return ""
    return count(number) if number >= 1 and float(number).is_integer() else f"{number:g}"


def p_value(value: object) -> str:
    """0.23, 0.03, 0.0042, < 0.001 (two significant digits below 0.01)."""
    number = _finite(value)
    if number is None:
        return "n/a"
    return "< 0.001" if number < 0.001 else f"{number:.2g}" if number < 0.01 else f"{number:.2f}"


def interval(low: object, high: object, show: Callable[[object], str] = accuracy) -> str:
    """[low, high] in the format of the quantity: [80.1, 82.3] or [+0.4, +2.9]."""
    if _finite(low) is None or _finite(high) is None:
        return ""
    return f"[{show(low)}, {show(high)}]"


ACCURACY_COLUMNS = {
    "mean",
    "baseline_accuracy",
    "best_neural_accuracy",
    "accuracy_source",
    "accuracy_scratch",
    "test_accuracy",
}
POINT_COLUMNS = {"difference", "neural_minus_baseline"}
COUNT_COLUMNS = {"n", "seeds", "runs", "n_train", "sentences_per_seed", "budget", "trials"}


def format_of(column: str) -> Callable[[object], str]:
    """The one format of a result column, by what kind of number it holds."""
    if column.endswith("_p"):
        return p_value
    if column in ACCURACY_COLUMNS or column.startswith(("n=", "analogy_accuracy")):
        return accuracy
    if column in POINT_COLUMNS:
        return points
    if column == "std":
        return spread
    if column in ("ours_mean", "paper"):
        return percent
    if column == "gap":
        return percent_gap
    if column in COUNT_COLUMNS:
        return count
    if column == "train_size":
        return size
    if column.startswith(("coverage_", "drift_share_", "test_share")):
        return share
    return score  # correlations, cosines, R^2: the remaining kind of float the report shows


# ------------------------------------------------------------------------------------------------- names

TASK_NAMES = {
    "sst2": "SST-2 (sentences)",
    "sst2_phrases": "SST-2 (GLUE phrases)",
    "sst2_tree_phrases": "SST-2 (treebank phrases)",
    "sst1": "SST-1 (sentences)",
    "sst1_phrases": "SST-1 (treebank phrases)",
    "mr": "MR",
    "subj": "Subj",
    "trec": "TREC",
    "cr": "CR",
    "mpqa": "MPQA",
    "imdb": "IMDB",
    "clickbait": "Clickbait",
    "smoke": "smoke (200 movie-review sentences)",
}
EMBEDDING_NAMES = {
    "scratch": "scratch Embedding",
    "glove6b": "GloVe 6B 100d",
    "glove": "GloVe (trained by embedlab)",
    "word2vec": "word2vec (trained by embedlab)",
    "fasttext": "fastText (trained by embedlab)",
    "file": "vectors from a file",
    "distilled": "MiniLM distilled (Model2Vec)",
}
MODE_NAMES = {"scratch": "", "frozen": "frozen", "finetune": "fine-tuned", "multichannel": "multichannel"}
MODEL_NAMES = {
    "cnn": "CNN",
    "avg": "word-vector average",
    "bilstm": "BiLSTM",
    "tfidf_lr": "tf-idf + LR",
    "fasttext": "fastText classifier",
    "majority": "majority class",
    "sentence_encoder": "MiniLM sentence encoder + LR",
}
SPACE_WORDS = {INITIAL: "before", TRAINED: "after"}
METRIC_WORDS = {
    "wordsim353_spearman": "WordSim-353 rho",
    "simlex999_spearman": "SimLex-999 rho",
    "analogy_accuracy": "analogies %",
    "antonym_cosine": "antonym cos",
    "synonym_cosine": "synonym cos",
    "class_axis_r2": "class-axis R^2",
    "drift_mean_cosine": "cos(before, after), words seen",
    "drift_share_unchanged": "% unchanged, words seen",
    "test_accuracy": "test accuracy %",
}
COLUMN_NAMES = {
    "task": "task",
    "model": "model",
    "embedding": "source",
    "source": "source",
    "n": "seeds",
    "mean": "accuracy %",
    "std": "std (points)",
    "interval": "95% interval",
    "paired_t_p": "paired t p",
    "mcnemar_p": "McNemar p",
    "difference": "difference (points)",
    "train_size": "train size",
    "n_train": "training examples",
    "baseline": "baseline",
    "baseline_accuracy": "baseline accuracy %",
    "best_neural": "best neural model",
    "best_neural_accuracy": "best neural accuracy %",
    "neural_minus_baseline": "neural - baseline (points)",
    "unseen_words": "unseen words",
    "sentences_per_seed": "sentences",
    "accuracy_source": "accuracy % (source)",
    "accuracy_scratch": "accuracy % (scratch)",
    "coverage_tokens_whitespace": "token coverage %, split on spaces",
    "coverage_tokens": "token coverage %, task tokenizer",
    "ours_mean": "ours %",
    "ours_ci95": "ours, 95% interval",
    "paper": "paper %",
    "gap": "gap (points)",
    "curve": "source",
}


def task_name(task: object) -> str:
    return TASK_NAMES.get(str(task), str(task))


def model_name(model: object) -> str:
    return MODEL_NAMES.get(str(model), str(model))


def source_name(embedding: object, mode: object = "scratch") -> str:
    """('glove6b', 'finetune') -> 'GloVe 6B 100d, fine-tuned'; a name this table lacks is shown as it is."""
    words = EMBEDDING_NAMES.get(str(embedding), str(embedding))
    how = MODE_NAMES.get(str(mode), str(mode))
    return f"{words}, {how}" if how and str(embedding) != "scratch" else words


def source_label(code: object) -> str:
    """A source as the tables spell it ('glove6b/finetune', 'cnn glove6b/finetune', 'fasttext + glove6b')."""
    text = str(code)
    if " + " in text:  # a baseline with pretrained vectors
        model, _, embedding = text.partition(" + ")
        return f"{model_name(model)} + {EMBEDDING_NAMES.get(embedding, embedding)}"
    model, _, rest = text.rpartition(" ")
    if "/" in rest:
        embedding, _, mode = rest.partition("/")
        named = source_name(embedding, mode)
        return f"{model_name(model)}, {named}" if model else named
    return model_name(text)


LABELS: dict[str, Callable[[object], str]] = {
    "task": task_name,
    "model": model_name,
    "source": source_label,
    "curve": source_label,
    "baseline": source_label,
    "best_neural": source_label,
}


def column_name(column: str) -> str:
    """A result column as a person reads it: 'wordsim353_spearman_trained' -> 'WordSim-353 rho after'."""
    if column in COLUMN_NAMES:
        return COLUMN_NAMES[column]
    for metric, words in METRIC_WORDS.items():
        if column == metric:
            return words
        if column.startswith(metric + "_"):
            rest = column[len(metric) + 1 :]
            return f"{words} {SPACE_WORDS.get(rest, rest + ' times' if rest[:1].isdigit() else rest)}"
    return column


def show_table(table: pd.DataFrame) -> pd.DataFrame:
    """A table as the report shows it: display names for tasks, sources and models, every number in its kind's
    one format, ci95_low/ci95_high as one [low, high] column, empty columns dropped, plain column names."""
    table = table.copy()
    if {"embedding", "mode"} <= set(table.columns):
        table.insert(
            list(table.columns).index("embedding"),
            "source_shown",
            [source_name(e, m) for e, m in zip(table["embedding"], table["mode"], strict=True)],
        )
        table = table.drop(columns=["embedding", "mode"]).rename(columns={"source_shown": "source"})
    if {"ci95_low", "ci95_high"} <= set(table.columns):
        show = points if "difference" in table.columns else accuracy
        place = list(table.columns).index("ci95_low")
        values = [interval(lo, hi, show) for lo, hi in zip(table["ci95_low"], table["ci95_high"], strict=True)]
        table = table.drop(columns=["ci95_low", "ci95_high"])
        table.insert(place, "interval", values)
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        values = table[column].astype(object)
        if column in LABELS:
            out[column] = ["" if _blank(v) else LABELS[column](v) for v in values]
        elif pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
            show = format_of(str(column))
            out[column] = ["" if _blank(v) else show(v) for v in values]
        else:
            out[column] = ["" if _blank(v) else v for v in values]
    empty = [c for c in out.columns if all(v == "" for v in out[c])]
    return out.drop(columns=empty).rename(columns=lambda c: column_name(str(c)))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value)) or value is pd.NA
