"""Loading pretrained vectors: gensim's whole-file load vs embedlab's vocabulary-restricted load vs its cache.

Each measurement runs in a fresh process so peak resident memory is its own. Prints a markdown table and
writes JSON. Usage:
    python benchmarks/load_vectors.py --vectors $EMBEDLAB_DATA_DIR/glove/glove.6B.100d.top100k.txt.gz --task sst2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, vocab_file, cache_dir = sys.argv[1:5]
started = time.perf_counter()
if mode == "gensim":
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    n = len(kv)
else:
    from embedlab.data.text import Vocabulary
    from embedlab.vectors.files import VectorSource, load_pretrained
    words = Path(vocab_file).read_text().split("\n")
    vocab = Vocabulary(tuple(words), tuple([0, 0] + [1] * (len(words) - 2)))
    n = len(load_pretrained(VectorSource(Path(path)), vocab, "glove", None, Path(cache_dir)).words)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries the spawning process's high-water mark into ru_maxrss across fork and exec
peak_mb = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "words": n}))
"""


def measure(mode: str, vectors: Path, vocab_file: Path, cache_dir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(vectors), str(vocab_file), str(cache_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def task_data(task: str, seed: int = 0) -> tuple:
    """A task's prepared splits and its tokenizer, as a run of that task with this seed gets them."""
    from embedlab.core.config import compose, typed
    from embedlab.data.datasets import load_raw
    from embedlab.data.splits import prepare
    from embedlab.data.text import Tokenizer

    cfg = compose([f"task={task}"])
    task_cfg = typed(cfg.task)
    data = prepare(load_raw(task_cfg, Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir)), task_cfg, seed)
    return data, Tokenizer.like(task_cfg.tokenizer)


def task_vocabulary(task: str) -> list[str]:
    from embedlab.data.text import Vocabulary

    data, tokenizer = task_data(task)
    return list(Vocabulary.build(tokenizer(t) for t in data.train.texts).words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, required=True)
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench/load_vectors.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text("\n".join(task_vocabulary(args.task)))
        results: dict[str, list[dict]] = {"gensim_full": [], "embedlab_first": [], "embedlab_cached": []}
        for i in range(args.repeats):
            cache = Path(tmp) / f"cache{i}"
            results["gensim_full"].append(measure("gensim", args.vectors, vocab_file, cache))
            results["embedlab_first"].append(measure("embedlab", args.vectors, vocab_file, cache))
            results["embedlab_cached"].append(measure("embedlab", args.vectors, vocab_file, cache))
    summary = {
        name: {
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "min_seconds": min(r["seconds"] for r in runs),
            "max_seconds": max(r["seconds"] for r in runs),
            "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "words": runs[0]["words"],
        }
        for name, runs in results.items()
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"vectors": str(args.vectors), "task": args.task, "results": summary}, indent=2))
    print(f"| load ({args.vectors.name}, {args.task} vocabulary) | median s | range s | peak RSS MB | words |")
    print("|---|---|---|---|---|")
    for name, s in summary.items():
        print(
            f"| {name} | {s['median_seconds']:.3f} | {s['min_seconds']:.3f}-{s['max_seconds']:.3f} "
            f"| {s['median_peak_rss_mb']:.0f} | {s['words']} |"
        )
    base = summary["gensim_full"]["median_seconds"]
    print(f"\nrestricted first load is {base / summary['embedlab_first']['median_seconds']:.1f}x faster than gensim")


if __name__ == "__main__":
    main()
