"""Embedding sources (scratch, published GloVe 6B, any vector file) turned into an initial matrix and a mode."""

from __future__ import annotations

import logging
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.core.choices import Mode, Source
from embedlab.core.errors import EmbedlabError
from embedlab.data.download import ensure
from embedlab.data.text import FIRST_WORD, Vocabulary
from embedlab.vectors.files import Coverage, VectorSource, build_matrix, load_pretrained, resolve_path
from embedlab.vectors.transformer import REPORT_FILE, encoder_folder, ensure_distilled

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Corpus, Embedding, Pretrain
    from embedlab.vectors.corpora import TaskText

log = logging.getLogger(__name__)

MODES = tuple(Mode)  # the schema's choices: one list
GLOVE6B_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
GLOVE6B_DIMS = (50, 100, 200, 300)


KERAS_INIT_LIMIT = 0.05  # keras.layers.Embedding's default: rows U(-0.05, 0.05); schema Embedding.init_limit


@dataclass(frozen=True)
class EmbeddingInit:
    """What the model's Embedding layer starts from: a matrix (None for Keras' own random init) and a mode."""

    name: str
    mode: str
    dim: int
    matrix: np.ndarray | None
    coverage: Coverage | None = None
    source: str = "keras random init"
    info: dict[str, Any] = field(default_factory=dict)
    missing_rows: np.ndarray | None = None  # rows the vectors lacked (and <unk>): random init
    train_missing: bool = False  # frozen mode: let only the missing rows learn
    origin: tuple[VectorSource, str] | None = None  # the vector file and format the rows came from
    init_limit: float = KERAS_INIT_LIMIT  # scratch: Keras' random rows U(-init_limit, init_limit)

    @property
    def trainable(self) -> bool:
        return self.mode != "frozen"


def glove6b_source(data_dir: Path, dim: int, download: bool = True) -> VectorSource | None:
    """GloVe 6B as a user may have it: .txt, .txt.gz, the published zip, or a trimmed .txt.gz copy.

    With download=False, None when no copy is on disk (reference spaces never download).
    """
    if dim not in GLOVE6B_DIMS:
        raise EmbedlabError(f"embedding.dim={dim} does not exist for GloVe 6B; use one of {GLOVE6B_DIMS}")
    folder = Path(data_dir) / "glove"
    stem = f"glove.6B.{dim}d"
    for candidate in (folder / f"{stem}.txt", folder / f"{stem}.txt.gz"):
        if candidate.exists():
            return VectorSource(candidate)
    archive = folder / "glove.6B.zip"
    if archive.exists():
        return _zip_member(archive, f"{stem}.txt")
    trimmed = sorted(folder.glob(f"{stem}*.txt.gz")) if folder.is_dir() else []
    if trimmed:
        return VectorSource(trimmed[0])
    if not download:
        return None
    return _zip_member(ensure(GLOVE6B_URL, archive), f"{stem}.txt")


def _zip_member(archive: Path, member: str) -> VectorSource:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        raise EmbedlabError(f"{archive} is not a valid zip archive; download glove.6B.zip again") from None
    if member not in names:
        raise EmbedlabError(f"{archive} has no {member}; it holds {names}")
    return VectorSource(archive, member)


def vector_source(embedding: Embedding, data_dir: Path) -> VectorSource:
    kind = embedding.source
    if kind == "glove6b":
        return glove6b_source(data_dir, int(embedding.dim or 0))  # type: ignore[return-value]
    if kind == "file":
        if not embedding.path:
            raise EmbedlabError("embedding=file needs embedding.path=/path/to/vectors (GloVe, word2vec or fastText)")
        return VectorSource(resolve_path(embedding.path, data_dir))
    raise EmbedlabError(f"embedding.source={kind!r} is not known; use one of {', '.join(Source)}")


def distilled_source(embedding: Embedding, vocab: Vocabulary, cache_dir: Path) -> tuple[VectorSource, dict[str, Any]]:
    """Vectors distilled from a sentence transformer for the task's training words (cached; made on first use)."""
    import json

    if not embedding.dim or embedding.dim <= 0:
        raise EmbedlabError(
            f"embedding.dim={embedding.dim}: distilled vectors need a positive number of PCA dimensions"
        )
    encoder = encoder_folder(embedding.encoder or "", "embedding.encoder")
    words = [w for w, c in zip(vocab.words[FIRST_WORD:], vocab.counts[FIRST_WORD:], strict=True) if c > 0]
    folder = ensure_distilled(encoder, words, embedding.dim, cache_dir)
    return VectorSource(folder), json.loads((folder / REPORT_FILE).read_text())


# corpus and pretrain config, and the run's tokenized training split (for corpus.task_train)
Pretraining = tuple["Corpus", "Pretrain", "TaskText | None"]


def pretrained_source(
    pretraining: Pretraining | None, data_dir: Path, cache_dir: Path
) -> tuple[VectorSource, str, dict[str, Any]]:
    """Vectors embedlab trains itself: the cached model for (corpus, pretrain), trained on first use."""
    from embedlab.vectors.pretrain import ensure_pretrained  # lazy: +398 ms at import

    if pretraining is None:
        raise EmbedlabError("embedding.source=pretrained needs the corpus and pretrain config groups")
    corpus_cfg, pretrain_cfg, task_text = pretraining
    model = ensure_pretrained(corpus_cfg, pretrain_cfg, data_dir, cache_dir, task_text)
    return VectorSource(model.vectors), model.fmt, model.report


def prepare_embedding(
    embedding: Embedding,
    vocab: Vocabulary,
    data_dir: Path,
    cache_dir: Path,
    seed: int,
    pretraining: Pretraining | None = None,
) -> EmbeddingInit:
    mode = str(embedding.mode)
    if mode not in MODES:
        raise EmbedlabError(f"embedding.mode={mode!r} is not known; use one of {', '.join(MODES)}")
    if embedding.source == "scratch":
        if mode != "scratch":
            raise EmbedlabError(
                f"embedding=scratch has no pretrained vectors to use in mode {mode!r}; "
                "use embedding.mode=scratch or pick a pretrained embedding"
            )
        dim = embedding.dim or 0
        if dim <= 0:
            raise EmbedlabError(f"embedding.dim={dim} must be positive")
        limit = embedding.init_limit
        if not 0 < limit < float("inf"):
            raise EmbedlabError(f"embedding.init_limit={limit} must be a positive number (Keras' default is 0.05)")
        return EmbeddingInit(embedding.name, mode, dim, None, init_limit=limit)
    if embedding.init_limit != KERAS_INIT_LIMIT:
        raise EmbedlabError(
            f"embedding.init_limit={embedding.init_limit} applies to embedding=scratch only; "
            f"embedding={embedding.name} starts from its vectors (words they lack: embedding.oov_init)"
        )
    if mode == "scratch":
        raise EmbedlabError(
            f"embedding={embedding.name} with embedding.mode=scratch would ignore its vectors; "
            "use frozen or finetune (or embedding=scratch)"
        )
    info: dict[str, Any] = {}
    if embedding.source == "pretrained":
        source, fmt, info["pretrain"] = pretrained_source(pretraining, data_dir, cache_dir)
    elif embedding.source == "distilled":
        (source, info["pretrain"]), fmt = distilled_source(embedding, vocab, cache_dir), "model2vec"
    else:
        source, fmt = vector_source(embedding, data_dir), str(embedding.format)
    dim = embedding.dim
    vectors = load_pretrained(source, vocab, fmt, int(dim) if dim else None, cache_dir)
    matrix, coverage, missing = build_matrix(vocab, vectors, str(embedding.oov_init), seed, embedding.scale_std)
    info["vectors_std"] = round(float(vectors.matrix.std()), 4)  # the file's scale, before any scale_std
    log.info(
        "%s: %d/%d task words found (%.1f%% of types, %.1f%% of tokens), %d from subwords",
        source,
        coverage.found,
        coverage.found + coverage.missing,
        100 * coverage.types,
        100 * coverage.tokens,
        coverage.from_subwords,
    )
    return EmbeddingInit(
        embedding.name,
        mode,
        vectors.dim,
        matrix,
        coverage,
        str(source),
        {"format": vectors.fmt, **info},
        missing,
        embedding.train_missing,
        (source, fmt),
    )


def token_coverage(token_lists: list[list[str]], origin: tuple[VectorSource, str], cache_dir: Path) -> float:
    """The share of these tokens that the vector file has (its own words or, for fastText .bin, subwords)."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    if not counts:
        return float("nan")
    source, fmt = origin
    vocab = Vocabulary.build([list(counts)])
    found = set(load_pretrained(source, vocab, fmt, None, cache_dir).words)
    return sum(c for w, c in counts.items() if w in found) / sum(counts.values())
