"""Pretraining throughput: embedlab's pretrainers vs calling gensim Word2Vec and fasttext directly.

Both sides train on the same tokenized corpus file with the same parameters (epochs reduced with --epochs
to keep the run short; throughput per epoch does not depend on it). Usage:
    python benchmarks/pretrain_overhead.py --corpus imdb_unsup --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from embedlab.core.config import compose, typed
from embedlab.data.text import Tokenizer
from embedlab.vectors.corpora import tokenized_corpus
from embedlab.vectors.pretrain import ensure_pretrained


def direct_word2vec(path: Path, p: Any) -> float:
    from gensim.models import Word2Vec

    started = time.perf_counter()
    Word2Vec(
        corpus_file=str(path),
        vector_size=p.dim,
        window=p.window,
        min_count=p.min_count,
        epochs=p.epochs,
        workers=p.workers,
        seed=p.seed,
        sg=int(p.architecture == "skipgram"),
        negative=p.negative,
        sample=p.sample,
    )
    return time.perf_counter() - started


def direct_fasttext(path: Path, p: Any) -> float:
    import fasttext

    started = time.perf_counter()
    fasttext.train_unsupervised(
        input=str(path),
        model=str(p.architecture),
        dim=p.dim,
        ws=p.window,
        minCount=p.min_count,
        epoch=p.epochs,
        thread=p.workers,
        minn=p.minn,
        maxn=p.maxn,
        neg=p.negative,
        t=p.sample,
        lr=p.learning_rate,
        verbose=0,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="imdb_unsup")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--algorithms", nargs="+", default=["word2vec", "fasttext"])
    parser.add_argument("--out", type=Path, default=Path("results/bench/pretrain_overhead.json"))
    args = parser.parse_args()
    rows = []
    for algorithm in args.algorithms:
        cfg = compose(
            [
                f"pretrain={algorithm}",
                f"corpus={args.corpus}",
                f"pretrain.epochs={args.epochs}",
                f"pretrain.seed={int(time.time())}",
            ]
        )  # a fresh cache key: the harness really trains
        corpus_cfg, params = typed(cfg.corpus), typed(cfg.pretrain)
        data_dir, cache_dir = Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir)
        corpus = tokenized_corpus(corpus_cfg, Tokenizer.like(corpus_cfg.tokenizer), data_dir, cache_dir)
        harness = ensure_pretrained(corpus_cfg, params, data_dir, cache_dir).report["train_seconds"]
        direct = (direct_word2vec if algorithm == "word2vec" else direct_fasttext)(corpus.path, params)
        words = corpus.tokens * args.epochs
        rows.append(
            {
                "algorithm": algorithm,
                "tokens": words,
                "harness_seconds": harness,
                "direct_seconds": direct,
                "harness_words_per_s": words / harness,
                "direct_words_per_s": words / direct,
                "overhead": harness / direct - 1,
            }
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print("| algorithm | harness words/s | direct words/s | overhead |\n|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['algorithm']} | {r['harness_words_per_s']:.0f} | {r['direct_words_per_s']:.0f} "
            f"| {100 * r['overhead']:+.1f}% |"
        )


if __name__ == "__main__":
    main()
