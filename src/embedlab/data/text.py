"""One tokenizer and one vocabulary type, shared by tasks and pretraining corpora so their words agree."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embedlab.core.choices import TokenizerStyle
from embedlab.core.errors import EmbedlabError

if TYPE_CHECKING:  # the schema imports Hydra
    from embedlab.core.schema import Tokenizer as TokenizerConfig

log = logging.getLogger(__name__)

PAD, OOV = "<pad>", "<unk>"
PAD_ID, OOV_ID = 0, 1
FIRST_WORD = 2  # rows before it (PAD_ID, OOV_ID) are padding and the unknown word, not words

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Penn-Treebank-style clitics, as in the SST files: "don't" -> do n't, "it's" -> it 's.
_TOKEN = re.compile(r"\w+(?=n['’]t\b)|n['’]t\b|['’](?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]", re.UNICODE | re.IGNORECASE)

# Kim (2014) clean_str: the preprocessing behind the CNN-for-sentences results we compare against.
_KIM_RULES = [
    (re.compile(r"[^A-Za-z0-9(),!?\'\`]"), " "),
    (re.compile(r"\'s"), " 's"),
    (re.compile(r"\'ve"), " 've"),
    (re.compile(r"n\'t"), " n't"),
    (re.compile(r"\'re"), " 're"),
    (re.compile(r"\'d"), " 'd"),
    (re.compile(r"\'ll"), " 'll"),
    (re.compile(r","), " , "),
    (re.compile(r"!"), " ! "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\?"), " ? "),
    (re.compile(r"\s{2,}"), " "),
]


@dataclass(frozen=True)
class Tokenizer:
    """Split text into tokens; `style` is "simple" (words and punctuation) or "kim2014" (Kim's clean_str)."""

    lowercase: bool = True
    style: str = "simple"

    def __post_init__(self) -> None:
        if self.style not in tuple(TokenizerStyle):
            raise EmbedlabError(f"tokenizer.style={self.style!r} is not known; use one of {', '.join(TokenizerStyle)}")

    @classmethod
    def like(cls, config: TokenizerConfig) -> Tokenizer:
        """The tokenizer a config's `tokenizer` node (task.tokenizer, corpus.tokenizer) describes."""
        return cls(config.lowercase, config.style)

    def __call__(self, text: str) -> list[str]:
        text = _HTML_BREAK.sub(" ", text)
        if self.style == "kim2014":
            for pattern, repl in _KIM_RULES:
                text = pattern.sub(repl, text)
            tokens = text.strip().split()
        elif self.style == "whitespace":
            tokens = text.split()
        else:
            tokens = _TOKEN.findall(text)
        return [t.lower() for t in tokens] if self.lowercase else tokens

    def key(self) -> str:
        """A stable description for cache keys (pretraining and vector caches depend on tokenization)."""
        return f"tok-{self.style}-{'lower' if self.lowercase else 'cased'}-v1"


@dataclass(frozen=True)
class Vocabulary:
    """Words by index: 0 is padding, 1 out-of-vocabulary, then training words by falling frequency."""

    words: tuple[str, ...]
    counts: tuple[int, ...]

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        min_count: int = 1,
        max_size: int | None = None,
        extra: Iterable[Sequence[str]] | None = None,
    ) -> Vocabulary:
        """Training words by frequency; `extra` texts (dev/test, Kim 2014 style) add their new words with count 0.

        Extra words are only indexed, never counted: their rows get pretrained vectors but no training signal.
        """
        if min_count < 1:
            raise EmbedlabError(f"vocab.min_count={min_count} must be at least 1")
        counter: Counter[str] = Counter()
        for tokens in token_lists:
            counter.update(tokens)
        ranked = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            if max_size < 1:
                raise EmbedlabError(f"vocab.max_size={max_size} must be positive or null")
            ranked = ranked[:max_size]
        if not ranked:
            raise EmbedlabError(
                f"the training texts give an empty vocabulary with vocab.min_count={min_count}; "
                "lower min_count or check that the texts are not empty"
            )
        words = [PAD, OOV, *(w for w, _ in ranked)]
        counts = [0, 0, *(c for _, c in ranked)]
        if extra is not None:
            known, unseen = set(words), Counter()
            for tokens in extra:
                unseen.update(t for t in tokens if t not in known)
            added = sorted(unseen.items(), key=lambda wc: (-wc[1], wc[0]))
            words += [w for w, _ in added]
            counts += [0] * len(added)
        return cls(tuple(words), tuple(counts))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index  # type: ignore[attr-defined]

    def index(self, word: str) -> int:
        return self._index.get(word, OOV_ID)  # type: ignore[attr-defined]

    def encode(self, token_lists: Sequence[Sequence[str]], max_len: int) -> np.ndarray:
        """Right-padded int32 matrix, truncated to max_len tokens."""
        out = np.zeros((len(token_lists), max_len), dtype=np.int32)
        get = self._index.get  # type: ignore[attr-defined]
        for row, tokens in enumerate(token_lists):
            ids = [get(t, OOV_ID) for t in tokens[:max_len]]
            out[row, : len(ids)] = ids
        return out

    def fingerprint(self) -> str:
        """Hash of the word list, so caches keyed on a vocabulary notice any change to it."""
        return hashlib.sha256("\n".join(self.words).encode("utf-8")).hexdigest()[:16]


LENGTH_CAP_FACTOR = 4  # an automatic max_len never exceeds 4x the 99th percentile of training lengths


def sequence_length(token_lists: Sequence[Sequence[str]], max_len: int | None, percentile: float) -> int:
    """max_len if given, else the given percentile of training lengths (at least 1), capped against outliers.

    With the default percentile 100, one 1 MB cell in a user's table set max_len to 170,001 tokens and a 1 s
    run took 83 s. The cap, 4x the 99th percentile, leaves every shipped task's longest text whole (the longest is
    at most 2.8x the 99th percentile: MPQA; IMDB 2.6x); texts past it are truncated with a warning saying how many.
    """
    if max_len is not None:
        if max_len < 1:
            raise EmbedlabError(f"task.max_len={max_len} must be positive or null")
        return int(max_len)
    if not 0 < percentile <= 100:
        raise EmbedlabError(f"task.len_percentile={percentile} must be in (0, 100]")
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    wanted = max(1, int(np.ceil(np.percentile(lengths, percentile))))
    cap = max(64, LENGTH_CAP_FACTOR * int(np.ceil(np.percentile(lengths, 99))))
    if wanted > cap:
        log.warning(
            "task.max_len capped at %d tokens (4x the 99th percentile of training lengths) instead of %d: %d "
            "training text(s) are longer and get truncated; set task.max_len to choose",
            cap,
            wanted,
            int((lengths > cap).sum()),
        )
        return cap
    return wanted


UNSEEN_BUCKETS = ("0", "1", "2", "3+")


def unseen_counts(train_tokens: Iterable[Sequence[str]], token_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """How many tokens of each text never occur in the training texts (Kim's 'Alps' vs 'Himalaya' question)."""
    seen = {t for tokens in train_tokens for t in tokens}
    return np.array([sum(t not in seen for t in tokens) for tokens in token_lists], dtype=np.int64)


def unseen_bucket(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2 and 3+ unseen tokens, as the bucket names of UNSEEN_BUCKETS."""
    return np.array(UNSEEN_BUCKETS)[np.minimum(counts, 3)]
