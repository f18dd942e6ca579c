"""What an embedding learned: intrinsic scores, antonym/synonym cosines, drift by frequency, class-indicative words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from embedlab.jsonio import write_json
from embedlab.text import Vocabulary

FREQUENCY_BUCKETS = ((0, 0, "0"), (1, 4, "1-4"), (5, 49, "5-49"), (50, None, "50+"))


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def mean_pair_cosine(kv: KeyedVectors, pairs: Sequence[tuple[str, str]]) -> tuple[float, int]:
    """Mean cosine over the pairs whose two words the space has, and how many pairs that was."""
    present = [(a, b) for a, b in pairs if a in kv.key_to_index and b in kv.key_to_index]
    if not present:
        return float("nan"), 0
    left = _unit(np.stack([kv[a] for a, _ in present]))
    right = _unit(np.stack([kv[b] for _, b in present]))
    return float(np.mean(np.sum(left * right, axis=1))), len(present)


@dataclass(frozen=True)
class Drift:
    """How far each word moved between the initial and trained embedding."""

    table: pd.DataFrame  # word, train_count, bucket, cosine, changed
    by_bucket: pd.DataFrame  # bucket, words, mean_cosine, share_unchanged

    def movers(self, n: int) -> pd.DataFrame:
        return self.table.nsmallest(n, "cosine")


def drift(initial: np.ndarray, trained: np.ndarray, vocab: Vocabulary, train_counts: Sequence[int]) -> Drift:
    """Cosine between each word's initial and trained row, summarised by training-split frequency."""
    rows = slice(2, None)  # padding and <unk> are not words
    cosine = np.sum(_unit(initial[rows]) * _unit(trained[rows]), axis=1)
    changed = np.any(initial[rows] != trained[rows], axis=1)
    counts = np.asarray(train_counts[2:], dtype=np.int64)
    labels = np.empty(len(counts), dtype=object)
    for low, high, label in FREQUENCY_BUCKETS:
        mask = (counts >= low) & (counts <= (high if high is not None else np.iinfo(np.int64).max))
        labels[mask] = label
    table = pd.DataFrame(
        {"word": vocab.words[2:], "train_count": counts, "bucket": labels, "cosine": cosine, "changed": changed}
    )
    order = [label for _, _, label in FREQUENCY_BUCKETS]
    summary = (
        table.groupby("bucket")
        .agg(
            words=("word", "size"), mean_cosine=("cosine", "mean"), share_unchanged=("changed", lambda c: 1 - c.mean())
        )
        .reindex(order)
        .reset_index()
    )
    summary["words"] = summary["words"].fillna(0).astype(int)
    return Drift(table, summary)


def log_odds(
    token_lists: Sequence[Sequence[str]], labels: np.ndarray, vocab: Vocabulary, prior: float = 0.5
) -> pd.DataFrame:
    """Per word and class, the smoothed log-odds of the word in that class versus all other classes."""
    classes = np.unique(labels)
    counts = np.zeros((len(classes), len(vocab)), dtype=np.float64)
    for tokens, label in zip(token_lists, labels, strict=True):
        row = np.searchsorted(classes, label)
        for token in tokens:
            index = vocab.index(token)
            if index > 1:
                counts[row, index] += 1
    counts = counts[:, 2:] + prior
    frames = []
    for row, cls in enumerate(classes):
        inside, outside = counts[row], counts.sum(axis=0) - counts[row]
        score = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        frames.append(pd.DataFrame({"word": vocab.words[2:], "class": int(cls), "log_odds": score}))
    return pd.concat(frames, ignore_index=True)


def class_indicative_words(table: pd.DataFrame, per_class: int, min_count: int, vocab: Vocabulary) -> list[str]:
    """The most class-indicative words of each class, among words seen at least min_count times."""
    counts = dict(zip(vocab.words, vocab.counts, strict=True))
    frequent = table[table["word"].map(counts.get) >= min_count]
    words: list[str] = []
    for _, group in frequent.groupby("class"):
        words += group.nlargest(per_class, "log_odds")["word"].tolist()
    return list(dict.fromkeys(words))


def analyse_run(
    out_dir: Path,
    spaces: dict[str, KeyedVectors],
    initial: np.ndarray,
    trained: np.ndarray,
    vocab: Vocabulary,
    train_tokens: Sequence[Sequence[str]],
    train_labels: np.ndarray,
    cfg: dict[str, Any],
) -> tuple[dict[str, float], list[str]]:
    """Write analysis.json, drift tables and log-odds; return summary metrics and class-indicative probe words."""
    from embedlab.intrinsic import intrinsic_scores

    summary: dict[str, float] = {}
    if cfg.get("intrinsic", True):
        for name, kv in spaces.items():
            for key, value in intrinsic_scores(kv).items():
                if not key.endswith(("_pairs", "_restrict_vocab")):
                    summary[f"{key}_{name}"] = value
    for kind in ("antonyms", "synonyms"):
        pairs = [tuple(p) for p in cfg.get(kind) or []]
        for name, kv in spaces.items():
            value, n = mean_pair_cosine(kv, pairs)  # type: ignore[arg-type]
            summary[f"{kind[:-1]}_cosine_{name}"] = value
            summary[f"{kind[:-1]}_pairs_found"] = n
    moved = drift(initial, trained, vocab, vocab.counts)
    moved.by_bucket.to_csv(out_dir / "drift_by_frequency.csv", index=False)
    moved.movers(int(cfg.get("movers", 50))).to_csv(out_dir / "drift_top_movers.csv", index=False)
    summary["drift_share_unchanged"] = float(1 - moved.table["changed"].mean())
    summary["drift_mean_cosine"] = float(moved.table["cosine"].mean())
    odds = log_odds(train_tokens, train_labels, vocab)
    odds.to_csv(out_dir / "log_odds.csv", index=False)
    probes = class_indicative_words(
        odds, int(cfg.get("indicative_probes", 5)), int(cfg.get("indicative_min_count", 5)), vocab
    )
    report = {
        "summary": summary,
        "drift_by_frequency": moved.by_bucket.to_dict("records"),
        "class_indicative_words": probes,
    }
    write_json(out_dir / "analysis.json", report)
    return summary, probes
