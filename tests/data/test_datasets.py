"""Loaders on tiny files written in each published format, splits, and the bad inputs a user can give."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.core.errors import EmbedlabError
from embedlab.data.datasets import load_imdb_part, load_raw, read_lines
from embedlab.data.download import ensure
from embedlab.data.splits import Split, prepare, stratified_order, subsample
from helpers import make_imdb, task_cfg


def write_kim(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{label} {text}\n" for label, text in rows))


def test_kim_format_with_published_splits(tmp_path):
    for split, n in (("train", 20), ("dev", 4), ("test", 6)):
        write_kim(tmp_path / f"k/s.{split}", [(str(i % 2), f"sentence {i} of {split}") for i in range(n)])
    cfg = task_cfg(
        loader="kim",
        files={s: f"k/s.{s}" for s in ("train", "dev", "test")},
        label_values=["0", "1"],
        classes=["neg", "pos"],
    )
    data = prepare(load_raw(cfg, tmp_path, tmp_path / "cache"), cfg, seed=1)
    assert data.sizes() == {"train": 20, "dev": 4, "test": 6}
    assert data.classes == ("neg", "pos")
    assert data.train.texts[1] == "sentence 1 of train" and data.train.labels[1] == 1


def test_mr_latin1_with_nel_bytes_is_split_on_newlines_only(tmp_path):
    folder = tmp_path / "kim2014"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes("caf\xe9 is great\x85 really\nsecond good one\n".encode("latin-1"))
    (folder / "rt-polarity.neg").write_bytes(b"bad one\nworse one\nthird bad\n")
    cfg = task_cfg(loader="mr", files={"pos": "kim2014/rt-polarity.pos", "neg": "kim2014/rt-polarity.neg"})
    raw = load_raw(cfg, tmp_path, tmp_path)
    texts, labels = raw.splits["all"]
    assert len(texts) == 5 and labels.count("1") == 2
    assert "café is great\x85 really" in texts


def test_clickbait_gzip_pair_skips_blank_lines(tmp_path):
    folder = tmp_path / "clickbait"
    folder.mkdir()
    (folder / "clickbait_data.gz").write_bytes(gzip.compress(b"You Won't Believe This\n\nTen Things\n"))
    (folder / "non_clickbait_data.gz").write_bytes(gzip.compress(b"Senate passes bill\n\nMarkets fall\n\nRain\n"))
    cfg = task_cfg(
        loader="clickbait",
        files={"clickbait": "clickbait/clickbait_data.gz", "non_clickbait": "clickbait/non_clickbait_data.gz"},
    )
    texts, labels = load_raw(cfg, tmp_path, tmp_path).splits["all"]
    assert texts == ["Senate passes bill", "Markets fall", "Rain", "You Won't Believe This", "Ten Things"]
    assert labels == ["0", "0", "0", "1", "1"]


def test_imdb_read_from_archive_then_from_cache(tmp_path):
    make_imdb(tmp_path / "imdb/aclImdb_v1.tar.gz")
    cfg = task_cfg(loader="imdb", files={"archive": "imdb/aclImdb_v1.tar.gz"}, label_values=["neg", "pos"])
    raw = load_raw(cfg, tmp_path, tmp_path / "cache")
    assert len(raw.splits["train"][0]) == 6 and len(raw.splits["test"][0]) == 6
    assert sorted(set(raw.splits["test"][1])) == ["neg", "pos"]
    assert len(list((tmp_path / "cache/imdb").glob("*.parquet"))) == 2
    assert load_imdb_part(tmp_path / "imdb/aclImdb_v1.tar.gz", tmp_path / "cache", "unsup") == [
        f"train unsup review {i}<br />end" for i in range(3)
    ]


def test_truncated_imdb_archive_is_a_clear_error(tmp_path):
    make_imdb(tmp_path / "full.tar.gz", per_class=50)
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb/aclImdb_v1.tar.gz").write_bytes((tmp_path / "full.tar.gz").read_bytes()[:2000])
    cfg = task_cfg(loader="imdb", files={"archive": "imdb/aclImdb_v1.tar.gz"})
    with pytest.raises(EmbedlabError, match="aclImdb_v1.tar.gz"):
        load_raw(cfg, tmp_path, tmp_path / "cache")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_table_formats_with_configured_columns(tmp_path, suffix):
    frame = pd.DataFrame({"body": [f"text number {i}" for i in range(40)], "y": ["spam", "ham"] * 20})
    path = tmp_path / f"mine{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))
    else:
        frame.to_parquet(path)
    cfg = task_cfg(loader="table", train_path=str(path), text_column="body", label_column="y")
    data = prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=0)
    assert data.classes == ("ham", "spam")
    assert sum(data.sizes().values()) == 40
    assert set(data.test.labels.tolist()) == {0, 1}


def table_task(tmp_path, frame, **overrides):
    frame.to_csv(tmp_path / "mine.csv", index=False)
    cfg = task_cfg(
        loader="table", train_path=str(tmp_path / "mine.csv"), text_column="text", label_column="label", **overrides
    )
    return lambda: prepare(load_raw(cfg, tmp_path, tmp_path), cfg, seed=0)


def test_missing_text_column_names_the_file_and_column(tmp_path):
    load = table_task(tmp_path, pd.DataFrame({"txt": ["a"], "label": ["x"]}))
    with pytest.raises(EmbedlabError, match=r"mine.csv: no column 'text' \(task.text_column\)"):
        load()


def test_missing_label_column(tmp_path):
    load = table_task(tmp_path, pd.DataFrame({"text": ["a"], "lab": ["x"]}))
    with pytest.raises(EmbedlabError, match="no column 'label'"):
        load()


def test_empty_text_is_rejected_with_its_row(tmp_path):
    load = table_task(tmp_path, pd.DataFrame({"text": ["fine", "", "ok", "yes"], "label": ["a", "b", "a", "b"]}))
    with pytest.raises(EmbedlabError, match="row 2 has an empty text"):
        load()


def test_one_class_only_is_rejected(tmp_path):
    load = table_task(tmp_path, pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a"] * 20}))
    with pytest.raises(EmbedlabError, match="one class only"):
        load()


def test_label_outside_the_task_classes_is_rejected(tmp_path):
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a", "b"] * 9 + ["a", "c"]})
    load = table_task(tmp_path, frame, label_values=["a", "b"])
    with pytest.raises(EmbedlabError, match=r"mine.csv: label .c. .* is not one of task.classes"):
        load()


def test_train_size_larger_than_the_training_set_is_rejected(tmp_path):
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a", "b"] * 10})
    load = table_task(tmp_path, frame, train_size=500)
    with pytest.raises(EmbedlabError, match=r"task.train_size=500 is larger than the training set"):
        load()


def test_nested_stratified_subsamples():
    labels = np.array([0] * 70 + [1] * 30)
    split = Split([f"t{i}" for i in range(100)], labels)
    small, large = subsample(split, 10, seed=3), subsample(split, 0.5, seed=3)
    assert set(small.texts) < set(large.texts)
    assert small.labels.tolist().count(1) == 3 and large.labels.tolist().count(1) == 15
    assert subsample(split, 10, seed=4).texts != small.texts


def test_stratified_order_is_deterministic():
    labels = np.array([0, 1] * 10)
    assert stratified_order(labels, 7).tolist() == stratified_order(labels, 7).tolist()


def test_read_lines_handles_gzip_and_latin1(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress("na\xefve\nline".encode("latin-1")))
    assert read_lines(tmp_path / "a.gz") == ["naïve", "line"]


def test_download_goes_through_a_temporary_name(tmp_path):
    source = tmp_path / "remote.txt"
    source.write_text("payload")
    dest = tmp_path / "data/sub/file.txt"
    assert ensure(source.as_uri(), dest).read_text() == "payload"
    assert [p.name for p in dest.parent.iterdir()] == ["file.txt"]


def test_offline_download_names_file_url_and_destination(tmp_path):
    dest = tmp_path / "data/imdb/aclImdb_v1.tar.gz"
    url = "http://127.0.0.1:9/aclImdb_v1.tar.gz"  # loopback port with no server: refused at once
    with pytest.raises(EmbedlabError) as info:
        ensure(url, dest)
    message = str(info.value)
    assert "aclImdb_v1.tar.gz is missing" in message and url in message and str(dest) in message
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


def test_kim_lines_with_a_label_but_no_text_are_skipped(tmp_path, caplog):
    write_kim(tmp_path / "k/m.all", [("0", "fine"), ("1", ""), ("1", "good one")])
    cfg = task_cfg(loader="kim", files={"all": "k/m.all"})
    texts, labels = load_raw(cfg, tmp_path, tmp_path).splits["all"]
    assert (texts, labels) == (["fine", "good one"], ["0", "1"])
    assert "skipped 1 line(s) with a label but no text: [2]" in caplog.text
