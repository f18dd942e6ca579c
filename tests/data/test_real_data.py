"""The real datasets under EMBEDLAB_DATA_DIR (CI: the offline mirror). These fail, not skip, in CI if absent."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from embedlab.core.config import compose, typed
from embedlab.data.datasets import load_raw
from embedlab.data.splits import prepare
from embedlab.data.text import Tokenizer, Vocabulary
from embedlab.vectors.embeddings import glove6b_source
from embedlab.vectors.files import load_pretrained
from helpers import run_cli

pytestmark = pytest.mark.data

# (train, dev, test) sizes: published splits as shipped; carved ones from task.test_fraction/dev_fraction.
SIZES = {
    "sst2": (6920, 872, 1821),
    "sst1": (8544, 1101, 2210),
    "trec": (4907, 545, 500),
    "mr": (8636, 960, 1066),
    "subj": (8100, 900, 1000),
    "mpqa": (8589, 954, 1060),  # 3 published lines have a label but no phrase: skipped
    "clickbait": (23040, 2560, 6400),
    # GLUE's 67,349 phrases less 371 repeats and 1 that is a test sentence; dev/test the published sentences
    "sst2_phrases": (66977, 872, 1821),
}


def load(task: str, data_dir: Path, cache_dir: Path, *overrides: str):
    cfg = typed(compose([f"task={task}", *overrides]).task)
    return prepare(load_raw(cfg, data_dir, cache_dir), cfg, seed=0), cfg


@pytest.mark.parametrize("task", sorted(SIZES))
def test_published_files_load_with_the_expected_sizes(task, data_dir, tmp_path):
    data, _ = load(task, data_dir, tmp_path)
    assert (len(data.train), len(data.dev), len(data.test)) == SIZES[task]
    assert len(set(data.test.labels.tolist())) == len(data.classes)


def test_mr_has_5331_sentences_per_class_despite_nel_bytes(data_dir, tmp_path):
    cfg = typed(compose(["task=mr"]).task)
    texts, labels = load_raw(cfg, data_dir, tmp_path).splits["all"]
    assert len(texts) == 10662 and labels.count("1") == 5331


def test_train_size_gives_nested_stratified_samples_of_sst2(data_dir, tmp_path):
    small, _ = load("sst2", data_dir, tmp_path, "task.train_size=0.1")
    large, _ = load("sst2", data_dir, tmp_path, "task.train_size=2000")
    assert len(small.train) == 692 and len(large.train) == 2000
    assert set(small.train.texts) <= set(large.train.texts)
    assert abs(small.train.labels.mean() - large.train.labels.mean()) < 0.01


def test_glove_mirror_is_found_and_loads_restricted_then_cached(data_dir, tmp_path):
    data, cfg = load("sst2", data_dir, tmp_path)
    tokenizer = Tokenizer.like(cfg.tokenizer)
    vocab = Vocabulary.build(tokenizer(t) for t in data.train.texts)
    source = glove6b_source(data_dir, 100)
    first = load_pretrained(source, vocab, "glove", 100, tmp_path)
    started = time.perf_counter()
    second = load_pretrained(source, vocab, "glove", 100, tmp_path)
    assert time.perf_counter() - started < 1.0
    assert first.words == second.words and len(first.words) > 0.8 * (len(vocab) - 2)


def test_imdb_reads_the_archive_and_the_second_load_is_cached(data_dir, tmp_path):
    data, _ = load("imdb", data_dir, tmp_path)
    assert (len(data.train) + len(data.dev), len(data.test)) == (25000, 25000)
    started = time.perf_counter()
    load("imdb", data_dir, tmp_path)
    assert time.perf_counter() - started < 3.0  # parsing the archive takes ~10 s; the cache ~0.1 s


def train_run(args: list[str], env: dict[str, str], tmp_path: Path) -> dict:
    proc = run_cli(args, env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (status,) = (tmp_path / "results/runs").glob("*/metrics.json")
    return json.loads(status.read_text())


@pytest.fixture
def real_env(isolated_env, data_dir):
    return {**isolated_env, "EMBEDLAB_DATA_DIR": str(data_dir)}


@pytest.mark.slow
def test_sst2_cnn_from_scratch_reaches_the_bar(real_env, tmp_path):
    metrics = train_run(["task=sst2", "embedding=scratch", "model=cnn"], real_env, tmp_path)
    assert metrics["test_accuracy"] >= 0.78, metrics


@pytest.mark.slow
def test_clickbait_avg_with_frozen_glove_reaches_the_bar(real_env, tmp_path):
    metrics = train_run(
        ["task=clickbait", "embedding=glove6b", "model=avg", "trainer.learning_rate=0.01"], real_env, tmp_path
    )
    assert metrics["test_accuracy"] >= 0.95, metrics
    assert metrics["coverage_tokens"] > 0.9


@pytest.mark.slow
def test_imdb_avg_from_scratch_reaches_the_bar(real_env, tmp_path):
    metrics = train_run(["task=imdb", "model=avg", "embedding=scratch", "trainer.epochs=3"], real_env, tmp_path)
    assert metrics["test_accuracy"] >= 0.85, metrics


def test_sst2_phrases_trains_on_no_dev_or_test_sentence(data_dir, tmp_path):
    data, _ = load("sst2_phrases", data_dir, tmp_path)
    assert data.notes == {
        "train_phrases_read": 67349,
        "train_duplicates_dropped": 371,
        "train_dev_test_overlap_dropped": 1,
    }
    train = {" ".join(t.lower().split()) for t in data.train.texts}
    assert len(train) == len(data.train)
    assert not train & {" ".join(t.lower().split()) for t in [*data.dev.texts, *data.test.texts]}


def test_cr_seeds_1_to_10_are_a_10_fold_cross_validation(data_dir, tmp_path):
    tested = []
    for seed in range(1, 11):
        cfg = typed(compose(["task=cr"]).task)
        data = prepare(load_raw(cfg, data_dir, tmp_path), cfg, seed=seed)
        assert abs(len(data.test) - 377) <= 1 and len(data.train) + len(data.dev) + len(data.test) == 3771
        tested += data.test.texts
    assert len(tested) == 3771 and len(set(tested)) == len(
        set(data.train.texts) | set(data.dev.texts) | set(data.test.texts)
    )
