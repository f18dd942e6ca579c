"""Train word2vec, GloVe and fastText on one corpus with one tokenizer, cached by everything that shapes them.

embedlab pretrain pretrain=glove corpus=imdb_unsup pretrain.dim=100
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
import numpy as np
from omegaconf import DictConfig

from embedlab.core.config import CONFIG_DIR, typed
from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import whole_folder
from embedlab.core.resources import peak_memory_mb
from embedlab.data.text import Tokenizer
from embedlab.vectors.corpora import LineCorpus, TaskText, TokenizedCorpus, cached_corpus, tokenized_corpus
from embedlab.vectors.space import keyed_vectors

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Corpus as CorpusConfig
    from embedlab.core.schema import Pretrain

log = logging.getLogger(__name__)

ALGORITHMS = ("word2vec", "fasttext", "glove")
MODEL_VERSION = "v1"
VECTORS_FILE = "vectors.w2v.bin"
FASTTEXT_FILE = "model.bin"
REPORT_FILE = "pretrain.json"


@dataclass(frozen=True)
class Pretrained:
    """A cached pretrained model: its folder, the file to load for tasks (and its format), and its report."""

    folder: Path
    vectors: Path
    fmt: str
    report: dict[str, Any]


def _check(cfg: Pretrain) -> None:
    """The algorithm is a name; the numbers' ranges are the schema's (a Pretrain outside them is never made)."""
    if cfg.algorithm not in ALGORITHMS:
        raise EmbedlabError(f"pretrain.algorithm={cfg.algorithm!r} is not known; use one of {ALGORITHMS}")


def model_key(corpus: TokenizedCorpus, cfg: Pretrain) -> str:
    """Changes with the corpus contents, the tokenizer (inside corpus.key) and every hyperparameter."""
    params = json.dumps({k: v for k, v in sorted(dataclasses.asdict(cfg).items()) if k != "workers"}, sort_keys=True)
    return hashlib.sha256(f"{MODEL_VERSION}|{corpus.key}|{params}".encode()).hexdigest()[:20]


def _count_words(corpus: TokenizedCorpus) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tokens in LineCorpus(corpus.path):
        counts.update(tokens)
    return counts


def _keyed_vectors(words: list[str], vectors: np.ndarray, counts: Counter[str]) -> Any:
    """KeyedVectors sorted by corpus frequency, so analogy evaluation can restrict to the top words."""
    order = sorted(range(len(words)), key=lambda i: (-counts[words[i]], words[i]))
    return keyed_vectors([words[i] for i in order], vectors[order], [counts[words[i]] for i in order])


def train_word2vec(corpus: TokenizedCorpus, cfg: Pretrain, out: Path) -> Any:
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochLog(CallbackAny2Vec):
        def __init__(self) -> None:
            self.epoch, self.started = 0, time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            self.epoch += 1
            seconds = time.perf_counter() - self.started
            log.info("word2vec epoch %d/%d, %.0f words/s", self.epoch, cfg.epochs, corpus.tokens * self.epoch / seconds)

    model = Word2Vec(
        corpus_file=str(corpus.path),
        vector_size=cfg.dim,
        window=cfg.window,
        min_count=cfg.min_count,
        epochs=cfg.epochs,
        workers=cfg.workers,
        seed=cfg.seed,
        sg=1 if cfg.architecture == "skipgram" else 0,
        negative=cfg.negative,
        sample=cfg.sample,
        callbacks=[EpochLog()],
    )
    return model.wv


def train_fasttext(corpus: TokenizedCorpus, cfg: Pretrain, out: Path) -> Any:
    import fasttext

    model = fasttext.train_unsupervised(
        input=str(corpus.path),
        model=str(cfg.architecture),
        dim=cfg.dim,
        ws=cfg.window,
        minCount=cfg.min_count,
        epoch=cfg.epochs,
        thread=cfg.workers,
        minn=cfg.minn,
        maxn=cfg.maxn,
        neg=cfg.negative,
        t=cfg.sample,
        lr=cfg.learning_rate,
        verbose=2,  # fasttext 0.9 takes no seed (fixed internally)
    )
    saving = time.perf_counter()  # writing the .bin (all subword buckets) is not training: timed apart
    model.save_model(str(out / FASTTEXT_FILE))
    words = model.get_words()
    vectors = np.stack([model.get_word_vector(w) for w in words])
    counts = Counter(dict(zip(words, model.get_words(include_freq=True)[1].tolist(), strict=True)))
    kv = _keyed_vectors(words, vectors, counts)
    kv.save_seconds = time.perf_counter() - saving
    return kv


def train_glove(corpus: TokenizedCorpus, cfg: Pretrain, out: Path) -> Any:
    from glove import Corpus, Glove

    counts = _count_words(corpus)
    kept = [w for w, c in counts.most_common() if c >= cfg.min_count]
    if not kept:
        raise EmbedlabError(f"no word occurs min_count={cfg.min_count} times in the corpus; lower pretrain.min_count")
    started = time.perf_counter()
    cooc = Corpus(dictionary={w: i for i, w in enumerate(kept)})  # min_count applied before counting
    cooc.fit(LineCorpus(corpus.path), window=cfg.window, ignore_missing=True)
    log.info(
        "glove co-occurrences: %d words, %d non-zero pairs in %.1fs",
        len(kept),
        cooc.matrix.nnz,
        time.perf_counter() - started,
    )
    model = Glove(
        no_components=cfg.dim,
        learning_rate=cfg.learning_rate,
        alpha=cfg.alpha,
        max_count=cfg.x_max,
        random_state=cfg.seed,
    )
    model.fit(cooc.matrix, epochs=cfg.epochs, no_threads=cfg.workers, verbose=True)
    return _keyed_vectors(kept, np.asarray(model.word_vectors), counts)


TRAINERS = {"word2vec": train_word2vec, "fasttext": train_fasttext, "glove": train_glove}


def train_into(folder: Path, corpus: TokenizedCorpus, cfg: Pretrain, corpus_cfg: CorpusConfig) -> dict[str, Any]:
    from embedlab.vectors.intrinsic import intrinsic_scores  # lazy: +1.6 s at import

    if corpus.tokens < cfg.min_count:
        raise EmbedlabError(
            f"corpus {corpus_cfg.name} has {corpus.tokens} tokens, fewer than pretrain.min_count={cfg.min_count}"
        )
    started = time.perf_counter()
    kv = TRAINERS[cfg.algorithm](corpus, cfg, folder)
    save_seconds = float(getattr(kv, "save_seconds", 0.0))
    seconds = time.perf_counter() - started - save_seconds
    if len(kv) == 0:
        raise EmbedlabError(f"no word occurs min_count={cfg.min_count} times in the corpus; lower pretrain.min_count")
    kv.save_word2vec_format(str(folder / VECTORS_FILE), binary=True)
    log.info("%s trained in %.1fs; scoring WordSim-353, SimLex-999 and analogies", cfg.algorithm, seconds)
    report = {
        "algorithm": cfg.algorithm,
        "params": dataclasses.asdict(cfg),
        "corpus": corpus_cfg.name,
        "corpus_task_train": corpus_cfg.task_train,  # the run's training split appended
        "corpus_key": corpus.key,
        "corpus_documents": corpus.documents,
        "corpus_tokens": corpus.tokens,
        "vocab_size": len(kv),
        "train_seconds": round(seconds, 2),
        "save_seconds": round(save_seconds, 2),  # fastText's .bin and vectors export, outside train_seconds
        "words_per_second": round(corpus.tokens * cfg.epochs / seconds),
        "peak_rss_mb": round(peak_memory_mb()),
        **intrinsic_scores(kv),
    }
    (folder / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


def _model_folder(corpus: TokenizedCorpus, corpus_cfg: CorpusConfig, pretrain_cfg: Pretrain, cache_dir: Path) -> Path:
    key = model_key(corpus, pretrain_cfg)
    return Path(cache_dir) / "pretrained" / f"{pretrain_cfg.algorithm}-{corpus_cfg.name}-{key}"


def _pretrained(folder: Path, algorithm: str) -> Pretrained:
    report = json.loads((folder / REPORT_FILE).read_text())
    if algorithm == "fasttext":
        return Pretrained(folder, folder / FASTTEXT_FILE, "fasttext_bin", report)
    return Pretrained(folder, folder / VECTORS_FILE, "word2vec_bin", report)


def find_pretrained(
    corpus_cfg: CorpusConfig,
    pretrain_cfg: Pretrain,
    data_dir: Path,
    cache_dir: Path,
    task_text: TaskText | None = None,
) -> Pretrained | None:
    """The cached model for these settings if it was trained already; never trains (for reference spaces)."""
    _check(pretrain_cfg)
    if corpus_cfg.task_train and task_text is None:
        return None
    corpus = cached_corpus(corpus_cfg, Tokenizer.like(corpus_cfg.tokenizer), data_dir, cache_dir, task_text)
    if corpus is None:
        return None
    folder = _model_folder(corpus, corpus_cfg, pretrain_cfg, cache_dir)
    return _pretrained(folder, pretrain_cfg.algorithm) if (folder / REPORT_FILE).exists() else None


def ensure_pretrained(
    corpus_cfg: CorpusConfig,
    pretrain_cfg: Pretrain,
    data_dir: Path,
    cache_dir: Path,
    task_text: TaskText | None = None,
) -> Pretrained:
    """The cached model for these settings, training it first if needed; concurrent callers train it once.
    task_text: the run's tokenized training split, for a corpus with task_train."""
    _check(pretrain_cfg)
    corpus = tokenized_corpus(corpus_cfg, Tokenizer.like(corpus_cfg.tokenizer), data_dir, cache_dir, task_text)
    folder = _model_folder(corpus, corpus_cfg, pretrain_cfg, cache_dir)
    if not whole_folder(folder, REPORT_FILE, lambda tmp: train_into(tmp, corpus, pretrain_cfg, corpus_cfg)):
        log.info("pretrained %s from cache %s", pretrain_cfg.algorithm, folder.name)
    return _pretrained(folder, pretrain_cfg.algorithm)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="pretraining")
def main(cfg: DictConfig) -> None:
    logging.getLogger("gensim").setLevel(logging.INFO)
    try:
        corpus_cfg, pretrain_cfg = typed(cfg.corpus), typed(cfg.pretrain)  # a value out of its range stops here
        model = ensure_pretrained(corpus_cfg, pretrain_cfg, Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir))
    except EmbedlabError as exc:
        log.error("%s", exc)
        print_error(exc)
        sys.exit(2)
    out = Path(cfg.paths.output_dir)
    (out / REPORT_FILE).write_text(json.dumps({**model.report, "cache_folder": str(model.folder)}, indent=2) + "\n")
    summary = {
        k: model.report[k]
        for k in (
            "corpus_tokens",
            "vocab_size",
            "train_seconds",
            "words_per_second",
            "wordsim353_spearman",
            "simlex999_spearman",
            "analogy_accuracy",
        )
    }
    print(json.dumps({"algorithm": model.report["algorithm"], **summary, "vectors": str(model.vectors)}, indent=2))
