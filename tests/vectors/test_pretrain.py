"""Pretraining on the smoke corpus (shipped in gensim): each algorithm, the cache and its lock, bad input."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gensim.models import KeyedVectors

import embedlab.vectors.pretrain as pretrain
from embedlab.core.config import compose, typed
from embedlab.core.errors import EmbedlabError
from embedlab.core.schema import Tokenizer
from embedlab.data.text import Vocabulary
from embedlab.vectors.files import VectorSource, load_pretrained
from helpers import run_cli


def settings(algorithm: str, *overrides: str, corpus: str = "smoke") -> tuple:
    """(corpus, pretrain) as the stage gets them: the schema's dataclasses."""
    cfg = compose([f"pretrain={algorithm}", f"corpus={corpus}", *overrides])
    return typed(cfg.corpus), typed(cfg.pretrain)


FAST = ("pretrain.epochs=2", "pretrain.dim=20")


@pytest.mark.parametrize("algorithm", ["word2vec", "fasttext", "glove"])
def test_each_algorithm_trains_on_the_smoke_corpus_into_gensim_readable_vectors(algorithm, tmp_path):
    model = pretrain.ensure_pretrained(*settings(algorithm, *FAST), tmp_path, tmp_path)
    kv = KeyedVectors.load_word2vec_format(str(model.folder / pretrain.VECTORS_FILE), binary=True)
    assert kv.vector_size == 20 and len(kv) > 1000
    assert kv.index_to_key[0] in {"the", ",", "."}  # sorted by corpus frequency
    report = json.loads((model.folder / pretrain.REPORT_FILE).read_text())
    assert report["corpus_tokens"] > 70000 and report["vocab_size"] == len(kv)
    for key in (
        "wordsim353_spearman",
        "wordsim353_coverage",
        "simlex999_spearman",
        "analogy_accuracy",
        "words_per_second",
    ):
        assert key in report
    assert (model.fmt == "fasttext_bin") == (algorithm == "fasttext")


def test_fasttext_fills_an_unseen_task_word_from_subwords(tmp_path):
    model = pretrain.ensure_pretrained(*settings("fasttext", *FAST), tmp_path, tmp_path)
    vocab = Vocabulary.build([["government", "governmentally", "hospital"]])
    loaded = load_pretrained(VectorSource(model.vectors), vocab, model.fmt)
    filled = dict(zip(loaded.words, loaded.from_subwords, strict=True))
    assert filled == {"government": False, "hospital": False, "governmentally": True}


def test_second_request_reads_the_cache(tmp_path, monkeypatch):
    first = pretrain.ensure_pretrained(*settings("word2vec", *FAST), tmp_path, tmp_path)
    monkeypatch.setattr(pretrain, "train_into", lambda *a: pytest.fail("trained again"))
    assert pretrain.ensure_pretrained(*settings("word2vec", *FAST), tmp_path, tmp_path).folder == first.folder


def key_for(tmp_path: Path, *overrides: str, algorithm: str = "word2vec", corpus_cfg=None) -> str:
    corpus, params = settings(algorithm, *overrides)
    corpus = corpus_cfg or corpus
    tokenized = pretrain.tokenized_corpus(corpus, pretrain.Tokenizer.like(corpus.tokenizer), tmp_path, tmp_path)
    return pretrain.model_key(tokenized, params)


def test_the_key_changes_with_every_parameter_and_the_corpus_only(tmp_path):
    base = key_for(tmp_path)
    assert key_for(tmp_path) == base
    assert key_for(tmp_path, "pretrain.workers=1") == base  # threads do not change what is learnt
    changed = [
        "pretrain.dim=50",
        "pretrain.window=3",
        "pretrain.min_count=2",
        "pretrain.epochs=3",
        "pretrain.seed=2",
        "pretrain.architecture=cbow",
        "pretrain.negative=10",
        "pretrain.sample=0.01",
    ]
    assert len({base, *(key_for(tmp_path, o) for o in changed)}) == len(changed) + 1
    assert key_for(tmp_path, algorithm="glove") != base
    corpus = settings("word2vec")[0]
    assert key_for(tmp_path, corpus_cfg=dataclasses.replace(corpus, files=["lee_background.cor"])) != base
    assert key_for(tmp_path, corpus_cfg=dataclasses.replace(corpus, tokenizer=Tokenizer(lowercase=False))) != base


def _request(cache: str, marker: str) -> None:
    original = pretrain.train_into

    def counted(*args):
        with open(marker, "a") as fh:
            fh.write("trained\n")
        return original(*args)

    pretrain.train_into = counted
    pretrain.ensure_pretrained(*settings("word2vec", *FAST), Path(cache), Path(cache))


def test_two_concurrent_requests_train_once(tmp_path):
    marker = tmp_path / "trainings.txt"
    # spawn, not fork: a forked child of this process (TensorFlow loaded by earlier tests) can segfault when its
    # garbage collector finalises TensorFlow functions whose runtime threads did not survive the fork (seen in CI)
    ctx = multiprocessing.get_context("spawn")
    jobs = [ctx.Process(target=_request, args=(str(tmp_path), str(marker))) for _ in range(2)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(120)
    assert [job.exitcode for job in jobs] == [0, 0]
    assert marker.read_text().count("trained") == 1
    assert len(list((tmp_path / "pretrained").glob("word2vec-*[!k]"))) == 1


def test_interrupted_pretraining_leaves_no_cache_entry(tmp_path, monkeypatch):
    def interrupted(folder, *args):
        (folder / pretrain.VECTORS_FILE).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain, "train_into", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pretrain.ensure_pretrained(*settings("word2vec", *FAST), tmp_path, tmp_path)
    assert [p.name for p in (tmp_path / "pretrained").iterdir() if not p.name.endswith(".lock")] == []


def test_a_killed_trainers_leftovers_are_cleared_by_the_next_one(tmp_path):
    corpus, params = settings("word2vec", *FAST)
    first = pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)
    shutil.rmtree(first.folder)
    stale = first.folder.parent / f".{first.folder.name}.99999.part"
    stale.mkdir()
    (stale / pretrain.VECTORS_FILE).write_bytes(b"half")
    again = pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)
    assert again.folder == first.folder and not stale.exists()


def test_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    corpus, params = settings("word2vec", f"corpus.path={tmp_path / 'empty.txt'}", corpus="text")
    with pytest.raises(EmbedlabError, match="corpus text is empty"):
        pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)


def test_missing_corpus_path_is_an_error(tmp_path):
    corpus, params = settings("word2vec", f"corpus.path={tmp_path / 'nowhere'}", corpus="text")
    with pytest.raises(EmbedlabError, match="corpus path .*nowhere does not exist"):
        pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)


def test_corpus_smaller_than_min_count_is_an_error(tmp_path):
    (tmp_path / "tiny.txt").write_text("one two three\n")
    corpus, params = settings("glove", f"corpus.path={tmp_path / 'tiny.txt'}", corpus="text")
    with pytest.raises(EmbedlabError, match="fewer than pretrain.min_count=5"):
        pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)
    assert not list((tmp_path / "pretrained").glob("glove-*[!k]"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("pretrain.dim=0", "pretrain.dim=0 must be"),
        ("pretrain.algorithm=bert", "pretrain.algorithm='bert' is not known"),
    ],
)
def test_bad_parameters_are_errors(tmp_path, override, message):
    with pytest.raises(EmbedlabError, match=message):
        pretrain.ensure_pretrained(*settings("word2vec", override), tmp_path, tmp_path)


def test_pretrain_cli_reports_and_fails_in_one_line(isolated_env, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "embedlab.cli", "pretrain", "corpus=smoke", "pretrain=glove", *FAST],
        env=isolated_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout[ok.stdout.rindex('{\n  "algorithm"') :])["algorithm"] == "glove"
    bad = subprocess.run(
        [sys.executable, "-m", "embedlab.cli", "pretrain", "corpus=smoke", "pretrain.dim=-3"],
        env=isolated_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "embedlab: error: pretrain.dim=-3 must be" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_task_run_with_embedlab_trained_vectors(isolated_env, tmp_path):
    args = [
        "task=smoke",
        "embedding=fasttext",
        "corpus=smoke",
        *FAST,
        "embedding.mode=finetune",
        "model.filters=8",
        "trainer.epochs=2",
    ]
    proc = run_cli(args, isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "results/runs").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["vocab_from_subwords"] > 0
    assert json.loads((run_dir / "pretrain.json").read_text())["algorithm"] == "fasttext"


def test_a_task_train_corpus_is_the_corpus_then_exactly_the_runs_training_split(tmp_path, monkeypatch):
    corpus, params = settings("word2vec", *FAST, "corpus.task_train=true")
    split = [["the", "alps", "zzfold1"], ["himalaya", "zzfold1", "."]] * 5  # as the task tokenized it
    with pytest.raises(EmbedlabError, match="task_train=true: it includes a task's training split"):
        pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path)  # embedlab pretrain has no split to add
    assert pretrain.find_pretrained(corpus, params, tmp_path, tmp_path) is None
    model = pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path, split)
    report = json.loads((model.folder / pretrain.REPORT_FILE).read_text())
    base_corpus, _ = settings("word2vec", *FAST)
    files = {p.read_text().count("\n"): p for p in (tmp_path / "corpora").glob("smoke-*.txt")}
    own, with_split = files[min(files)], files[max(files)]
    assert with_split.read_text() == own.read_text() + "".join(" ".join(t) + "\n" for t in split)
    assert report["corpus_task_train"] is True and report["corpus_documents"] == min(files) + len(split)
    kv = KeyedVectors.load_word2vec_format(str(model.vectors), binary=True)
    assert "zzfold1" in kv  # a word only the training split has
    assert pretrain.find_pretrained(corpus, params, tmp_path, tmp_path, split).folder == model.folder
    monkeypatch.setattr(pretrain, "train_into", lambda *a: pytest.fail("trained again"))
    assert pretrain.ensure_pretrained(corpus, params, tmp_path, tmp_path, split).folder == model.folder
    other_fold = [["the", "alps", "zzfold2"], ["himalaya", "zzfold2", "."]] * 5
    assert pretrain.find_pretrained(corpus, params, tmp_path, tmp_path, other_fold) is None  # its own model
    assert pretrain.find_pretrained(base_corpus, params, tmp_path, tmp_path) is None  # the plain corpus: not trained


def test_a_run_pretrains_on_the_corpus_and_its_own_training_split(isolated_env, tmp_path):
    args = ["task=smoke", "embedding=word2vec", "corpus=smoke", "corpus.task_train=true", *FAST]
    proc = run_cli([*args, "embedding.mode=finetune", "model.filters=8", "trainer.epochs=1"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "results/runs").iterdir()
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert json.loads((run_dir / "pretrain.json").read_text())["corpus_task_train"] is True
    refused = subprocess.run(
        [sys.executable, "-m", "embedlab.cli", "pretrain", "pretrain=word2vec", *args[2:]],
        env=isolated_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "embedlab: error: corpus smoke has task_train=true" in refused.stderr


def test_a_half_written_counts_file_means_the_corpus_is_tokenized_again(tmp_path, caplog):
    corpus, _ = settings("word2vec", *FAST)
    tokenizer = pretrain.Tokenizer.like(corpus.tokenizer)
    first = pretrain.tokenized_corpus(corpus, tokenizer, tmp_path, tmp_path)
    counts = first.path.with_suffix(".count")
    assert counts.read_text() == f"{first.documents} {first.tokens}\n"
    assert not [p for p in counts.parent.iterdir() if p.name.startswith(".")]  # written whole, no temporary left
    counts.write_text(str(first.documents))  # another process stopped mid-write
    with caplog.at_level(logging.WARNING):
        again = pretrain.tokenized_corpus(corpus, tokenizer, tmp_path, tmp_path)
    assert (again.documents, again.tokens) == (first.documents, first.tokens)
    assert "not a complete counts file" in caplog.text
