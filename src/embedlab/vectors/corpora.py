"""Pretraining corpora, streamed document by document and tokenized once into a cached one-line-per-document file."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import logging
import os
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from embedlab.core.choices import CorpusKind
from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import atomic_write
from embedlab.data.datasets import IMDB_URL
from embedlab.data.download import ensure
from embedlab.data.text import Tokenizer

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Corpus as CorpusConfig

log = logging.getLogger(__name__)

CORPUS_VERSION = "v1"


@dataclass(frozen=True)
class TokenizedCorpus:
    """A corpus as a file of space-separated tokens, one document per line, and what is in it."""

    path: Path
    key: str
    documents: int
    tokens: int


def _imdb_documents(archive: Path, include_train: bool) -> Iterator[str]:
    """The unlabelled reviews (and optionally the labelled training reviews): never any test review."""
    wanted = {"unsup"} | ({"pos", "neg"} if include_train else set())
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 4 and parts[1] == "train" and parts[2] in wanted and member.isfile():
                    yield tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EmbedlabError(f"{archive} is not a complete aclImdb_v1.tar.gz ({exc}); download it again") from None


def _text_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith((".txt", ".gz")))
    raise EmbedlabError(f"corpus path {root} does not exist; set corpus.path to a text file or a folder of .txt/.gz")


def _open_text(path: Path) -> Any:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _file_documents(files: list[Path], per: str) -> Iterator[str]:
    for path in files:
        with _open_text(path) as fh:
            if per == "file":
                yield fh.read()
            else:
                yield from (line for line in fh if line.strip())


def _digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


TaskText = Sequence[Sequence[str]]  # a run's training split, tokenized as its task tokenizes it


def _resolve(
    cfg: CorpusConfig, data_dir: Path, download: bool = True, task_text: TaskText | None = None
) -> tuple[Iterator[str], str]:
    """The corpus' own document stream and a fingerprint of its content, so a changed corpus gets a new key; with
    task_train the fingerprint covers the run's training split too (tokenized_corpus appends it)."""
    documents, fingerprint = _own_documents(cfg, data_dir, download)
    if not cfg.task_train:
        return documents, fingerprint
    if task_text is None:
        raise EmbedlabError(
            f"corpus {cfg.name} has task_train=true: it includes a task's training split, so the run that uses "
            "it trains it (embedlab pretrain cannot); or set corpus.task_train=false"
        )
    digest = hashlib.sha256()
    for tokens in task_text:
        digest.update(" ".join(tokens).encode("utf-8"))
        digest.update(b"\n")
    return documents, f"{fingerprint}|task_train={digest.hexdigest()}"


def _own_documents(cfg: CorpusConfig, data_dir: Path, download: bool) -> tuple[Iterator[str], str]:
    kind = cfg.kind
    if kind == "imdb_unsup":
        archive = Path(data_dir) / cfg.archive
        if download or archive.exists():
            archive = ensure(IMDB_URL, archive)
        else:
            raise FileNotFoundError(archive)
        include = cfg.include_imdb_train
        # by content, not mtime: a re-copied archive keeps its trained models (hashing 57 MB takes ~0.1 s)
        return _imdb_documents(archive, include), f"imdb|{_digest([archive])}|train={include}"
    if kind in ("text", "gensim"):
        if kind == "gensim":
            from gensim.test.utils import datapath

            files = [Path(datapath(name)) for name in cfg.files]
        else:
            if not cfg.path:
                raise EmbedlabError("corpus=text needs corpus.path=/path/to/file-or-folder")
            root = Path(str(cfg.path)).expanduser()
            files = _text_files(root if root.is_absolute() else Path(data_dir) / root)
        if not files:
            raise EmbedlabError(f"corpus.path {cfg.path} holds no .txt or .gz files")
        per = cfg.document_per
        return _file_documents(files, per), f"files|{_digest(files)}|per={per}"
    raise EmbedlabError(f"corpus.kind={kind!r} is not known; use one of {', '.join(CorpusKind)}")


def _cache_paths(cfg: CorpusConfig, fingerprint: str, tokenizer: Tokenizer, cache_dir: Path) -> tuple[str, Path, Path]:
    key = hashlib.sha256(f"{CORPUS_VERSION}|{fingerprint}|{tokenizer.key()}".encode()).hexdigest()[:20]
    folder = Path(cache_dir) / "corpora"
    return key, folder / f"{cfg.name}-{key}.txt", folder / f"{cfg.name}-{key}.count"


def _cached(path: Path, meta: Path, key: str) -> TokenizedCorpus | None:
    """The cached corpus when both its text and its counts are whole; a counts file another process left half
    written (or emptied) means not cached, and the corpus is tokenized again."""
    if not (path.exists() and meta.exists()):
        return None
    try:
        docs, tokens = (int(x) for x in meta.read_text().split())
    except ValueError:
        log.warning("%s is not a complete counts file; tokenizing the corpus again", meta)
        return None
    return TokenizedCorpus(path, key, docs, tokens)


def cached_corpus(
    cfg: CorpusConfig, tokenizer: Tokenizer, data_dir: Path, cache_dir: Path, task_text: TaskText | None = None
) -> TokenizedCorpus | None:
    """The tokenized corpus if it is already cached; never downloads or tokenizes (for looking up references)."""
    try:
        _, fingerprint = _resolve(cfg, data_dir, download=False, task_text=task_text)
    except (FileNotFoundError, EmbedlabError):
        return None
    key, path, meta = _cache_paths(cfg, fingerprint, tokenizer, cache_dir)
    return _cached(path, meta, key)


def tokenized_corpus(
    cfg: CorpusConfig, tokenizer: Tokenizer, data_dir: Path, cache_dir: Path, task_text: TaskText | None = None
) -> TokenizedCorpus:
    """Tokenize the corpus once (streamed, written to a temporary name, then renamed) and reuse it after."""
    documents, fingerprint = _resolve(cfg, data_dir, task_text=task_text)
    key, path, meta = _cache_paths(cfg, fingerprint, tokenizer, cache_dir)
    if (found := _cached(path, meta, key)) is not None:
        return found
    stream: Iterator[str | Sequence[str]] = iter(documents)
    if cfg.task_train:  # the corpus' own documents as tokenized once for every fold, then the task's
        base = tokenized_corpus(dataclasses.replace(cfg, task_train=False), tokenizer, data_dir, cache_dir)
        stream = itertools.chain(LineCorpus(base.path), task_text or ())
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    docs = tokens = 0
    started = time.perf_counter()
    try:
        with (
            open(tmp, "w", encoding="utf-8") as out,
            tqdm(desc=f"scan {cfg.name}", unit=" docs", disable=None) as bar,
        ):
            for text in stream:
                words = tokenizer(text) if isinstance(text, str) else list(text)  # a task's tokens stay its own
                if words:
                    out.write(" ".join(words))
                    out.write("\n")
                    docs += 1
                    tokens += len(words)
                bar.update(1)
        if tokens == 0:
            raise EmbedlabError(f"corpus {cfg.name} is empty: no tokens in {cfg.path or cfg.kind}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write(meta, lambda part: part.write_text(f"{docs} {tokens}\n"))  # whole, or not there
    seconds = time.perf_counter() - started
    log.info(
        "corpus %s: %d documents, %d tokens, tokenized in %.1fs (%.0f tokens/s)",
        cfg.name,
        docs,
        tokens,
        seconds,
        tokens / seconds,
    )
    return TokenizedCorpus(path, key, docs, tokens)


class LineCorpus:
    """Re-iterable token lists from a tokenized corpus file (streams; never holds the corpus in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield line.split()
