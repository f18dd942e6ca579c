"""Every embedding as gensim KeyedVectors, so one code path writes every neighbour report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from embedlab.text import Vocabulary

FIRST_WORD = 2  # rows 0 and 1 are padding and out-of-vocabulary


def to_keyed_vectors(vocab: Vocabulary, matrix: np.ndarray) -> KeyedVectors:
    kv = KeyedVectors(vector_size=matrix.shape[1], dtype=np.float32)
    kv.add_vectors(list(vocab.words[FIRST_WORD:]), matrix[FIRST_WORD:].astype(np.float32))
    kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
    kv.expandos["count"][:] = vocab.counts[FIRST_WORD:]  # training-split counts, kept in the saved file order
    return kv


def frequent_words(vocab: Vocabulary, n: int) -> list[str]:
    """The n most frequent content words (alphabetic, not stop words): frequent words worth probing."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    picked = []
    for word in vocab.words[FIRST_WORD:]:
        if word.isalpha() and len(word) > 2 and word not in ENGLISH_STOP_WORDS:
            picked.append(word)
            if len(picked) == n:
                break
    return picked


def neighbour_table(spaces: dict[str, KeyedVectors], probes: Sequence[str], k: int) -> pd.DataFrame:
    """One row per (probe, space, rank); a probe missing from a space gets one row saying so."""
    rows = []
    for probe in probes:
        for space, kv in spaces.items():
            if probe not in kv.key_to_index:
                rows.append(
                    {"probe": probe, "space": space, "rank": None, "neighbour": None, "cosine": None, "missing": True}
                )
                continue
            for rank, (word, cos) in enumerate(kv.most_similar(probe, topn=k), start=1):
                rows.append(
                    {
                        "probe": probe,
                        "space": space,
                        "rank": rank,
                        "neighbour": word,
                        "cosine": round(float(cos), 4),
                        "missing": False,
                    }
                )
    return pd.DataFrame(rows, columns=["probe", "space", "rank", "neighbour", "cosine", "missing"])


def neighbour_markdown(table: pd.DataFrame, spaces: Sequence[str]) -> str:
    """Side by side: one line per probe, one column per space, neighbours in rank order."""
    lines = ["| probe | " + " | ".join(spaces) + " |", "|---|" + "---|" * len(spaces)]
    for probe, group in table.groupby("probe", sort=False):
        cells = []
        for space in spaces:
            part = group[group["space"] == space]
            if part.empty or bool(part["missing"].iloc[0]):
                cells.append("*(missing)*")
            else:
                cells.append(", ".join(part.sort_values("rank")["neighbour"].astype(str)))
        lines.append(f"| **{probe}** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_neighbour_report(
    out_dir: Path, spaces: dict[str, KeyedVectors], probes: Sequence[str], k: int, title: str
) -> pd.DataFrame:
    table = neighbour_table(spaces, probes, k)
    table.to_csv(Path(out_dir) / "neighbours.csv", index=False)
    body = neighbour_markdown(table, list(spaces))
    (Path(out_dir) / "neighbours.md").write_text(
        f"# {title}\n\nTop-{k} cosine neighbours within the task vocabulary.\n\n{body}"
    )
    return table
