"""The findings of the 70-case bad-input probe (issue 15), one test each: one line, nothing silently changed."""

from __future__ import annotations

import errno
import json
import logging
import os
import pickle
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gensim.test.utils import datapath
from omegaconf import OmegaConf

from embedlab.core.checks import check
from embedlab.core.config import CONFIG_DIR, EXPERIMENTS_DIR, compose
from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import write_json
from embedlab.data.datasets import load_imdb_part, load_raw
from embedlab.data.splits import prepare
from embedlab.data.text import Vocabulary, sequence_length
from embedlab.studies.results import collect
from embedlab.vectors.files import VectorSource, load_pretrained
from helpers import assert_one_line_failure, make_imdb, run_cli, task_cfg

SMALL = ["task=smoke", "model=avg", "trainer.epochs=1", "analysis.enabled=false", "tracking.mlflow=false"]


def table_task(path: Path, **overrides) -> dict:
    return task_cfg(loader="table", train_path=str(path), text_column="text", label_column="label", **overrides)


def texts(n: int) -> list[str]:
    return [f"words of example {i}" for i in range(n)]


# 1. a truncated or corrupt fastText .bin made gensim read past the end of the file forever


@pytest.mark.parametrize("cut", [989, 4000, 60_000, 120_000])
def test_truncated_fasttext_bin_fails_within_a_second(tmp_path, cut):
    bad = tmp_path / "x.bin"
    bad.write_bytes(Path(datapath("lee_fasttext.bin")).read_bytes()[:cut])
    signal.alarm(20)  # the old loader never returned; fail the test rather than hang the suite
    try:
        started = time.perf_counter()
        with pytest.raises(EmbedlabError, match="not a complete fastText .bin"):
            load_pretrained(VectorSource(bad), Vocabulary.build([["human", "computer"]]))
        assert time.perf_counter() - started < 1.0
    finally:
        signal.alarm(0)


def test_fasttext_magic_then_random_bytes_and_pickles_are_named(tmp_path):
    magic = tmp_path / "magic.bin"
    magic.write_bytes((793712314).to_bytes(4, "little") + np.random.default_rng(0).bytes(4000))
    with pytest.raises(EmbedlabError, match="not a complete fastText .bin"):
        load_pretrained(VectorSource(magic), Vocabulary.build([["a"]]))
    planted = tmp_path / "model.bin"
    planted.write_bytes(pickle.dumps({"not": "vectors"}))
    with pytest.raises(EmbedlabError, match="a Python pickle, not a fastText .bin"):
        load_pretrained(VectorSource(planted), Vocabulary.build([["a"]]))


# 2. bad label cells became classes


@pytest.mark.parametrize("bad", ["", "NaN", "null"])
def test_a_missing_label_is_an_error_naming_its_row(tmp_path, bad):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": texts(6), "label": ["pos", "neg", "pos", bad, "neg", "pos"]}).to_csv(path, index=False)
    with pytest.raises(EmbedlabError, match=r"t.csv: row 4, column 'label': the label is missing"):
        load_raw(table_task(path), tmp_path, tmp_path)


def test_labels_are_stripped_so_a_trailing_space_is_not_a_class(tmp_path):
    path = tmp_path / "t.csv"
    labels = ["pos ", "neg", " pos", "neg"] * 10
    pd.DataFrame({"text": texts(40), "label": labels}).to_csv(path, index=False)
    cfg = table_task(path)
    data = prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=1)
    assert data.classes == ("neg", "pos")


def test_list_labels_in_parquet_and_null_labels_in_jsonl_are_errors(tmp_path):
    parquet = tmp_path / "t.parquet"
    pd.DataFrame({"text": texts(2), "label": [[1, 2], [1]]}).to_parquet(parquet)
    with pytest.raises(EmbedlabError, match="row 1, column 'label': label .* is not a single value"):
        load_raw(table_task(parquet), tmp_path, tmp_path)
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "a b", "label": "pos"}\n{"text": "c d", "label": null}\n')
    with pytest.raises(EmbedlabError, match="row 2, column 'label': the label is missing"):
        load_raw(table_task(jsonl), tmp_path, tmp_path)


# 3. task.train_size=1 trained on one class


def test_train_size_that_leaves_one_class_is_an_error(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": texts(40), "label": ["pos", "neg"] * 20}).to_csv(path, index=False)
    cfg = table_task(path, train_size=1)
    with pytest.raises(EmbedlabError, match=r"training data \(task.train_size=1\) has one class only"):
        prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=1)


# 4. config typos and wrong types ran or gave tracebacks


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+trainer.epocs=3", "trainer.epocs is not a config key; did you mean trainer.epochs?"),
        ("+analysis.neighbors_k=4", "analysis.neighbors_k is not a config key; did you mean analysis.neighbours_k?"),
        ("trainer.epocs=3", "trainer.epocs is not a config key; did you mean trainer.epochs?"),
        ("model=avg model.filters=3", "model.filters is not a config key of model=avg (keys: dropout, max_norm, name)"),
        ("task=table task.text_colum=t", "task.text_colum is not a config key; did you mean task.text_column?"),
        ("trainer.epochs=ten", "trainer.epochs=ten must be a whole number"),
        ("trainer.learning_rate=fast", "trainer.learning_rate=fast must be a number"),
        ("seed=abc", "seed=abc must be a whole number"),
        ("seed=null", "seed cannot be null; give it a value"),
        ("trainer.jit_compile=maybe", "trainer.jit_compile=maybe must be true or false"),
        ("-m seed=1,2 trainer.epochs=3,three", "trainer.epochs=three must be a whole number"),
        ("-m model=cnn,avg model.filter_widths=[3,4]", "model.filter_widths is not a config key of model=avg"),
    ],
)
def test_typos_and_wrong_types_fail_while_composing_in_one_line(override, message):
    from embedlab.core.overrides import composition_problem

    assert composition_problem(override.split()).startswith(message)


def test_typed_schema_is_what_hydra_composes():
    cfg = compose(["task=table", "model=avg", "embedding=glove6b", "pretrain=glove"])
    assert OmegaConf.get_type(cfg.task).__name__ == "TableTask"
    assert OmegaConf.get_type(cfg.model).__name__ == "Avg"
    assert OmegaConf.get_type(cfg.pretrain).__name__ == "GlovePretrain"
    assert OmegaConf.get_type(cfg.trainer).__name__ == "Trainer"
    with pytest.raises(Exception, match="not in 'Trainer'"):  # the node itself refuses an unknown key
        cfg.trainer.epocs = 3


def test_every_shipped_option_and_preset_passes_the_schema():
    presets = sorted(p.stem for p in (EXPERIMENTS_DIR / "experiment").glob("*.yaml"))
    arms = sorted(p.stem for p in (CONFIG_DIR / "arm").glob("*.yaml"))
    options = [
        [f"{g.name}={o.stem}"]
        for g in sorted(CONFIG_DIR.iterdir())
        if g.is_dir() and g.name not in ("hydra", "arm", "layout", "search")
        for o in sorted(g.glob("*.yaml"))
    ]
    searches = [
        [f"model={p.stem}", f"+search={p.stem}", "trial=1"] for p in sorted((CONFIG_DIR / "search").glob("*.yaml"))
    ]
    for overrides in [[f"experiment={p}"] for p in presets] + [[f"+arm={a}"] for a in arms] + options + searches:
        cfg = compose(overrides)
        check(cfg)
        for group in ("task", "embedding", "model", "trainer", "corpus", "pretrain", "paths"):
            assert OmegaConf.get_type(cfg[group]).__module__ == "embedlab.core.schema", (overrides, group)


def test_a_typo_in_an_experiment_file_fails_in_one_line_in_seconds(isolated_env, tmp_path):
    folder = tmp_path / "experiments/experiment"
    folder.mkdir(parents=True)
    (folder / "typo.yaml").write_text("# @package _global_\ntrainer:\n  epocs: 3\n")
    env = {**isolated_env, "EMBEDLAB_EXPERIMENTS_DIR": str(tmp_path / "experiments")}
    started = time.perf_counter()
    proc = run_cli(["experiment=typo", *SMALL], env)
    assert time.perf_counter() - started < 30  # process start and TensorFlow import included; no data is read
    assert_one_line_failure(proc, "trainer.epocs is not a config key; did you mean trainer.epochs?")


# 5. values silently changed


def test_test_fraction_zero_is_refused_not_replaced(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": texts(40), "label": ["pos", "neg"] * 20}).to_csv(path, index=False)
    cfg = table_task(path, test_fraction=0)
    with pytest.raises(EmbedlabError, match=r"task.test_fraction=0 must be a fraction between 0 and 1"):
        prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=1)


def test_fractional_epochs_are_refused_not_truncated():
    from embedlab.core.overrides import composition_problem

    assert composition_problem(["trainer.epochs=2.9"]) == (
        "trainer.epochs=2.9 must be a whole number; it is not rounded for you"
    )


# 6. a refused rerun rewrote the completed run's record


def test_a_refused_rerun_leaves_the_completed_runs_record_as_it_was(isolated_env, tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli([*SMALL, "seed=1", f"hydra.run.dir={run_dir}"], isolated_env)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p.name: p.read_bytes() for p in [*(run_dir / ".hydra").iterdir(), run_dir / "config.yaml"]}
    assert "seed=1" in before["overrides.yaml"].decode()
    refused = run_cli([*SMALL, "seed=7", "resume=true", f"hydra.run.dir={run_dir}"], isolated_env)
    assert_one_line_failure(refused, "holds a completed run of another config")
    after = {p.name: p.read_bytes() for p in [*(run_dir / ".hydra").iterdir(), run_dir / "config.yaml"]}
    assert after == before
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"


# 7. a full disk gave chained tracebacks, a `running` record and a 0-byte temporary file


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "m.json"))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        write_json(tmp_path / "m.json", {"status": "completed"})
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_ends_in_one_line_and_a_failed_record(tmp_path, monkeypatch):
    import embedlab.run as run_module

    def experiment(cfg, out_dir):
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "embedding_trained.w2v.bin"))

    monkeypatch.setattr(run_module, "experiment", experiment)
    cfg = compose(SMALL)
    cfg.paths.output_dir = str(tmp_path / "run")
    with pytest.raises(EmbedlabError, match=r"cannot write .*embedding_trained.w2v.bin: No space left on device"):
        run_module.run(cfg)
    record = json.loads((tmp_path / "run/metrics.json").read_text())
    assert record["status"] == "failed" and "No space left" in record["error"]


# 8. the IMDB parse cache was a pickle: a planted file ran code


def test_imdb_cache_is_parquet_and_a_planted_pickle_is_never_read(tmp_path):
    archive = tmp_path / "imdb/aclImdb_v1.tar.gz"
    make_imdb(archive)
    stat = archive.stat()
    planted = tmp_path / "cache/imdb" / f"labelled-{stat.st_size}-{int(stat.st_mtime)}.pkl"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR.")
    splits = load_imdb_part(archive, tmp_path / "cache", "labelled")
    assert len(splits["train"][0]) == 6 and not (tmp_path / "pwned").exists()
    assert sorted(p.suffix for p in (tmp_path / "cache/imdb").iterdir()) == [".parquet", ".parquet", ".pkl"]


def test_a_corrupt_imdb_cache_entry_is_discarded_and_rebuilt(tmp_path, caplog):
    archive = tmp_path / "imdb/aclImdb_v1.tar.gz"
    make_imdb(archive)
    load_imdb_part(archive, tmp_path / "cache", "unsup")
    entry = next((tmp_path / "cache/imdb").glob("unsup-*.parquet"))
    entry.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        assert len(load_imdb_part(archive, tmp_path / "cache", "unsup")) == 3
    assert "discarding the corrupt cache entry" in caplog.text


# 9. one long text padded every example


def test_one_huge_text_does_not_set_the_sequence_length(caplog):
    lengths = [[f"w{i}"] * n for i, n in enumerate([5, 8, 12, 9, 7] * 40)] + [["w"] * 170_001]
    with caplog.at_level(logging.WARNING):
        assert sequence_length(lengths, None, 100) == 64
    assert "task.max_len capped at 64 tokens" in caplog.text and "1 training text(s)" in caplog.text
    assert sequence_length(lengths[:-1], None, 100) == 12  # nothing capped without the outlier


# 10. tracebacks where a line belongs


@pytest.mark.parametrize("value", ["nan", "inf", "1e99"])
def test_nan_inf_and_overflowing_vectors_are_named(tmp_path, value):
    path = tmp_path / "v.txt"
    path.write_text(f"good 0.1 0.2\nbad {value} 0.3\n")
    with pytest.raises(EmbedlabError, match=r"v.txt:2: row for 'bad'"):
        load_pretrained(VectorSource(path), Vocabulary.build([["good", "bad"]]))


def test_a_corrupt_vector_cache_entry_is_discarded_and_rebuilt(tmp_path, caplog):
    path = tmp_path / "v.txt"
    path.write_text("good 0.1 0.2\nbad 0.3 0.4\n")
    vocab = Vocabulary.build([["good", "bad"]])
    load_pretrained(VectorSource(path), vocab, cache_dir=tmp_path / "cache")
    entry = next((tmp_path / "cache/vectors").glob("*.npz"))
    entry.write_bytes(b"PK\x03\x04 truncated")
    with caplog.at_level(logging.WARNING):
        again = load_pretrained(VectorSource(path), vocab, cache_dir=tmp_path / "cache")
    assert set(again.words) == {"good", "bad"} and "discarding the corrupt cache entry" in caplog.text
    assert load_pretrained(VectorSource(path), vocab, cache_dir=tmp_path / "cache").words == again.words


def test_results_list_a_run_with_a_malformed_record_as_broken(tmp_path):
    for name, payload in (("list", [1, 2]), ("text", {"status": "completed", "seed": 1, "test_accuracy": "high"})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(payload))
    frame = collect(tmp_path).set_index("run_dir")
    assert (frame["status"] == "broken").all()
    assert "holds a list" in frame.loc[str(tmp_path / "list"), "error"]


# 11. misleading messages


def test_an_empty_training_split_is_called_empty(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a b", "c d"], "label": ["pos", "neg"]}).to_csv(path, index=False)
    cfg = table_task(path)  # one row per class: the test and dev splits take both
    with pytest.raises(EmbedlabError, match="the training split is empty; give more rows"):
        prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=1)


def test_a_header_counting_fewer_rows_than_the_file_is_not_called_truncated(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text("1 2\ngood 0.1 0.2\nbad 0.3 0.4\n")
    with pytest.raises(EmbedlabError, match="header says 1 vectors but the file has 2; fix the header"):
        load_pretrained(VectorSource(path), Vocabulary.build([["good"]]))


def test_latin1_tables_name_task_encoding_and_read_with_it(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["café crème"] * 4, "label": ["pos", "neg"] * 2}).to_csv(
        path, index=False, encoding="latin-1"
    )
    with pytest.raises(EmbedlabError, match="set task.encoding"):
        load_raw(table_task(path), tmp_path, tmp_path)
    raw = load_raw(table_task(path, encoding="latin-1"), tmp_path, tmp_path)
    assert raw.splits["all"][0][0] == "café crème"


def test_a_tsv_named_csv_suggests_task_format(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a b"] * 4, "label": ["pos", "neg"] * 2}).to_csv(path, index=False, sep="\t")
    with pytest.raises(EmbedlabError, match="separated by tabs, not commas; set task.format=tsv"):
        load_raw(table_task(path), tmp_path, tmp_path)


# found by the probe (tools/probe_bad_inputs.py)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", "seed=-1 must be between 0 and 4294967295"),
        ("trainer.batch_size=0", "trainer.batch_size=0 must be at least 1"),
        ("model.filter_widths=[]", "model.filter_widths=[] must be a non-empty list"),
        ("model.filter_widths=[0]", "model.filter_widths=[0] must be a non-empty list"),
        ("analysis.neighbours_k=0", "analysis.neighbours_k=0 must be at least 1"),
        ("task=table", None),
    ],
)
def test_values_out_of_range_fail_before_anything_is_read(override, message):
    config = compose([override])
    if message is None:
        check(config)
        return
    with pytest.raises(EmbedlabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check(config)


def test_overrides_hydra_cannot_compose_and_unusable_run_dirs_are_one_line(tmp_path, monkeypatch):
    from embedlab.core.overrides import composition_problem

    assert composition_problem(["task.cv_folds=1"]) == "task.cv_folds=1 must be at least 2"  # ranges too
    assert composition_problem(["trainer.epocs=3"]) == "trainer.epocs is not a config key; did you mean trainer.epochs?"
    assert (
        composition_problem(["+trainer.epocs=3"]) == "trainer.epocs is not a config key; did you mean trainer.epochs?"
    )
    assert composition_problem(["trainer.zzz=1"]).startswith("trainer.zzz is not a config key of trainer (keys: batch_")
    afile = tmp_path / "f"
    afile.write_text("x")
    assert composition_problem([f"hydra.run.dir={afile}"]).endswith(
        "is a file; give a folder for the run (it is created if missing)"
    )
    assert composition_problem(["-m", "task=sst2,mr", "seed=range(1,4)"]) is None  # a valid sweep passes

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    problem = composition_problem([f"hydra.run.dir={tmp_path / 'ro' / 'run'}"])
    assert problem.startswith("cannot create") and problem.endswith("Read-only file system; choose a writable folder")


def test_a_run_dir_that_is_a_file_fails_in_one_line_without_a_traceback(isolated_env, tmp_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    proc = run_cli([*SMALL, f"hydra.run.dir={afile}"], isolated_env)
    assert_one_line_failure(proc, "is a file; give a folder")
    assert "Traceback" not in proc.stderr and afile.read_text() == "x"
