"""Read pretrained word vectors in any common format, only for the words a task needs, and cache the result."""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from embedlab.core.choices import OovInit, VectorFormat
from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import atomic_write
from embedlab.data.text import FIRST_WORD, PAD_ID, Vocabulary
from embedlab.vectors.transformer import read_model2vec

log = logging.getLogger(__name__)

FORMATS = tuple(VectorFormat)  # the schema's choices: one list
FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
GENSIM_DATA_PREFIX = "gensim-test-data:"
CACHE_VERSION = "v1"


@dataclass(frozen=True)
class VectorSource:
    """A vector file, or a member of a zip archive (glove.6B.zip holds all four GloVe 6B sizes)."""

    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def identity(self) -> str:
        if self.path.is_dir():  # a Model2Vec folder: every file in it
            files = sorted(p for p in self.path.rglob("*") if p.is_file())
            stats = "|".join(f"{p.relative_to(self.path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
            return f"{self.path.resolve()}|{stats}"
        stat = self.path.stat()
        return f"{self.path.resolve()}|{self.member}|{stat.st_size}|{stat.st_mtime_ns}"


@dataclass(frozen=True)
class PretrainedVectors:
    """Vectors for the vocabulary words a file has; `from_subwords` marks fastText out-of-vocabulary fills."""

    words: tuple[str, ...]
    matrix: np.ndarray
    from_subwords: tuple[bool, ...]
    source: str
    fmt: str

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


def resolve_path(value: str, data_dir: Path) -> Path:
    """A user path: absolute, relative to the data directory, or a file shipped in gensim's test data."""
    if value.startswith(GENSIM_DATA_PREFIX):
        from gensim.test.utils import datapath

        return Path(datapath(value[len(GENSIM_DATA_PREFIX) :]))
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(data_dir) / path


def _raw_stream(source: VectorSource) -> IO[bytes]:
    if source.member:
        try:
            archive = zipfile.ZipFile(source.path)
            return archive.open(source.member)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise EmbedlabError(f"{source}: cannot open ({exc}); download the archive again") from None
    fh = open(source.path, "rb")
    if fh.read(2) == b"\x1f\x8b":
        fh.seek(0)
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    fh.seek(0)
    return fh


def _looks_binary(data: bytes) -> bool:
    """Packed float32 bytes nearly always include control bytes that text vector files never have."""
    return any(b < 9 or 13 < b < 32 for b in data)


def detect_format(source: VectorSource) -> str:
    """Tell the format from the first bytes: fastText magic, a `count dim` header, or GloVe's bare rows."""
    try:
        with _raw_stream(source) as fh:
            head = fh.read(4096)
    except (OSError, EOFError, zlib.error) as exc:
        raise EmbedlabError(f"{source}: file is truncated or corrupt ({exc}); download it again") from None
    if not head:
        raise EmbedlabError(f"{source} is empty; expected word vectors")
    if not source.member and head[:2] == b"PK":
        raise EmbedlabError(
            f"{source} is a zip archive; extract the vector file from it and set embedding.path to that file"
        )
    if head[:4] == FASTTEXT_MAGIC:
        return "fasttext_bin"
    first = head.split(b"\n", 1)[0].split()
    if len(first) == 2 and all(field.isdigit() for field in first):
        rest = head.split(b"\n", 1)[1] if b"\n" in head else b""
        return "word2vec_bin" if _looks_binary(rest[:1024]) else "word2vec_text"
    if source.path.name.endswith((".bin", ".bin.gz")) or _looks_binary(head[:1024]):
        return "fasttext_bin"  # fastText before v0.2 wrote no magic number
    return "glove"


def _text_rows(source: VectorSource, fmt: str) -> Iterator[tuple[int, bytes, bytes]]:
    """(line number, word, rest of line) for each row; the header line, if any, is checked and skipped."""
    try:
        with _raw_stream(source) as fh:
            reader = io.BufferedReader(fh, buffer_size=1 << 20) if not isinstance(fh, io.BufferedReader) else fh
            for number, line in enumerate(reader, start=1):
                if number == 1 and fmt != "glove":
                    continue
                word, _, rest = line.rstrip(b"\r\n").partition(b" ")
                yield number, word, rest
    except (EOFError, OSError, zlib.error) as exc:
        raise EmbedlabError(f"{source}: file is truncated or corrupt ({exc}); download it again") from None


def _header(source: VectorSource) -> tuple[int, int]:
    with _raw_stream(source) as fh:
        fields = fh.readline().split()
    return int(fields[0]), int(fields[1])


def read_text(source: VectorSource, wanted: set[str], fmt: str) -> tuple[dict[str, np.ndarray], int]:
    """Parse only the rows whose word is wanted, but check every row's width so corruption cannot pass."""
    found: dict[str, np.ndarray] = {}
    dim = _header(source)[1] if fmt != "glove" else None
    rows = 0
    for number, word, rest in _text_rows(source, fmt):
        if not word and not rest:
            continue
        width = rest.rstrip().count(b" ") + 1 if rest.strip() else 0
        if dim is None:
            dim = width
        if width != dim:
            raise EmbedlabError(
                f"{source}:{number}: row has {width} values, expected {dim}; the file is truncated or corrupt"
            )
        rows += 1
        try:
            token = word.decode("utf-8")
        except UnicodeDecodeError:
            token = word.decode("latin-1")
        if token in wanted and token not in found:
            try:
                row = np.array(rest.split(), dtype=np.float32)
            except (ValueError, OverflowError):
                raise EmbedlabError(f"{source}:{number}: row for {token!r} has a value that is not a number") from None
            if not np.all(np.isfinite(row)):
                raise EmbedlabError(
                    f"{source}:{number}: row for {token!r} has a NaN or infinite value (or one beyond float32); "
                    "fix or re-export the file"
                )
            found[token] = row
    if dim is None or rows == 0:
        raise EmbedlabError(f"{source} holds no vectors")
    if fmt != "glove":
        expected = _header(source)[0]
        if rows != expected:
            what = "it is truncated" if rows < expected else "fix the header's count or the file"
            raise EmbedlabError(f"{source}: header says {expected} vectors but the file has {rows}; {what}")
    return found, dim


def check_fasttext_bin(source: VectorSource) -> None:
    """Walk a fastText .bin's header, dictionary and matrix sizes within the file's length before gensim reads it.

    gensim's loader reads a word until a NUL byte and never stops at the end of the file, so a truncated .bin made
    it spin forever at 100% CPU; random bytes and pickles reached it too. This reads only offsets and small fields
    (memory-mapped), every one checked against the file size, so a bad file fails in well under a second.
    """
    import mmap
    import struct

    path = source.path
    size = path.stat().st_size

    def bad(what: str) -> EmbedlabError:
        return EmbedlabError(f"{source}: not a complete fastText .bin ({what}); download or export it again")

    with open(path, "rb") as handle:
        if handle.read(1) == b"\x80":
            raise EmbedlabError(
                f"{source}: a Python pickle, not a fastText .bin; give vectors fastText or gensim wrote"
            )
    if size < 56:
        raise bad(f"{size} bytes, shorter than its header")
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        new = data[:4] == FASTTEXT_MAGIC  # fastText >= 0.2; older files start with the dimension
        dim, model = (
            struct.unpack_from("<i", data, 8 if new else 0)[0],
            struct.unpack_from("<i", data, 36 if new else 28)[0],
        )
        if not 0 < dim <= 100_000 or not 1 <= model <= 3:
            raise bad(f"dimension {dim} and model type {model} in its header")
        pos = 64 if new else 56
        if pos + (28 if new else 20) > size:
            raise bad("the file ends inside its dictionary header")
        entries, _, labels = struct.unpack_from("<3i", data, pos)
        prune = struct.unpack_from("<q", data, pos + 20)[0] if new else 0
        pos += 28 if new else 20
        if model == 3 or labels > 0:
            raise EmbedlabError(
                f"{source}: a supervised fastText model (classifier); give unsupervised vectors (cbow or skipgram)"
            )
        if entries < 0:
            raise bad(f"{entries} dictionary entries")
        for _ in range(entries):
            end = data.find(b"\0", pos)
            if end < 0 or end + 10 > size:
                raise bad("the file ends inside its dictionary")
            pos = end + 10  # NUL, int64 count, int8 type
        pos += 8 * max(prune, 0) + (1 if new else 0)  # pruned ids; the quantization flag
        if pos + 16 > size:
            raise bad("the file ends before its vectors")
        if new and data[pos - 1]:
            raise EmbedlabError(f"{source}: a quantized fastText model (.ftz); give the full .bin")
        rows, cols = struct.unpack_from("<2q", data, pos)
        if rows < 0 or cols != dim or pos + 16 + 4 * rows * cols > size:
            raise bad(f"its matrix of {rows} x {cols} floats does not fit in {size} bytes")


def read_with_gensim(source: VectorSource, wanted: set[str], fmt: str) -> tuple[dict[str, np.ndarray], int, set[str]]:
    """word2vec binary and fastText .bin through gensim; .bin also fills unseen words from subwords."""
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import load_facebook_vectors

    if source.member:
        raise EmbedlabError(f"{source}: binary vectors inside a zip are not supported; extract the file first")
    try:
        if fmt == "fasttext_bin":
            check_fasttext_bin(source)
            kv = load_facebook_vectors(str(source.path))
        else:
            kv = KeyedVectors.load_word2vec_format(str(source.path), binary=True)
    except (EOFError, ValueError, OSError, AssertionError, UnicodeDecodeError, NotImplementedError) as exc:
        raise EmbedlabError(f"{source}: cannot read as {fmt} ({exc}); the file is truncated or corrupt") from None
    found = {w: kv.get_vector(w).astype(np.float32) for w in wanted if w in kv.key_to_index}
    broken = next((w for w, row in found.items() if not np.all(np.isfinite(row))), None)
    if broken is not None:
        raise EmbedlabError(
            f"{source}: the vector of {broken!r} has a NaN or infinite value; fix or re-export the file"
        )
    subword: set[str] = set()
    if fmt == "fasttext_bin":
        for word in wanted - found.keys():
            vector = kv.get_vector(word)  # the sum of its character n-gram vectors
            if np.any(vector):
                found[word] = vector.astype(np.float32)
                subword.add(word)
    return found, int(kv.vector_size), subword


def _cache_file(cache_dir: Path, source: VectorSource, fmt: str, vocab: Vocabulary) -> Path:
    key = hashlib.sha256(f"{CACHE_VERSION}|{source.identity()}|{fmt}|{vocab.fingerprint()}".encode()).hexdigest()
    return Path(cache_dir) / "vectors" / f"{source.path.name}-{key[:20]}.npz"


def _read_cache(cached: Path, source: VectorSource, fmt: str) -> PretrainedVectors | None:
    """A cached restricted load; a corrupt entry is named, discarded and rebuilt (None)."""
    try:
        with np.load(cached, allow_pickle=False) as data:
            return PretrainedVectors(
                tuple(data["words"].tolist()),
                data["matrix"],
                tuple(data["subword"].tolist()),
                str(source),
                fmt,
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("discarding the corrupt cache entry %s (%s); reading the vector file again", cached, exc)
        cached.unlink(missing_ok=True)
        return None


def load_pretrained(
    source: VectorSource,
    vocab: Vocabulary,
    fmt: str = "auto",
    expected_dim: int | None = None,
    cache_dir: Path | None = None,
) -> PretrainedVectors:
    """Vectors for the vocabulary's words; the first call parses the file, later ones read a small cache."""
    if not source.path.exists():
        raise EmbedlabError(f"vector file {source.path} does not exist; set embedding.path to your file")
    if fmt not in FORMATS:
        raise EmbedlabError(f"embedding.format={fmt!r} is not known; use one of {', '.join(FORMATS)}")
    if source.path.is_dir():
        if fmt == "auto" and ((source.path / "model2vec").is_dir() or (source.path / "tokenizer.json").exists()):
            fmt = "model2vec"
        if fmt != "model2vec":
            raise EmbedlabError(
                f"{source.path} is a folder; set embedding.path to a vector file in it (or to a Model2Vec folder "
                "with embedding.format=model2vec)"
            )
    elif fmt == "model2vec":
        raise EmbedlabError(f"{source.path}: embedding.format=model2vec needs a Model2Vec folder, not a file")
    fmt = detect_format(source) if fmt == "auto" else fmt
    fmt = {"fasttext_vec": "word2vec_text"}.get(fmt, fmt)
    cached = _cache_file(cache_dir, source, fmt, vocab) if cache_dir else None
    started = time.perf_counter()
    loaded = _read_cache(cached, source, fmt) if cached and cached.exists() else None
    if loaded is not None:
        log.info("vectors from cache %s in %.2fs", cached.name, time.perf_counter() - started)  # type: ignore[union-attr]
    else:
        wanted = set(vocab.words[FIRST_WORD:])
        if fmt == "model2vec":
            found, dim, subword = read_model2vec(source.path, wanted)
        elif fmt in ("word2vec_bin", "fasttext_bin"):
            found, dim, subword = read_with_gensim(source, wanted, fmt)
        else:
            (found, dim), subword = read_text(source, wanted, fmt), set()
        words = tuple(w for w in vocab.words if w in found)
        matrix = np.stack([found[w] for w in words]) if words else np.zeros((0, dim), np.float32)
        loaded = PretrainedVectors(words, matrix, tuple(w in subword for w in words), str(source), fmt)
        log.info("parsed %s (%s, %d dims) in %.1fs", source, fmt, dim, time.perf_counter() - started)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            arrays = {"words": np.array(words, dtype=str), "matrix": matrix, "subword": np.array(loaded.from_subwords)}
            atomic_write(cached, lambda tmp: np.savez(tmp, **arrays), suffix=".tmp.npz")
    if expected_dim is not None and loaded.dim != expected_dim:
        raise EmbedlabError(
            f"{source} has {loaded.dim}-dimensional vectors but embedding.dim={expected_dim}; "
            f"set embedding.dim={loaded.dim} or use the file with {expected_dim} dimensions"
        )
    if not loaded.words:
        raise EmbedlabError(f"{source} has none of the task's {len(vocab) - 2} words; is it the right file?")
    return loaded


@dataclass(frozen=True)
class Coverage:
    types: float
    tokens: float
    found: int
    missing: int
    from_subwords: int

    def as_dict(self) -> dict[str, float]:
        return {
            "coverage_types": self.types,
            "coverage_tokens": self.tokens,
            "vocab_found": self.found,
            "vocab_missing": self.missing,
            "vocab_from_subwords": self.from_subwords,
        }


OOV_INITS = tuple(OovInit)


def build_matrix(
    vocab: Vocabulary, vectors: PretrainedVectors, oov_init: str, seed: int, scale_std: float | None = None
) -> tuple[np.ndarray, Coverage, np.ndarray]:
    """Row i is the vector of vocabulary word i; padding is zeros; words the file lacks (and <unk>) are random.

    `uniform_matched` draws U(-a, a) with a = sqrt(3 * var) so the random rows have the pretrained rows'
    variance (Kim 2014); `normal_matched` draws N(0, std) with the pretrained std; `zeros` leaves them zero.
    With `scale_std`, the whole table is then multiplied so the pretrained rows have that standard deviation
    (cosines, neighbours and the random rows' match are unchanged; only the scale the optimiser sees moves).
    Also returns which rows got a random vector (the <unk> row and every word the file lacks).
    """
    if oov_init not in OOV_INITS:
        raise EmbedlabError(f"embedding.oov_init={oov_init!r} is not known; use one of {', '.join(OOV_INITS)}")
    rng = np.random.default_rng(seed)
    std = float(vectors.matrix.std()) or 1e-3
    shape = (len(vocab), vectors.dim)
    if oov_init == "uniform_matched":
        limit = np.sqrt(3.0) * std
        matrix = rng.uniform(-limit, limit, size=shape).astype(np.float32)
    elif oov_init == "normal_matched":
        matrix = rng.normal(0.0, std, size=shape).astype(np.float32)
    else:
        matrix = np.zeros(shape, dtype=np.float32)
    rows = np.fromiter((vocab.index(w) for w in vectors.words), dtype=np.int64, count=len(vectors.words))
    matrix[rows] = vectors.matrix
    matrix[PAD_ID] = 0.0
    if scale_std is not None:
        if scale_std <= 0:
            raise EmbedlabError(f"embedding.scale_std={scale_std} must be positive (or null to keep the file's scale)")
        matrix *= np.float32(scale_std / std)
    counts = np.asarray(vocab.counts, dtype=np.float64)
    hit = np.zeros(len(vocab), dtype=bool)
    hit[rows] = True
    real = slice(FIRST_WORD, None)  # padding and <unk> are not words
    coverage = Coverage(
        types=float(hit[real].mean()) if len(vocab) > 2 else 0.0,
        tokens=float(counts[real][hit[real]].sum() / max(counts[real].sum(), 1.0)),
        found=int(hit[real].sum()),
        missing=int((~hit[real]).sum()),
        from_subwords=int(sum(vectors.from_subwords)),
    )
    missing = ~hit
    missing[PAD_ID] = False
    return matrix, coverage, missing
