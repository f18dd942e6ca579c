"""The experiment: load a task, build its embedding, train, evaluate, and write a complete run directory."""

from __future__ import annotations

import errno
import logging
import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from embedlab import __version__
from embedlab.analysis.projection import sample_sentences
from embedlab.core.checks import check
from embedlab.core.config import CONFIG_DIR, export_locations, plain, typed
from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import write_json
from embedlab.core.overrides import composition_problem, unknown_choice
from embedlab.core.resources import peak_memory_mb
from embedlab.core.rundir import (  # noqa: F401 - also their old home
    INTERRUPTED,
    LOCK_FILE,
    NOT_COMPARED,
    REFUSALS,
    STATUS_FILE,
    RunDir,
    RunRefused,
    earlier_attempt,
    locked_elsewhere,
    remove_partial,
    run_lock,
)
from embedlab.data.text import FIRST_WORD, UNSEEN_BUCKETS, Tokenizer, unseen_bucket
from embedlab.studies.sweep import interrupted_sweep
from embedlab.studies.tracking import experiment_name, log_run
from embedlab.training.baselines import BASELINES, fasttext_supervised, majority, sentence_encoder, tfidf_lr
from embedlab.training.train import evaluate, seed_everything, test_metrics, train
from embedlab.vectors.references import load_references
from embedlab.vectors.space import INITIAL, TRAINED, Space

log = logging.getLogger("embedlab")
logging.getLogger("gensim").setLevel(logging.WARNING)
logging.raiseExceptions = False  # a full disk fails the run in one line, not in logging's tracebacks about run.log

DISK_ERRORS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST)


def disk_error(exc: OSError, cache_dir: Path | None = None) -> str:
    """One line for a file the run could not write: which file, why, and the setting that moves it."""
    where = exc.filename or "a file in the run directory"
    if cache_dir is not None and exc.filename and _inside(Path(str(exc.filename)), cache_dir):
        return (
            f"cannot write {where} in the cache folder: {exc.strerror}; free space or choose a writable "
            "paths.cache_dir (or EMBEDLAB_CACHE_DIR)"
        )
    return f"cannot write {where}: {exc.strerror}; free space or choose a writable paths.results_dir / hydra.run.dir"


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def experiment(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Everything a run does, in the order data moves: prepare the task -> build its embedding -> fit (a baseline,
    or the neural model: evaluate, write what the embedding learned) -> the metrics to record. Failures and the
    status file are _run_locked's."""
    from embedlab.data.prepared import prepare_task  # lazy: +64 ms at import; a typo fails before any stage loads

    started = time.perf_counter()
    task = prepare_task(typed(cfg.task), Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir), int(cfg.seed))
    emb = build_embedding(cfg, task, out_dir)
    described = describe(cfg, task, emb)
    fit = fit_baseline if cfg.model.name in BASELINES else fit_neural
    metrics = fit(cfg, task, emb, out_dir, started)
    analysis = metrics.pop("analysis", {})
    return {**metrics, **described, **analysis}


def build_embedding(cfg: DictConfig, task: Any, out_dir: Path) -> Any:
    """The embedding's initial table for the task's vocabulary (pretrained vectors trained first if needed)."""
    from embedlab.vectors.embeddings import prepare_embedding  # lazy: +32 ms at import

    emb_cfg = typed(cfg.embedding)
    pretraining = None
    if emb_cfg.source == "pretrained":  # the training split for corpus.task_train, never dev or test
        pretraining = (typed(cfg.corpus), typed(cfg.pretrain), task.tokens["train"])
    seed, data_dir, cache_dir = int(cfg.seed), Path(cfg.paths.data_dir), Path(cfg.paths.cache_dir)
    emb = prepare_embedding(emb_cfg, task.vocab, data_dir, cache_dir, seed, pretraining)
    if "pretrain" in emb.info:
        write_json(RunDir(out_dir).pretrain, emb.info["pretrain"])
    return emb


def describe(cfg: DictConfig, task: Any, emb: Any) -> dict[str, Any]:
    """What the run trained on, for metrics.json: split sizes, vocabulary, the loader's notes, vector coverage."""
    data = task.data
    return {
        "n_train": len(data.train),
        "n_dev": len(data.dev),
        "n_test": len(data.test),
        "vocab_size": len(task.vocab),
        "max_len": task.max_len,
        "embedding_source": emb.source,
        **data.notes,
        **(emb.coverage.as_dict() if emb.coverage else {}),
        **whitespace_coverage(emb, data.train.texts, task.tokenizer, Path(cfg.paths.cache_dir)),
        **{k: emb.info[k] for k in ("vectors_std",) if k in emb.info},
    }


def fit_baseline(cfg: DictConfig, task: Any, emb: Any, out_dir: Path, started: float) -> dict[str, Any]:
    """A non-neural baseline on the run's own splits: test metrics and predictions; a tuning trial (trial set) is
    scored on dev and never reads the test split's labels."""
    data, seed, cache_dir = task.data, int(cfg.seed), Path(cfg.paths.cache_dir)
    trial = cfg.trial is not None
    unseen = None if trial else task.unseen()
    started_training = time.perf_counter()
    scored = "dev" if trial else "test"
    probs, info = baseline(typed(cfg.model), task.tokens, data, emb, task.vocab, seed, cache_dir, scored=scored)
    timing = {
        "train_seconds": round(time.perf_counter() - started_training, 3),
        "prepare_seconds": round(started_training - started, 3),
        "baseline": info,
    }
    if trial:
        return {"dev_accuracy_best": float(np.mean(probs.argmax(1) == data.dev.labels)), **timing}
    metrics = test_metrics(data.test.labels, probs, len(data.classes))
    write_predictions(out_dir, data, probs, unseen)
    best = {k: v for k, v in info.items() if k == "dev_accuracy_best"}
    return {**metrics, **best, **timing, **unseen_accuracy(data.test.labels, probs, unseen)}


def fit_neural(cfg: DictConfig, task: Any, emb: Any, out_dir: Path, started: float) -> dict[str, Any]:
    """Train the model, evaluate it on test, and write its history, predictions, classifier and both spaces; then
    what the embedding learned (analysis.enabled)."""
    from embedlab.training.classifier import save_classifier  # lazy: +5.5 s at import (TensorFlow/Keras)
    from embedlab.training.models import (  # lazy: +5.5 s at import (TensorFlow/Keras)
        EMBEDDING_LAYER,
        build_model,
        embedding_matrix,
        min_length,
    )

    seed, data, model_cfg = int(cfg.seed), task.data, typed(cfg.model)
    seed_everything(seed, cfg.trainer.threads)
    model = build_model(model_cfg, emb, len(task.vocab), len(data.classes), seed)
    initial = embedding_matrix(model.get_layer(EMBEDDING_LAYER))
    prep_seconds = time.perf_counter() - started
    log_dir = out_dir / "tensorboard" if cfg.tracking.tensorboard else None
    min_len, batch = min_length(model_cfg), int(cfg.trainer.batch_size) * 4
    result = train(model, task.arrays, typed(cfg.trainer), seed, log_dir, min_len)
    tuning = cfg.trial is not None  # a tuning trial is selected on dev: the test split is never scored
    metrics, probs = ({}, None) if tuning else evaluate(model, *task.arrays["test"], len(data.classes), batch, min_len)
    trained = embedding_matrix(model.get_layer(EMBEDDING_LAYER))

    run = RunDir(out_dir)
    pd.DataFrame({"epoch": range(1, result.epochs_run + 1), **result.history}).to_csv(run.history, index=False)
    unseen = None if tuning else task.unseen()
    if not tuning:
        write_predictions(out_dir, data, probs, unseen)
    if cfg.save_model:
        save_classifier(out_dir, model, task.vocab, task.tokenizer, data.classes, task.max_len, min_len, batch)
    for name, matrix in ((INITIAL, initial), (TRAINED, trained)):  # training-split counts kept in the file's order
        Space.full(name, matrix).keyed(task.vocab, True).save_word2vec_format(str(run.space(name)), binary=True)
    analysis: dict[str, Any] = {}
    if cfg.analysis.enabled and not tuning:  # the analysis projects test sentences
        analysis = analyse(cfg, out_dir, task, initial, trained)
        rest = time.perf_counter() - started - analysis["analysis_seconds"]
        analysis["analysis_overhead"] = round(analysis["analysis_seconds"] / max(rest, 1e-9), 4)  # vs run without
    metrics.update(
        {
            "dev_accuracy_best": float(max(result.history.get("val_accuracy", [float("nan")]))),
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "train_seconds": round(result.seconds, 3),
            "prepare_seconds": round(prep_seconds, 3),
            "examples_per_second": round(result.examples_per_second, 1),
            "embedding_rows_changed": int(np.any(initial != trained, axis=1).sum()),
            **({} if tuning else unseen_accuracy(data.test.labels, probs, unseen)),
            "analysis": analysis,
        }
    )
    return metrics


def write_predictions(out_dir: Path, data: Any, probs: np.ndarray, unseen: np.ndarray) -> None:
    """predictions.csv: every test example's label, prediction, class probabilities and unseen-word count."""
    columns = {"index": range(len(data.test)), "label": data.test.labels, "pred": probs.argmax(1)}
    columns.update({f"p_{name}": probs[:, i].round(6) for i, name in enumerate(data.classes)})  # one frame, built once
    columns.update(unseen_words=unseen, text=data.test.texts)
    pd.DataFrame(columns).to_csv(RunDir(out_dir).predictions, index=False)


def unseen_accuracy(labels: np.ndarray, probs: np.ndarray, unseen: np.ndarray) -> dict[str, Any]:
    """Test accuracy by how many of a sentence's words training never saw (0, 1, 2, 3+), and how many such."""
    correct = probs.argmax(1) == labels
    buckets = unseen_bucket(unseen)
    out: dict[str, Any] = {"test_share_with_unseen": round(float(np.mean(unseen > 0)), 4) if len(unseen) else 0.0}
    for name in UNSEEN_BUCKETS:
        members = buckets == name
        out[f"n_test_unseen_{name}"] = int(members.sum())
        out[f"test_accuracy_unseen_{name}"] = float(correct[members].mean()) if members.any() else float("nan")
    return out


def baseline(
    model_cfg: Any,
    tokens: dict[str, list[list[str]]],
    data: Any,
    emb: Any,
    vocab: Any,
    seed: int,
    cache_dir: Path | None = None,
    scored: str = "test",
) -> tuple[np.ndarray, dict[str, Any]]:
    """A non-neural baseline's probabilities on the scored split (test; dev for a tuning trial), trained on the run's
    own training split (embedlab.training.baselines)."""
    n_classes = len(data.classes)
    train = (tokens["train"], data.train.labels)
    if model_cfg.name == "majority":
        return majority(train, len(tokens[scored]), n_classes)
    if model_cfg.name == "tfidf_lr":
        return tfidf_lr(train, (tokens["dev"], data.dev.labels), tokens[scored], n_classes, model_cfg, seed)
    if model_cfg.name == "sentence_encoder":  # raw texts: the encoder tokenizes them itself
        texts = (data.train.texts, data.train.labels), (data.dev.texts, data.dev.labels)
        return sentence_encoder(*texts, getattr(data, scored).texts, n_classes, model_cfg, seed, cache_dir)
    vectors = None
    if emb.matrix is not None:
        keep = ~emb.missing_rows if emb.missing_rows is not None else np.ones(len(vocab), bool)
        keep[:FIRST_WORD] = False  # padding and unknown
        vectors = {vocab.words[i]: emb.matrix[i] for i in np.flatnonzero(keep)}
    return fasttext_supervised(train, tokens[scored], n_classes, model_cfg, seed, vectors)


def analyse(cfg: DictConfig, out_dir: Path, task: Any, initial: np.ndarray, trained: np.ndarray) -> dict[str, Any]:
    """What the embedding learned, beside the reference spaces on disk; returns the summary metrics."""
    from embedlab.analysis.learned import analyse_run  # lazy: +1.9 s at import

    acfg = typed(cfg.analysis)
    started = time.perf_counter()
    pretrain = typed(cfg.pretrain) if cfg.embedding.source == "pretrained" else None
    references, origin = load_references(
        acfg.references,
        task.vocab,
        Path(cfg.paths.data_dir),
        Path(cfg.paths.cache_dir),
        typed(cfg.corpus),
        pretrain,
        acfg.glove6b_dim,
        task.tokens["train"],  # a corpus with task_train is this training split's
    )
    loading = time.perf_counter() - started
    spaces = [Space.full(TRAINED, trained), Space.full(INITIAL, initial), *references]
    examples = list(cfg.task.example_sentences)
    projection = acfg.projection
    encoded = task.vocab.encode([task.tokenizer(t) for t in examples], task.max_len) if examples else None
    sample = sample_sentences(
        *task.arrays["test"],
        list(task.data.classes),
        projection.sentences,
        projection.seed,
        examples,
        encoded,
    )
    title = f"{task.data.name} / {cfg.embedding.name} ({cfg.embedding.mode}) / {cfg.model.name} / seed {cfg.seed}"
    result = analyse_run(
        out_dir,
        task.vocab,
        spaces,
        task.tokens["train"],
        task.data.train.labels,
        acfg,
        list(cfg.task.probe_words),
        title,
        sample,
        origin,
        Path(cfg.paths.cache_dir),
    )
    summary = dict(result.summary)
    summary["analysis_seconds"] = round(summary["analysis_seconds"] + loading, 3)
    summary["references_loaded"] = ",".join(space.name for space in references)
    return summary


def track(cfg: DictConfig, out_dir: Path) -> None:
    """Log the finished run to MLflow (tracking.mlflow); its run id goes to tracking.json in the run directory."""
    tracking, config = typed(cfg.tracking), plain(cfg)
    name = experiment_name(tracking, cfg.study)
    run_id = log_run(tracking, Path(cfg.paths.results_dir), name, out_dir.name, config, out_dir)
    if run_id:
        write_json(RunDir(out_dir).tracking, {"mlflow_run_id": run_id, "experiment": name})


def whitespace_coverage(emb: Any, texts: list[str], tokenizer: Tokenizer, cache_dir: Path) -> dict[str, Any]:
    """Token coverage of the vectors before tokenization (the training text split on spaces), beside the
    task tokenizer's `coverage_tokens`: what splitting clitics and punctuation as the vectors' corpus did buys."""
    if emb.origin is None:
        return {}
    from embedlab.vectors.embeddings import token_coverage  # lazy: +32 ms at import

    plain = Tokenizer(lowercase=tokenizer.lowercase, style="whitespace")
    return {
        "coverage_tokens_whitespace": token_coverage([plain(t) for t in texts], emb.origin, cache_dir),
        "tokenizer_style": tokenizer.style,
    }


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run one experiment into its Hydra run directory; the status file is written last on success."""
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(out_dir) as held:
        if not held:
            log.warning("another process is running this run now, left to it: %s", out_dir)
            return {"status": "elsewhere"}
        return _run_locked(cfg, out_dir)


def _run_locked(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:

    status_path = out_dir / STATUS_FILE
    config_text = OmegaConf.to_yaml(cfg, resolve=True)
    try:
        check(cfg)
    except EmbedlabError as exc:
        if not status_path.exists():  # never over a record of an earlier run
            write_json(status_path, {"status": "failed", "error": str(exc)})
        raise
    previous = earlier_attempt(out_dir, config_text, bool(cfg.resume))
    if previous is not None:
        log.info("already completed with this config, skipped (resume=true): %s", out_dir)
        return previous
    multichannel = cfg.model.name == "cnn" and cfg.model.multichannel
    base = {
        "task": cfg.task.name,
        "embedding": cfg.embedding.name,
        "mode": "multichannel" if multichannel else cfg.embedding.mode,  # Kim's fourth variant
        "model": cfg.model.name,
        "seed": int(cfg.seed),
        **({"trial": int(cfg.trial)} if cfg.trial is not None else {}),  # a tuning trial: scored on dev only
        **({"untuned": True} if cfg.untuned else {}),  # a tuned study's reference run at the untuned point
        "embedlab_version": __version__,
    }
    started = time.perf_counter()
    try:
        RunDir(out_dir).config.write_text(config_text)
        write_hydra_record(cfg, out_dir)
        where = {"host": socket.gethostname(), "pid": os.getpid()}  # which process to look at (or kill) on a cluster
        write_json(status_path, {**base, "status": "running", **where})
        metrics = experiment(cfg, out_dir)
    except KeyboardInterrupt:
        record_end(out_dir, {**base, "status": "interrupted", "error": INTERRUPTED})
        raise
    except Exception as exc:
        error = str(exc) if isinstance(exc, EmbedlabError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, OSError) and exc.errno in DISK_ERRORS:
            error = disk_error(exc, Path(cfg.paths.cache_dir))
        if record_end(out_dir, {**base, "status": "failed", "error": error}):
            track(cfg, out_dir)
        if isinstance(exc, OSError) and exc.errno in DISK_ERRORS:
            raise EmbedlabError(error) from None
        raise
    payload = {
        **base,
        "status": "completed",
        "wall_seconds": round(time.perf_counter() - started, 3),
        "peak_memory_mb": peak_memory_mb(),
        **metrics,
    }
    write_json(status_path, payload)
    track(cfg, out_dir)
    if cfg.trial is not None:
        log.info(
            "trial %d: best dev accuracy %.4f (%s) -> %s",
            cfg.trial,
            metrics["dev_accuracy_best"],
            cfg.embedding.mode,
            out_dir,
        )
    else:
        log.info(
            "test accuracy %.4f, macro-F1 %.4f (%s) -> %s",
            metrics["test_accuracy"],
            metrics["test_macro_f1"],
            cfg.embedding.mode,
            out_dir,
        )
    return payload


def record_end(out_dir: Path, record: dict[str, Any]) -> bool:
    """A failed or interrupted attempt's record, after removing what it half wrote (which also frees the room a
    full disk needs for the record); False when even the record cannot be written."""
    removed = remove_partial(out_dir)
    if removed:
        log.info("removed the unfinished attempt's partial files: %s", ", ".join(removed))
    try:
        write_json(out_dir / STATUS_FILE, record)
    except OSError as write_error:  # the disk that failed the run may refuse the record too
        log.error("could not record the %s run in %s: %s", record["status"], out_dir, write_error.strerror)
        return False
    return True


def write_hydra_record(cfg: DictConfig, out_dir: Path) -> None:
    """.hydra/config.yaml, hydra.yaml and overrides.yaml, as Hydra writes them, once the run owns the directory.

    Hydra writes them before the run can look (hydra.output_subdir=null turns that off), so a rerun refused as
    another config used to leave the completed run's directory saying it was made with the refused overrides.
    """
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    record = out_dir / ".hydra"
    record.mkdir(exist_ok=True)
    (record / RunDir(record).config.name).write_text(OmegaConf.to_yaml(cfg))  # Hydra's own record, same name
    (record / "hydra.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create({"hydra": hydra_cfg})))
    (record / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(list(hydra_cfg.overrides.task))))


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> float:
    """One run; in a sweep a failed run is logged, returns NaN and the sweep goes on (its end lists failures, exits 1).

    What failed reaches the sweep through what the run wrote (its status file and run.log), never through state
    shared in one process, so it works the same under joblib, Ray and SLURM.
    """
    try:
        record = run(cfg)
        return float(record.get("test_accuracy", record.get("dev_accuracy_best", math.nan)))
    except RunRefused as exc:  # the directory holds another run: not a word in its run.log
        if _in_sweep():
            REFUSALS[str(Path(cfg.paths.output_dir))] = str(exc)  # read by the sweep's on_job_end, in this process
            return math.nan
        print_error(exc)
        sys.exit(2)
    except KeyboardInterrupt:
        if _in_sweep():
            raise  # the sweep's process stops the sweep and records what its jobs left (cli)
        print_error(f"{cfg.paths.output_dir}: {INTERRUPTED}")
        sys.exit(130)
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        message = disk_error(exc, Path(cfg.paths.cache_dir))
    except EmbedlabError as exc:
        message = str(exc)
    except Exception:
        if not _in_sweep():
            raise
        log.exception("run failed: %s", cfg.paths.output_dir)
        return math.nan
    log.error("%s", message)
    if _in_sweep():  # the sweep's end prints the one error line and exits non-zero
        return math.nan
    print_error(message)
    sys.exit(2)


def cli(args: list[str]) -> None:
    """`python -m embedlab.run ...` and `embedlab run ...`: one-line errors for what Hydra would report at length."""
    export_locations()
    if problem := unknown_choice(args) or composition_problem(args):  # core.overrides: before Hydra
        print_error(problem)
        sys.exit(2)
    sys.argv = [sys.argv[0], *args]
    try:
        main()
    except KeyboardInterrupt:
        print_error(interrupted_sweep())
        sys.exit(130)


if __name__ == "__main__":
    cli(sys.argv[1:])
