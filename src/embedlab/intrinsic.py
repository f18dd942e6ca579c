"""Intrinsic scores of a vector space: word similarity (WordSim-353, SimLex-999) and Google analogies."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from gensim.models import KeyedVectors

log = logging.getLogger(__name__)

PAIR_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_SET = "questions-words.txt"


def _gensim_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def _pairs_in_file(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith("#"))


def intrinsic_scores(kv: KeyedVectors, analogy_restrict: int = 30000) -> dict[str, float]:
    """Spearman with pair coverage for each similarity set, and analogy accuracy over the top words."""
    scores: dict[str, float] = {}
    quiet = logging.getLogger("gensim.models.keyedvectors")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for name, filename in PAIR_SETS.items():
            path = _gensim_data(filename)
            _, spearman, oov_percent = kv.evaluate_word_pairs(path, dummy4unknown=False)
            scores[f"{name}_spearman"] = float(spearman[0]) if not math.isnan(spearman[0]) else float("nan")
            scores[f"{name}_coverage"] = round(1.0 - float(oov_percent) / 100.0, 4)
            scores[f"{name}_pairs"] = _pairs_in_file(path)
        accuracy, sections = kv.evaluate_word_analogies(_gensim_data(ANALOGY_SET), restrict_vocab=analogy_restrict)
        total = sections[-1]
        attempted = len(total["correct"]) + len(total["incorrect"])
        scores["analogy_accuracy"] = float(accuracy) if attempted else float("nan")
        scores["analogy_questions_attempted"] = attempted
        scores["analogy_restrict_vocab"] = analogy_restrict
    finally:
        quiet.setLevel(level)
    return scores


def score_file(path: Path, binary: bool = True) -> dict[str, float]:
    return intrinsic_scores(KeyedVectors.load_word2vec_format(str(path), binary=binary))
