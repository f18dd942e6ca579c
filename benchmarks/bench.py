"""make bench: embedlab side by side with what users would use instead, in one process run.

Writes results/bench/bench.json and bench.md (+ scaling.png). Ratios matter more than seconds on a shared machine;
each timing is repeated (--repeats, median and range recorded) unless a section says otherwise. Sections:

  load       pretrained vectors: gensim whole file vs embedlab's first restricted load vs its cache (synthetic
             400,000 x 300 GloVe file of ~1 GB, and the real GloVe 6B 100d top-100k file; 20,000-word vocabulary)
  fasttext   fastText supervised (default settings, then with GloVe 6B vectors) vs embedlab avg and cnn
  pretrain   pretraining words/s: embedlab vs gensim Word2Vec / fasttext.train_unsupervised on the same corpus
  throughput CNN examples/s on SST-2 as shipped and with each speed option (jit_compile, larger batches)
  sweep      the same 8-run grid one after another and through the joblib launcher at 2 jobs, and the bound on
             that speed-up: one run's examples/s on 1 thread against all cores
  scaling    avg model on IMDB: time and peak memory against training-set size and vocabulary size
  transformers  vectors distilled from all-MiniLM-L6-v2 for SST-2's vocabulary (first, then cached) and the
             sentence-encoder baseline on SST-2 (first, then with cached embeddings), against one scratch CNN run and
             tf-idf + LR on the same splits in the same bench (needs the transformers extra)

    python benchmarks/bench.py [--only load fasttext ...] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
SECTIONS = ["speed", "load", "fasttext", "pretrain", "throughput", "sweep", "scaling", "transformers"]
BASELINE = "b7caa65"  # main before the training speed work (issue 13): the "before" that `speed` measures against
QUIET = ["analysis.enabled=false", "tracking.mlflow=false", "tracking.tensorboard=false"]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


HWM_WRAPPER = r"""
import atexit, runpy, sys
out = sys.argv.pop(1)
def report():
    with open(out, "w") as handle:
        handle.write(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
atexit.register(report)
if sys.argv[1] == "-m":
    sys.argv = sys.argv[2:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    code = sys.argv.pop(2)
    sys.argv = sys.argv[1:]
    exec(compile(code, "<child>", "exec"), {"__name__": "__main__"})
"""


def child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `python -m module ...` or `python -c code ...`: wall seconds, its own peak resident memory (MB) and stdout.

    The peak is the child's VmHWM, written at its exit: ru_maxrss from wait4 would carry this (larger) process's
    high-water mark, which Linux copies into a child across fork and exec.
    """
    assert cmd[0] == sys.executable and cmd[1] in ("-m", "-c"), cmd
    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", HWM_WRAPPER, str(hwm), *cmd[1:]], env=env, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:6])}... failed: {process.stderr[-2000:]}")
        return seconds, int(hwm.read_text()) / 1024, process.stdout


def run_env(results: Path, code: Path | None) -> dict[str, str]:
    """The environment of an embedlab child writing below `results`; with `code`, that checkout's src/, configs
    and presets instead of this one's."""
    env = {**os.environ, "EMBEDLAB_RESULTS_DIR": str(results), "TF_CPP_MIN_LOG_LEVEL": "2"}
    if code is not None:
        env.update(
            PYTHONPATH=str(code / "src"),
            EMBEDLAB_ROOT=str(code),
            EMBEDLAB_EXPERIMENTS_DIR=str(
                next(d for d in (code / "src/embedlab/experiments", code / "experiments") if d.is_dir())
            ),
        )
    return env


def embedlab_run(
    overrides: list[str], results: Path, code: Path | None = None, cache: Path | None = None
) -> tuple[dict[str, Any], float, float]:
    """One `python -m embedlab.run` into its own folder: metrics, process wall seconds, peak MB.

    code: a checkout of another commit whose src/, configs and presets the run uses instead of this one's;
    cache: a cache folder of its own (a cold start) instead of the user's.
    """
    run_dir = results / f"run-{time.time_ns()}"
    cmd = [sys.executable, "-m", "embedlab.run", *overrides, *QUIET, f"hydra.run.dir={run_dir}"]
    env = run_env(results, code)
    if cache is not None:
        env["EMBEDLAB_CACHE_DIR"] = str(cache)
    seconds, peak, _ = child(cmd, env)
    return json.loads((run_dir / "metrics.json").read_text()), seconds, peak


# --- 1. loading pretrained vectors ---------------------------------------------------------------------------


def synthetic_glove(path: Path, words: int, dim: int, seed: int = 0) -> list[str]:
    """A GloVe-format text file of random vectors; returns its words in file order."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(words)]
    with open(path, "w") as handle:
        for start in range(0, words, 10_000):
            block = rng.normal(0, 0.4, size=(min(10_000, words - start), dim))
            lines = (
                w + " " + " ".join(f"{v:.5f}" for v in row) for w, row in zip(vocabulary[start:], block, strict=False)
            )
            handle.write("\n".join(lines) + "\n")
    return vocabulary


def file_words(path: Path) -> list[str]:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line.split(" ", 1)[0] for line in handle]


def task_vocabulary(words: list[str], size: int = 20_000, missing: int = 2_000) -> list[str]:
    """A task vocabulary: words spread over the file's frequency ranks, plus some the file lacks."""
    step = max(1, len(words) // (size - missing))
    return ["<pad>", "<unk>", *words[::step][: size - missing], *[f"oov{i}" for i in range(missing)]]


def bench_load(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from load_vectors import measure

    from embedlab.core.config import compose
    from embedlab.vectors.embeddings import glove6b_source

    real = glove6b_source(Path(compose().paths.data_dir), 100).path
    files = {"real_glove6b_100d_top100k": real}
    if not args.small:
        log("writing a synthetic 400,000 x 300 GloVe file")
        synthetic = tmp / "glove.synthetic.400k.300d.txt"
        synthetic_glove(synthetic, 400_000, 300)
        files = {"synthetic_400k_300d": synthetic, **files}
    out: dict[str, Any] = {}
    for name, path in files.items():
        vocab_file = tmp / f"{name}.vocab.txt"
        vocab_file.write_text("\n".join(task_vocabulary(file_words(path))))
        runs: dict[str, list[dict[str, float]]] = {"gensim_full": [], "embedlab_first": [], "embedlab_cached": []}
        for repeat in range(args.repeats):
            log(f"load {name}, repeat {repeat + 1}/{args.repeats}")
            cache = tmp / f"cache-{name}-{repeat}"
            runs["gensim_full"].append(measure("gensim", path, vocab_file, cache))
            runs["embedlab_first"].append(measure("embedlab", path, vocab_file, cache))
            runs["embedlab_cached"].append(measure("embedlab", path, vocab_file, cache))
        summary = {
            key: {
                "seconds": spread([r["seconds"] for r in values]),
                "peak_rss_mb": spread([r["peak_rss_mb"] for r in values]),
                "words": values[0]["words"],
            }
            for key, values in runs.items()
        }
        gensim, first = summary["gensim_full"], summary["embedlab_first"]
        summary["speedup_first_vs_gensim"] = gensim["seconds"]["median"] / first["seconds"]["median"]
        summary["memory_first_vs_gensim"] = first["peak_rss_mb"]["median"] / gensim["peak_rss_mb"]["median"]
        summary["file_mb"] = path.stat().st_size / 2**20
        out[name] = summary
    return out


# --- 2. fastText supervised vs embedlab avg / cnn -----------------------------------------------------------


def fasttext_file(path: Path, split: Any, tokenizer: Any) -> Path:
    path.write_text(
        "".join(
            f"__label__{label} {' '.join(tokenizer(text))}\n"
            for text, label in zip(split.texts, split.labels, strict=True)
        )
    )
    return path


def glove_vec_file(path: Path, words: set[str]) -> Path:
    """GloVe 6B 100d restricted to the task's words, in fastText's .vec format (header line)."""
    import gzip

    from embedlab.core.config import compose
    from embedlab.vectors.embeddings import glove6b_source

    source = glove6b_source(Path(compose().paths.data_dir), 100).path
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.split(" ", 1)[0] in words]
    path.write_text(f"{len(lines)} 100\n" + "".join(lines))
    return path


FASTTEXT_CHILD = r"""
import json, sys, time
import fasttext
train, test, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.perf_counter()
model = fasttext.train_supervised(input=train, thread=2, verbose=0, **extra)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "accuracy": model.test(test)[1]}))
"""


def bench_fasttext(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from load_vectors import task_data

    out: dict[str, Any] = {}
    for task in ("sst2", "clickbait"):
        data, tokenizer = task_data(task, seed=42)
        train = fasttext_file(tmp / f"{task}.train.txt", data.train, tokenizer)
        test = fasttext_file(tmp / f"{task}.test.txt", data.test, tokenizer)
        vocab = {w for text in data.train.texts for w in tokenizer(text)}
        vec = glove_vec_file(tmp / f"{task}.glove.vec", vocab)
        rows: dict[str, Any] = {}
        for name, extra in (
            ("fasttext_default", {}),
            ("fasttext_glove6b", {"pretrainedVectors": str(vec), "dim": 100}),
        ):
            seconds, accuracy, peaks = [], [], []
            for repeat in range(args.repeats):
                log(f"fastText supervised {task} {name}, repeat {repeat + 1}/{args.repeats}")
                # a fresh process each time: fasttext 0.9.3 trained twice in one process often stops with
                # "Encountered NaN" (8 of 8 fresh processes trained, 5 of 8 in-process repeats failed)
                _, peak, printed = child(
                    [sys.executable, "-c", FASTTEXT_CHILD, str(train), str(test), json.dumps(extra)]
                )
                result = json.loads(printed.strip().splitlines()[-1])
                seconds.append(result["seconds"])
                accuracy.append(result["accuracy"])
                peaks.append(peak)
            rows[name] = {
                "train_seconds": spread(seconds),
                "test_accuracy": spread(accuracy),
                "peak_rss_mb": spread(peaks),
                "epochs": 5,
            }
        for model in ("avg", "cnn"):
            for arm in ("scratch", "glove6b_frozen"):
                repeats = args.repeats if model == "avg" else args.cnn_repeats
                runs = []
                for repeat in range(repeats):
                    log(f"embedlab {task} {model} {arm}, repeat {repeat + 1}/{repeats}")
                    metrics, wall, peak = embedlab_run([f"task={task}", f"model={model}", f"+arm={arm}"], tmp / "runs")
                    runs.append((metrics, wall, peak))
                rows[f"embedlab_{model}_{arm}"] = {
                    "train_seconds": spread([m["train_seconds"] for m, _, _ in runs]),
                    "seconds_per_epoch": spread([m["train_seconds"] / m["epochs_run"] for m, _, _ in runs]),
                    "test_accuracy": spread([m["test_accuracy"] for m, _, _ in runs]),
                    "epochs": runs[0][0]["epochs_run"],
                    "process_seconds": spread([w for _, w, _ in runs]),
                    "peak_rss_mb": spread([p for _, _, p in runs]),
                }
        per_epoch_fasttext = rows["fasttext_default"]["train_seconds"]["median"] / 5
        rows["avg_epoch_vs_fasttext_epoch"] = (
            rows["embedlab_avg_scratch"]["seconds_per_epoch"]["median"] / per_epoch_fasttext
        )
        rows["cnn_best_minus_fasttext_best_accuracy"] = max(
            rows[f"embedlab_cnn_{a}"]["test_accuracy"]["median"] for a in ("scratch", "glove6b_frozen")
        ) - max(rows[f"fasttext_{v}"]["test_accuracy"]["median"] for v in ("default", "glove6b"))
        out[task] = rows
    return out


# --- 3. pretraining throughput -----------------------------------------------------------------------------


def bench_pretrain(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from pretrain_overhead import direct_fasttext, direct_word2vec

    from embedlab.core.config import compose, typed
    from embedlab.data.text import Tokenizer
    from embedlab.vectors.corpora import tokenized_corpus
    from embedlab.vectors.pretrain import ensure_pretrained

    cfg = compose(["corpus=imdb_unsup"])
    corpus_cfg = typed(cfg.corpus)
    data_dir, cache_dir = Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir)
    full = tokenized_corpus(corpus_cfg, Tokenizer.like(corpus_cfg.tokenizer), data_dir, cache_dir)
    subset = tmp / "corpus_subset.txt"  # the first documents of the tokenized corpus: same text, shorter runs
    with open(full.path) as source, open(subset, "w") as target:
        for i, line in enumerate(source):
            if i >= args.pretrain_docs:
                break
            target.write(line)
    out: dict[str, Any] = {"documents": args.pretrain_docs}
    for algorithm in ("word2vec", "fasttext"):
        harness, direct = [], []
        tokens = 0
        for repeat in range(args.repeats):
            log(f"pretrain {algorithm}, repeat {repeat + 1}/{args.repeats}")
            run_cfg = compose(
                [
                    f"pretrain={algorithm}",
                    "corpus=text",
                    f"corpus.path={subset}",
                    "pretrain.epochs=1",
                    f"pretrain.seed={time.time_ns() % 2**31}",  # a fresh cache key: the harness really trains
                    f"paths.cache_dir={tmp / 'pretrain-cache'}",
                ]
            )
            c, p = typed(run_cfg.corpus), typed(run_cfg.pretrain)
            corpus = tokenized_corpus(c, Tokenizer.like(c.tokenizer), data_dir, tmp / "pretrain-cache")
            tokens = corpus.tokens
            harness.append(
                corpus.tokens / ensure_pretrained(c, p, data_dir, tmp / "pretrain-cache").report["train_seconds"]
            )
            direct.append(
                corpus.tokens / (direct_word2vec if algorithm == "word2vec" else direct_fasttext)(corpus.path, p)
            )
        out[algorithm] = {
            "tokens": tokens,
            "harness_words_per_s": spread(harness),
            "direct_words_per_s": spread(direct),
            "overhead": 1 - statistics.median(harness) / statistics.median(direct),
        }
    return out


# --- 4. training throughput --------------------------------------------------------------------------------

SPEED_OPTIONS = {
    "shipped (batch 50)": [],
    "jit_compile": ["trainer.jit_compile=true"],
    "batch 100": ["trainer.batch_size=100"],
    "batch 200": ["trainer.batch_size=200"],
}


def bench_throughput(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, overrides in SPEED_OPTIONS.items():
        runs = []
        for repeat in range(args.repeats):
            log(f"CNN SST-2 throughput, {name}, repeat {repeat + 1}/{args.repeats}")
            base = ["task=sst2", "model=cnn", "trainer.epochs=3", "trainer.patience=null", f"seed={repeat + 1}"]
            runs.append(embedlab_run([*base, *overrides], tmp / "runs")[0])
        out[name] = {
            "examples_per_second": spread([m["examples_per_second"] for m in runs]),
            "test_accuracy_after_3_epochs": spread([m["test_accuracy"] for m in runs]),
        }
    shipped = out["shipped (batch 50)"]["examples_per_second"]["median"]
    for values in out.values():
        values["speedup"] = values["examples_per_second"]["median"] / shipped
    return out


# --- 4b. training speed, before and after, in one run ------------------------------------------------------


def baseline_checkout(rev: str, tmp: Path) -> Path:
    """A detached worktree of an earlier commit, so its pipeline runs beside this one's on the same machine."""
    path = tmp / f"baseline-{rev}"
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True, capture_output=True
        )
    return path


def remove_checkout(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)


def fasttext_epoch_seconds(task: str, args: argparse.Namespace, tmp: Path) -> float:
    """fastText supervised's seconds per epoch (default settings, 5 epochs), median of fresh processes."""
    from load_vectors import task_data

    data, tokenizer = task_data(task, seed=42)
    train = fasttext_file(tmp / f"{task}.speed.train.txt", data.train, tokenizer)
    test = fasttext_file(tmp / f"{task}.speed.test.txt", data.test, tokenizer)
    seconds = []
    for _ in range(args.repeats):
        _, _, printed = child([sys.executable, "-c", FASTTEXT_CHILD, str(train), str(test), "{}"])
        seconds.append(json.loads(printed.strip().splitlines()[-1])["seconds"] / 5)
    return statistics.median(seconds)


# (name, overrides, seeds): full default runs (early stopping as shipped), before and after, seeds interleaved
SPEED_RUNS = [
    ("cnn_sst2", ["task=sst2", "model=cnn"], (1, 2, 3)),
    ("avg_sst2", ["task=sst2", "model=avg"], (1, 2, 3)),
    ("avg_clickbait", ["task=clickbait", "model=avg"], (1, 2, 3)),
]
SPEED_VOCABS = (5_000, 20_000, 80_000)
WARM_GRID = ["task=sst2", "model=cnn", "+arm=scratch,glove6b_finetune", "seed=1,2"]  # as a study runs: analysis on


def run_ends(sweep_dir: Path) -> list[tuple[float, dict[str, Any]]]:
    """(when the run's last file was written, its metrics) for each finished run of a sweep, in that order."""
    ends = []
    for metrics in sweep_dir.rglob("metrics.json"):
        folder = metrics.parent
        if (folder / "config.yaml").exists():
            last = max(f.stat().st_mtime for f in folder.rglob("*") if f.is_file())
            ends.append((last, json.loads(metrics.read_text())))
    return sorted(ends, key=lambda pair: pair[0])


def outside_training(ends: list[tuple[float, dict[str, Any]]]) -> list[float]:
    """Per run after the first: the time from the previous run's last write to its own, less its training."""
    return [end - before - m["train_seconds"] for (before, _), (end, m) in zip(ends[:-1], ends[1:], strict=True)]


def warm_worker(code: Path | None, tmp: Path) -> dict[str, Any]:
    """Everything outside training per run once a sweep's worker is warm: one worker (joblib, 1 job) runs a
    4-run grid in order with analysis and tracking as in a study; the first run (imports, tracing) is left out."""
    sweep_dir = tmp / f"warm-{time.time_ns()}"
    cmd = [sys.executable, "-m", "embedlab.run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=1"]
    env = run_env(tmp / "warm-results", code)
    subprocess.run([*cmd, *WARM_GRID, f"hydra.sweep.dir={sweep_dir}"], env=env, check=True, capture_output=True)
    ends = run_ends(sweep_dir)
    return {
        "outside_training_seconds": spread(outside_training(ends)),
        "runs": len(ends),
    }  # IMDB has 71,879 words at min_count 1: the last point is all of them


def bench_speed(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Training before (BASELINE) and now, side by side: examples/s, s/epoch, accuracy over seeds, V-scaling."""
    old = baseline_checkout(args.baseline, tmp)
    versions = {"before": (old, []), "now": (None, []), "now_dense": (None, ["trainer.sparse_updates=false"])}
    out: dict[str, Any] = {"baseline": args.baseline}
    try:
        for name, overrides, seeds in SPEED_RUNS:
            rows: dict[str, list[dict[str, Any]]] = {v: [] for v in versions}
            for seed in seeds:
                for version, (code, extra) in versions.items():
                    log(f"speed: {name} seed {seed}, {version}")
                    metrics, wall, peak = embedlab_run([*overrides, *extra, f"seed={seed}"], tmp / "speed", code)
                    rows[version].append({**metrics, "process_seconds": wall, "peak_rss_mb": peak})
            out[name] = {
                version: {
                    "examples_per_second": spread([m["examples_per_second"] for m in runs]),
                    "seconds_per_epoch": spread([m["train_seconds"] / m["epochs_run"] for m in runs]),
                    "test_accuracy": spread([m["test_accuracy"] for m in runs]),
                    "test_accuracy_mean": statistics.mean(m["test_accuracy"] for m in runs),
                    "process_seconds": spread([m["process_seconds"] for m in runs]),
                    "outside_training_seconds": spread([m["process_seconds"] - m["train_seconds"] for m in runs]),
                    "peak_rss_mb": spread([m["peak_rss_mb"] for m in runs]),
                    "seeds": len(runs),
                }
                for version, runs in rows.items()
                if runs
            }
            now, before = out[name]["now"], out[name]["before"]
            out[name]["speedup"] = now["examples_per_second"]["median"] / before["examples_per_second"]["median"]
            out[name]["accuracy_change"] = now["test_accuracy_mean"] - before["test_accuracy_mean"]
        for task in ("sst2", "clickbait"):
            per_epoch = fasttext_epoch_seconds(task, args, tmp)
            row = out[f"avg_{task}"]
            row["fasttext_seconds_per_epoch"] = per_epoch
            for version in versions:
                row[version]["epoch_vs_fasttext"] = row[version]["seconds_per_epoch"]["median"] / per_epoch
        out["warm_worker"] = {}
        for version, (code, _) in list(versions.items())[:2]:
            log(f"speed: a warm sweep worker, {version}")
            out["warm_worker"][version] = warm_worker(code, tmp)
        scaling: dict[str, Any] = {v: [] for v in versions}
        for cap in SPEED_VOCABS:
            for version, (code, extra) in versions.items():
                log(f"speed: IMDB avg, vocabulary cap {cap}, {version}")
                metrics, _, _ = embedlab_run(
                    [
                        "task=imdb",
                        "model=avg",
                        "seed=1",
                        "trainer.epochs=2",
                        "trainer.patience=null",
                        "task.vocab.min_count=1",
                        f"task.vocab.max_size={cap}",
                        *extra,
                    ],
                    tmp / "speed",
                    code,
                )
                scaling[version].append(
                    {
                        "vocab_size": metrics["vocab_size"],
                        "seconds_per_epoch": metrics["train_seconds"] / 2,
                        "test_accuracy": metrics["test_accuracy"],
                    }
                )
        out["imdb_vocab"] = {
            version: {
                "points": points,
                "exponent": float(
                    np.polyfit(
                        np.log([p["vocab_size"] for p in points]), np.log([p["seconds_per_epoch"] for p in points]), 1
                    )[0]
                ),
            }
            for version, points in scaling.items()
        }
    finally:
        remove_checkout(old)
    return out


# --- 5. sweep throughput -----------------------------------------------------------------------------------


def bench_sweep(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    grid = [
        "-m",
        "experiment=seed_question",
        "task=sst2",
        "+arm=scratch,glove6b_frozen,word2vec_frozen,fasttext_finetune",
        "seed=1,2",
        "trainer.epochs=3",
        "trainer.patience=null",
        *QUIET,
    ]
    env = {**os.environ, "EMBEDLAB_RESULTS_DIR": str(tmp / "sweeps"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out: dict[str, Any] = {"runs": 8}
    for name, extra in (
        ("sequential", ["study=sequential"]),
        ("joblib_2_jobs", ["study=joblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]),
    ):
        log(f"sweep of 8 runs, {name}")
        seconds, peak, _ = child([sys.executable, "-m", "embedlab.run", *grid, *extra], env)
        out[name] = {"seconds": seconds, "peak_rss_mb_largest_process": peak}
    out["speedup"] = out["sequential"]["seconds"] / out["joblib_2_jobs"]["seconds"]
    out["ceiling"] = parallel_ceiling(args, tmp)
    return out


def parallel_ceiling(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The most two 1-thread jobs can gain on training over one run using every core, on this machine.

    One sweep run trains alone with 1 thread and with TensorFlow's default (all cores); with perfect scaling across
    processes, two 1-thread jobs train 2 x eps(1) examples/s against eps(all) for the sequential sweep. Jobs that
    share memory bandwidth and caches do worse, so this bounds the joblib speed-up on the training part.
    """
    run = ["task=sst2", "+arm=scratch", "seed=1", "trainer.epochs=3", "trainer.patience=null"]
    speeds: dict[str, list[float]] = {"1_thread": [], "all_cores": []}
    for repeat in range(args.repeats):  # interleaved, so a slow spell on a shared machine hits both
        for name, extra in (("1_thread", ["trainer.threads=1"]), ("all_cores", [])):
            log(f"parallel ceiling: one run, {name}, repeat {repeat + 1}/{args.repeats}")
            metrics, _, _ = embedlab_run([*run, *extra], tmp / "ceiling")
            speeds[name].append(metrics["examples_per_second"])
    out: dict[str, Any] = {f"examples_per_second_{k}": spread(v) for k, v in speeds.items()}
    out["cores"] = os.cpu_count()
    out["bound"] = 2 * out["examples_per_second_1_thread"]["median"] / out["examples_per_second_all_cores"]["median"]
    return out


# --- 6. scaling --------------------------------------------------------------------------------------------


def bench_scaling(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    base = ["task=imdb", "model=avg", "task.vocab.min_count=1", "seed=1"]
    points: dict[str, list[dict[str, float]]] = {"train_size": [], "vocab_size": []}
    for size in ("1000", "5000", "null"):  # null: all 22,500 (IMDB's 25,000 less the 10% dev split)
        log(f"scaling: IMDB avg, {size} training reviews")
        metrics, wall, peak = embedlab_run(
            [*base, f"task.train_size={size}", "task.vocab.max_size=50000"], tmp / "runs"
        )
        points["train_size"].append(
            {
                "x": metrics["n_train"],
                "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"],
                "process_seconds": wall,
                "peak_rss_mb": peak,
                "vocab_size": metrics["vocab_size"],
                "test_accuracy": metrics["test_accuracy"],
            }
        )
    for vocab in (10_000, 50_000, 200_000):
        log(f"scaling: IMDB avg, vocabulary capped at {vocab}")
        metrics, wall, peak = embedlab_run([*base, f"task.vocab.max_size={vocab}"], tmp / "runs")
        points["vocab_size"].append(
            {
                "x": metrics["vocab_size"],
                "cap": vocab,
                "seconds_per_epoch": metrics["train_seconds"] / metrics["epochs_run"],
                "process_seconds": wall,
                "peak_rss_mb": peak,
                "test_accuracy": metrics["test_accuracy"],
            }
        )
    out: dict[str, Any] = {"points": points, "exponents": {}}
    for axis, rows in points.items():
        x = np.log([r["x"] for r in rows])
        for measure in ("seconds_per_epoch", "peak_rss_mb"):
            out["exponents"][f"{measure}~{axis}"] = float(np.polyfit(x, np.log([r[measure] for r in rows]), 1)[0])
    return out


DISTILL_CHILD = r"""
import json, sys, time
from pathlib import Path
from embedlab.core.config import compose, typed
from embedlab.data.prepared import prepare_task
from embedlab.vectors.embeddings import distilled_source
cfg = compose(["task=sst2", "embedding=distilled", "task.vocab.eval_words=true"])
cache = Path(sys.argv[1])
task = prepare_task(typed(cfg.task), Path(cfg.paths.data_dir), cache, 1)
started = time.perf_counter()
source, report = distilled_source(typed(cfg.embedding), task.vocab, cache)
print(json.dumps({"seconds": time.perf_counter() - started, "vocab": len(task.vocab), **report}))
"""


def bench_transformers(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Distillation and the encoder baseline on SST-2, cold and cached, beside a scratch CNN and tf-idf + LR."""
    cache = tmp / "transformers-cache"
    out: dict[str, Any] = {}
    for phase in ("first", "cached"):
        log(f"distilling all-MiniLM-L6-v2 for SST-2 ({phase})")
        wall, peak, printed = child([sys.executable, "-c", DISTILL_CHILD, str(cache)])
        result = json.loads(printed.strip().splitlines()[-1])
        out[f"distill_{phase}"] = {"seconds": result["seconds"], "process_seconds": wall, "peak_rss_mb": peak}
        out["distill_report"] = {k: result[k] for k in ("vocab", "vocabulary", "task_words", "pca_dims")}
    for name, arm, own_cache in (
        ("cnn_scratch", "scratch", None),
        ("tfidf_lr", "baseline_tfidf_lr", None),
        ("encoder_first", "baseline_sentence_encoder", cache),
        ("encoder_cached", "baseline_sentence_encoder", cache),
    ):
        log(f"embedlab SST-2 {arm}")
        metrics, wall, peak = embedlab_run(["task=sst2", f"+arm={arm}", "seed=1"], tmp / "runs", cache=own_cache)
        out[name] = {
            "test_accuracy": metrics["test_accuracy"],
            "train_seconds": metrics["train_seconds"],
            "process_seconds": wall,
            "peak_rss_mb": peak,
        }
    cnn = out["cnn_scratch"]["process_seconds"]
    out["distill_first_vs_cnn_run"] = out["distill_first"]["seconds"] / cnn
    out["encoder_first_vs_tfidf"] = out["encoder_first"]["process_seconds"] / out["tfidf_lr"]["process_seconds"]
    out["encoder_cached_vs_first"] = out["encoder_cached"]["train_seconds"] / out["encoder_first"]["train_seconds"]
    return out


def plot_scaling(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (axis, rows) in zip(axes, result["points"].items(), strict=True):
        x = [r["x"] for r in rows]
        for measure, marker in (("seconds_per_epoch", "o"), ("peak_rss_mb", "s")):
            k = result["exponents"][f"{measure}~{axis}"]
            ax.loglog(x, [r[measure] for r in rows], marker=marker, label=f"{measure} (exponent {k:.2f})")
        ax.set_xlabel(axis.replace("_", " ") + " (log)")
        ax.set_title(f"IMDB avg model vs {axis.replace('_', ' ')}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# embedlab benchmarks ({report['date']}, {report['machine']})", ""]
    r = report["results"]
    if "load" in r:
        lines += [
            "## Loading pretrained vectors (20,000-word vocabulary)",
            "",
            "| file | gensim whole file s / MB | embedlab first s / MB | cached s | first vs gensim |",
            "|---|---|---|---|---|",
        ]
        for name, s in r["load"].items():
            lines.append(
                f"| {name} ({s['file_mb']:.0f} MB) | {s['gensim_full']['seconds']['median']:.2f} / {s['gensim_full']['peak_rss_mb']['median']:.0f} "
                f"| {s['embedlab_first']['seconds']['median']:.2f} / {s['embedlab_first']['peak_rss_mb']['median']:.0f} "
                f"| {s['embedlab_cached']['seconds']['median']:.3f} | {s['speedup_first_vs_gensim']:.1f}x faster, "
                f"{s['memory_first_vs_gensim']:.2f} of the memory |"
            )
        lines.append("")
    if "fasttext" in r:
        lines += [
            "## fastText supervised vs embedlab",
            "",
            "| task | model | test accuracy | train s | s/epoch |",
            "|---|---|---|---|---|",
        ]
        for task, rows in r["fasttext"].items():
            for name, row in rows.items():
                if not isinstance(row, dict):
                    continue
                per_epoch = row.get("seconds_per_epoch", {}).get(
                    "median", row["train_seconds"]["median"] / row["epochs"]
                )
                lines.append(
                    f"| {task} | {name} | {row['test_accuracy']['median']:.4f} | {row['train_seconds']['median']:.1f} | {per_epoch:.2f} |"
                )
            lines.append(f"| {task} | avg epoch / fastText epoch | {rows['avg_epoch_vs_fasttext_epoch']:.1f}x | | |")
            lines.append(
                f"| {task} | best CNN - best fastText accuracy | {rows['cnn_best_minus_fasttext_best_accuracy']:+.4f} | | |"
            )
        lines.append("")
    if "pretrain" in r:
        lines += [
            f"## Pretraining throughput ({r['pretrain']['documents']} IMDB documents, 1 epoch)",
            "",
            "| algorithm | embedlab words/s | direct words/s | overhead |",
            "|---|---|---|---|",
        ]
        for algorithm in ("word2vec", "fasttext"):
            s = r["pretrain"][algorithm]
            lines.append(
                f"| {algorithm} | {s['harness_words_per_s']['median']:,.0f} | {s['direct_words_per_s']['median']:,.0f} | {100 * s['overhead']:+.1f}% |"
            )
        lines.append("")
    if "throughput" in r:
        lines += [
            "## CNN training throughput, SST-2 (3 epochs)",
            "",
            "| option | examples/s | speed-up | accuracy after 3 epochs |",
            "|---|---|---|---|",
        ]
        for name, s in r["throughput"].items():
            lines.append(
                f"| {name} | {s['examples_per_second']['median']:,.0f} | {s['speedup']:.2f}x | {s['test_accuracy_after_3_epochs']['median']:.4f} |"
            )
        lines.append("")
    if "sweep" in r:
        s = r["sweep"]
        lines += [
            "## Sweep throughput (8 SST-2 runs, 3 epochs each)",
            "",
            f"sequential {s['sequential']['seconds']:.0f} s, joblib 2 jobs x 1 thread {s['joblib_2_jobs']['seconds']:.0f} s: {s['speedup']:.2f}x",
            "",
        ]
        if "ceiling" in s:
            c = s["ceiling"]
            one, every = c["examples_per_second_1_thread"], c["examples_per_second_all_cores"]
            lines += [
                f"One run alone trains {one['median']:,.0f} examples/s on 1 thread and {every['median']:,.0f} on all "
                f"{c['cores']} cores ({every['median'] / one['median']:.2f}x, medians of {one['n']}): two 1-thread jobs "
                f"can gain at most {c['bound']:.2f}x on training over the sequential sweep here.",
                "",
            ]
    if "speed" in r:
        s = r["speed"]
        lines += [
            f"## Training speed, before ({s['baseline']}) and now, same machine, same run",
            "",
            "| runs | version | examples/s | s/epoch | test accuracy (mean, seeds) | outside training s | speed-up |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, _, _ in SPEED_RUNS:
            for version, v in s[name].items():
                if not isinstance(v, dict):
                    continue
                ratio = v["examples_per_second"]["median"] / s[name]["before"]["examples_per_second"]["median"]
                vs_ft = f" ({v['epoch_vs_fasttext']:.1f}x fastText)" if "epoch_vs_fasttext" in v else ""
                lines.append(
                    f"| {name} | {version} | {v['examples_per_second']['median']:,.0f} | "
                    f"{v['seconds_per_epoch']['median']:.2f}{vs_ft} | {v['test_accuracy_mean']:.4f} ({v['seeds']}) | "
                    f"{v['outside_training_seconds']['median']:.1f} | {ratio:.2f}x |"
                )
        lines.append("")
        if "warm_worker" in s:
            lines.append(
                "Everything outside training per run in a warm sweep worker (SST-2 CNN, analysis and tracking on, "
                "median s): "
                + ", ".join(
                    f"{version} {w['outside_training_seconds']['median']:.1f} s "
                    f"({w['outside_training_seconds']['min']:.1f}-{w['outside_training_seconds']['max']:.1f})"
                    for version, w in s["warm_worker"].items()
                )
            )
            lines.append("")
        lines.append(
            "IMDB avg, time per epoch vs vocabulary size (exponent of V): "
            + ", ".join(f"{version} V^{v['exponent']:.2f}" for version, v in s["imdb_vocab"].items())
        )
        lines.append("")
    if "scaling" in r:
        lines += [
            "## Scaling (IMDB, avg model)",
            "",
            "| axis | x | s/epoch | peak MB | accuracy |",
            "|---|---|---|---|---|",
        ]
        for axis, rows in r["scaling"]["points"].items():
            for row in rows:
                lines.append(
                    f"| {axis} | {row['x']} | {row['seconds_per_epoch']:.2f} | {row['peak_rss_mb']:.0f} | {row['test_accuracy']:.4f} |"
                )
        lines.append("")
        lines.append(
            "Fitted log-log exponents: " + ", ".join(f"{k} {v:.2f}" for k, v in r["scaling"]["exponents"].items())
        )
        lines.append("")
    if "transformers" in r:
        t = r["transformers"]
        lines += [
            "## Transformer-era sources on SST-2 (all-MiniLM-L6-v2)",
            "",
            "| step | seconds | process s | peak MB | test accuracy |",
            "|---|---|---|---|---|",
        ]
        for name in ("distill_first", "distill_cached"):
            row = t[name]
            lines.append(
                f"| {name} | {row['seconds']:.1f} | {row['process_seconds']:.1f} | {row['peak_rss_mb']:.0f} | |"
            )
        for name in ("cnn_scratch", "tfidf_lr", "encoder_first", "encoder_cached"):
            row = t[name]
            lines.append(
                f"| {name} | {row['train_seconds']:.1f} | {row['process_seconds']:.1f} | {row['peak_rss_mb']:.0f} "
                f"| {row['test_accuracy']:.4f} |"
            )
        lines += [
            "",
            f"Distilling once costs {t['distill_first_vs_cnn_run']:.1f} scratch CNN runs; the encoder baseline's first "
            f"run {t['encoder_first_vs_tfidf']:.1f}x tf-idf + LR's; with cached embeddings its fit takes "
            f"{t['encoder_cached_vs_first']:.2f} of the first.",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cnn-repeats", type=int, default=1, help="repeats of the CNN runs against fastText")
    parser.add_argument("--pretrain-docs", type=int, default=10_000)
    parser.add_argument("--small", action="store_true", help="skip the 1 GB synthetic vectors file")
    parser.add_argument("--baseline", default=BASELINE, help="the commit `speed` measures against")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    args = parser.parse_args()
    from embedlab.core.config import export_locations

    export_locations()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeats": args.repeats,
        "results": {},
        "seconds": {},
    }
    functions = {
        "load": bench_load,
        "fasttext": bench_fasttext,
        "pretrain": bench_pretrain,
        "throughput": bench_throughput,
        "sweep": bench_sweep,
        "scaling": bench_scaling,
        "speed": bench_speed,
        "transformers": bench_transformers,
    }
    target = args.out / "bench.json"
    if target.exists():  # sections measured earlier stay; each says when it was measured
        previous = json.loads(target.read_text())
        report["results"] = previous.get("results", {})
        report["seconds"] = previous.get("seconds", {})
        report["measured"] = previous.get("measured", {})
    report.setdefault("measured", {})
    with tempfile.TemporaryDirectory(prefix="embedlab-bench-") as tmp:
        for section in args.only:
            started = time.perf_counter()
            report["results"][section] = functions[section](args, Path(tmp))
            report["seconds"][section] = time.perf_counter() - started
            report["measured"][section] = time.strftime("%Y-%m-%d %H:%M")
            log(f"{section} done in {report['seconds'][section]:.0f} s")
            target.write_text(json.dumps(report, indent=2))  # written after each section: a crash loses one
            (args.out / "bench.md").write_text(markdown(report))
    if "scaling" in report["results"]:
        plot_scaling(report["results"]["scaling"], args.out / "scaling.png")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
