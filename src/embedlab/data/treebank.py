"""The Stanford Sentiment Treebank in its own PTB tree format (trainDevTestTrees_PTB.zip, `trees/`): every node of
every parse is a phrase with a sentiment label 0-4, which is what Kim (2014) and Socher et al. (2013) trained SST-1
and SST-2 on. Training sets are every distinct phrase of the training trees; dev and test sets are the root
sentences, as published.

A line reads `(3 (2 It) (4 (4 (2 's) ...`: nodes are split on spaces and parentheses only, never on other
whitespace, since one token of the release holds a non-breaking space.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from embedlab.core.errors import EmbedlabError

log = logging.getLogger(__name__)

TREES_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
_TOKEN = re.compile(r"\(|\)|[^ ()]+")  # parentheses, or a run of anything but a space and parentheses
FINE_LABELS = ("0", "1", "2", "3", "4")  # very negative ... very positive
BINARY = {"0": "0", "1": "0", "3": "1", "4": "1"}  # neutral (2) has no binary label


@dataclass(frozen=True)
class Phrase:
    text: str  # the node's words joined by single spaces
    label: str  # "0" .. "4"


def parse_tree(line: str) -> list[Phrase]:
    """Every node of one tree as a phrase, the root first (pre-order)."""
    tokens = _TOKEN.findall(line)
    position = 0

    def node() -> tuple[list[str], list[Phrase]]:
        nonlocal position
        if position >= len(tokens) or tokens[position] != "(":
            raise ValueError(f"expected '(' at token {position + 1}")
        position += 1
        if position >= len(tokens) or tokens[position] not in FINE_LABELS:
            found = tokens[position] if position < len(tokens) else "the end"
            raise ValueError(f"expected a label 0-4 at token {position + 1}, found {found!r}")
        label = tokens[position]
        position += 1
        words: list[str] = []
        inner: list[Phrase] = []
        if position < len(tokens) and tokens[position] not in ("(", ")"):
            words.append(tokens[position])  # a leaf: (label word)
            position += 1
        else:
            while position < len(tokens) and tokens[position] == "(":
                child_words, child_phrases = node()
                words.extend(child_words)
                inner.extend(child_phrases)
        if position >= len(tokens) or tokens[position] != ")" or not words:
            raise ValueError(f"expected ')' at token {position + 1}")
        position += 1
        return words, [Phrase(" ".join(words), label), *inner]

    _, phrases = node()
    if position != len(tokens):
        raise ValueError(f"text after the tree's closing parenthesis (token {position + 1})")
    return phrases


def read_trees(path: Path) -> list[list[Phrase]]:
    """Every tree of a file, each as its phrases (root first); a malformed line is named by its number."""
    if not path.exists():
        raise EmbedlabError(
            f"{path} is missing: download {TREES_URL} on a connected machine and extract trees/{path.name} to {path} "
            "(or point EMBEDLAB_DATA_DIR / paths.data_dir at a folder that has it)"
        )
    trees = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                trees.append(parse_tree(line.strip()))
            except ValueError as exc:
                raise EmbedlabError(f"{path}: line {number} is not a labelled tree ({exc})") from None
    if not trees:
        raise EmbedlabError(f"{path} holds no trees; is this the treebank's trees/{path.name}?")
    return trees


def sentence_key(text: str) -> str:
    """A sentence as the tokenizer will see it (lower case, single spaces), to keep dev and test out of training."""
    return " ".join(text.lower().split(" "))


def relabel(label: str, binary: bool) -> str | None:
    """The label a task uses: the fine label, or the binary one (None for a neutral phrase in SST-2)."""
    return BINARY.get(label) if binary else label


def training_phrases(
    trees: list[list[Phrase]], binary: bool, held_out: set[str]
) -> tuple[list[str], list[str], dict[str, int]]:
    """Every distinct phrase of the training trees once (first occurrence), neutral ones dropped for SST-2, and
    none that is a dev or test sentence (held_out: their sentence_key); returns texts, labels and the counts for
    metrics.json."""
    seen: set[str] = set()
    texts, labels = [], []
    nodes = repeated = neutral = leaked = 0
    for tree in trees:
        for phrase in tree:
            nodes += 1
            if phrase.text in seen:
                repeated += 1
                continue
            seen.add(phrase.text)
            label = relabel(phrase.label, binary)
            if label is None:
                neutral += 1
            elif sentence_key(phrase.text) in held_out:
                leaked += 1
            else:
                texts.append(phrase.text)
                labels.append(label)
    notes = {
        "train_trees": len(trees),
        "train_nodes_read": nodes,
        "train_distinct_phrases": len(seen),
        "train_duplicates_dropped": repeated,
        "train_neutral_dropped": neutral,
        "train_dev_test_overlap_dropped": leaked,
    }
    return texts, labels, notes


def root_sentences(trees: list[list[Phrase]], binary: bool) -> tuple[list[str], list[str]]:
    """The sentences of a dev or test file with their root labels (neutral roots dropped for SST-2)."""
    texts, labels = [], []
    for tree in trees:
        label = relabel(tree[0].label, binary)
        if label is not None:
            texts.append(tree[0].text)
            labels.append(label)
    return texts, labels


Splits = dict[str, tuple[list[str], list[str]]]


def sst_trees(files: dict[str, str], data_dir: Path, binary: bool) -> tuple[Splits, dict[str, str], dict[str, int]]:
    """SST-1 (binary=False) or SST-2 (binary=True) at phrase level from the treebank's own files: the splits, where
    each came from, and the counts for metrics.json (data.datasets makes them a RawTask)."""
    paths = {split: Path(data_dir) / files[split] for split in ("train", "dev", "test")}
    splits = {split: root_sentences(read_trees(paths[split]), binary) for split in ("dev", "test")}
    held_out = {sentence_key(text) for split in ("dev", "test") for text in splits[split][0]}
    texts, labels, notes = training_phrases(read_trees(paths["train"]), binary, held_out)
    log.info(
        "SST trees: %d training phrases (%d distinct nodes of %d trees), dev %d, test %d sentences",
        len(texts),
        notes["train_distinct_phrases"],
        notes["train_trees"],
        len(splits["dev"][0]),
        len(splits["test"][0]),
    )
    return {"train": (texts, labels), **splits}, {s: str(p) for s, p in paths.items()}, notes
