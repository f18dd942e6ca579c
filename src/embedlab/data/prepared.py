"""A task made ready for a model: its splits, their tokens, the vocabulary (training split only) and the padded
index arrays. The first stage of a run (run.experiment)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embedlab.data.datasets import load_raw
from embedlab.data.splits import TaskData, prepare
from embedlab.data.text import Tokenizer, Vocabulary, sequence_length, unseen_counts

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Task

log = logging.getLogger("embedlab")

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class PreparedTask:
    data: TaskData
    tokenizer: Tokenizer
    tokens: dict[str, list[list[str]]]  # split -> tokenized texts
    vocab: Vocabulary
    max_len: int
    arrays: dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (padded indices, labels)

    def unseen(self) -> np.ndarray:
        """Per test sentence, how many of its words the training split never has."""
        return unseen_counts(self.tokens["train"], self.tokens["test"])


def prepare_task(task: Task, data_dir: Path, cache_dir: Path, seed: int) -> PreparedTask:
    """Load the task's files, split them, tokenize, build the vocabulary and the index arrays."""
    data = prepare(load_raw(task, data_dir, cache_dir), task, seed)
    log.info("task %s: %s examples, classes %s", data.name, data.sizes(), list(data.classes))
    tokenizer = Tokenizer.like(task.tokenizer)
    splits = {"train": data.train, "dev": data.dev, "test": data.test}
    tokens = {name: [tokenizer(t) for t in splits[name].texts] for name in SPLITS}
    extra = [*tokens["dev"], *tokens["test"]] if task.vocab.eval_words else None
    vocab = Vocabulary.build(tokens["train"], task.vocab.min_count, task.vocab.max_size, extra=extra)
    max_len = sequence_length(tokens["train"], task.max_len, task.len_percentile)
    arrays = {name: (vocab.encode(tokens[name], max_len), splits[name].labels) for name in SPLITS}
    log.info("vocabulary %d words (train split only), sequence length %d", len(vocab), max_len)
    return PreparedTask(data, tokenizer, tokens, vocab, max_len, arrays)
