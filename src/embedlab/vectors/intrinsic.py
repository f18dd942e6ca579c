"""Intrinsic scores of a vector space: word similarity (WordSim-353, SimLex-999) and Google analogies.

The evaluation sets ship in the gensim wheel; a user adds a pair file (``word1<TAB>word2<TAB>score``, lines
starting with ``#`` ignored) or an analogy file (the Google ``questions-words.txt`` format) by name in config.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from embedlab.core.errors import EmbedlabError

log = logging.getLogger(__name__)

PAIR_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_SETS = {"analogy": "questions-words.txt"}


def _gensim_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def _pairs_in_file(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith("#"))


def _user_file(kind: str, name: str, path: str | Path) -> str:
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise EmbedlabError(
            f"analysis.{kind}.{name}: file {resolved} not found; give an existing file or remove the entry"
        )
    return str(resolved)


def _pair_coverage(kv: KeyedVectors, path: str) -> float:
    keys = {w.lower() for w in kv.key_to_index}
    pairs = [line.split("\t")[:2] for line in open(path, encoding="utf-8") if line.strip() and line[0] != "#"]
    if any(len(p) < 2 for p in pairs):
        raise EmbedlabError(f"similarity pairs {path}: expected lines 'word1<TAB>word2<TAB>score'")
    covered = sum(1 for a, b in pairs if a.lower() in keys and b.lower() in keys)
    return round(covered / len(pairs), 4) if pairs else 0.0


def pair_scores(kv: KeyedVectors, name: str, path: str) -> dict[str, float]:
    """Spearman between cosine and human scores over the pairs the space covers, and that coverage."""
    try:
        _, spearman, oov_percent = kv.evaluate_word_pairs(path, dummy4unknown=False)
    except ValueError:  # gensim/scipy raise when fewer than two pairs have both words in the space
        return {
            f"{name}_spearman": math.nan,
            f"{name}_coverage": _pair_coverage(kv, path),
            f"{name}_pairs": _pairs_in_file(path),
        }
    value = float(spearman[0])
    return {
        f"{name}_spearman": value if not math.isnan(value) else math.nan,
        f"{name}_coverage": round(1.0 - float(oov_percent) / 100.0, 4),
        f"{name}_pairs": _pairs_in_file(path),
    }


def _read_analogies(path: str) -> list[tuple[str, str, str, str]]:
    questions = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(":"):
                continue
            words = line.upper().split()
            if len(words) != 4:
                raise EmbedlabError(
                    f"analogy file {path} line {number}: expected 4 words 'a b c d', got {line.strip()!r}"
                )
            questions.append((words[0], words[1], words[2], words[3]))
    return questions


def analogy_scores(kv: KeyedVectors, name: str, path: str, restrict: int, batch: int = 512) -> dict[str, float]:
    """3CosAdd accuracy over the questions whose four words are among the space's `restrict` most frequent.

    The same rule as gensim's `evaluate_word_analogies` (case-insensitive; a, b and c excluded from the answer),
    computed as batched matrix products instead of one `most_similar` call per question: ~20x faster.
    """
    keys = kv.index_to_key[:restrict]
    ok = {key.upper(): i for i, key in reversed(list(enumerate(keys)))}  # the most frequent spelling wins
    asked = [q for q in _read_analogies(path) if all(w in ok for w in q)]
    scores = {f"{name}_questions_attempted": len(asked), f"{name}_restrict_vocab": restrict}
    if not asked:
        return {f"{name}_accuracy": math.nan, **scores}
    ids = np.array([[ok[w] for w in q] for q in asked], dtype=np.int64)
    unit = kv.get_normed_vectors()[: len(keys)]
    correct = 0
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        query = unit[part[:, 1]] - unit[part[:, 0]] + unit[part[:, 2]]
        sims = query @ unit.T
        rows = np.arange(len(part))[:, None]
        sims[rows, part[:, :3]] = -np.inf
        correct += int(np.sum(np.argmax(sims, axis=1) == part[:, 3]))
    return {f"{name}_accuracy": correct / len(asked), **scores}


def intrinsic_scores(
    kv: KeyedVectors,
    analogy_restrict: int = 30000,
    extra_pairs: Mapping[str, str | Path] | None = None,
    extra_analogies: Mapping[str, str | Path] | None = None,
) -> dict[str, float]:
    """Spearman with pair coverage for each similarity set, and analogy accuracy over the top words."""
    pair_files = {name: _gensim_data(f) for name, f in PAIR_SETS.items()}
    pair_files |= {name: _user_file("pair_sets", name, p) for name, p in (extra_pairs or {}).items()}
    analogy_files = {name: _gensim_data(f) for name, f in ANALOGY_SETS.items()}
    analogy_files |= {name: _user_file("analogy_sets", name, p) for name, p in (extra_analogies or {}).items()}
    scores: dict[str, float] = {}
    quiet = logging.getLogger("gensim.models.keyedvectors")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for name, path in pair_files.items():
            scores |= pair_scores(kv, name, path)
        for name, path in analogy_files.items():
            scores |= analogy_scores(kv, name, path, analogy_restrict)
    finally:
        quiet.setLevel(level)
    return scores


def score_file(path: Path, binary: bool = True) -> dict[str, float]:
    return intrinsic_scores(KeyedVectors.load_word2vec_format(str(path), binary=binary))
