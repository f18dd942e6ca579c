"""Probe the CLI with bad inputs and faults a user can hit, and judge each outcome (issue 15's probe, rerunnable).

Each case builds its files in a fresh folder, runs `python -m embedlab.run ...` on a small table task (or the smoke
experiment) and is judged RIGHT when the outcome is the one promised: a run that should work completes; bad input
ends in exactly one `embedlab: error:` line, a non-zero exit, no traceback, within the time limit, and leaves no
`completed` (or `running`) record. Anything else is WRONG, with what happened.

    python tools/probe_bad_inputs.py [--only NAME ...] [--out probe.md]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LIMIT = 180  # seconds; the old fastText loader never returned
BASE = [
    "task=table",
    "model=avg",
    "trainer.epochs=1",
    "analysis.enabled=false",
    "tracking.mlflow=false",
    "tracking.tensorboard=false",
]


@dataclass
class Case:
    name: str
    expect: str  # "ok" | "error"
    build: Callable[[Path], list[str]]  # writes files, returns the CLI arguments
    fragment: str = ""  # expected in the error line
    command: str = "run"  # the `embedlab` command: run, sweep, predict, neighbours, report
    check: Callable[[Path], str | None] | None = None  # a further promise; returns what broke it
    security: bool = False  # a broken promise here is a SECURITY finding, not only WRONG


def reviews(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good, bad = ["good", "great", "fine", "lovely"], ["bad", "awful", "dull", "poor"]
    labels = rng.integers(0, 2, n)
    texts = [
        " ".join([*rng.choice(good if y else bad, 2), "film", "plot", *rng.choice(["a", "the", "it"], 2)])
        for y in labels
    ]
    return pd.DataFrame({"text": texts, "label": np.where(labels == 1, "pos", "neg")})


def table(tmp: Path, frame: pd.DataFrame | None = None, name: str = "t.csv", **to_csv) -> list[str]:
    path = tmp / name
    (frame if frame is not None else reviews()).to_csv(path, index=False, **to_csv)
    return [*BASE, f"task.train_path={path}"]


def raw_file(tmp: Path, name: str, data: bytes, *extra: str) -> list[str]:
    path = tmp / name
    path.write_bytes(data)
    return [*BASE, f"task.train_path={path}", *extra]


def vectors(tmp: Path, name: str, data: bytes) -> list[str]:
    path = tmp / name
    path.write_bytes(data)
    return [*table(tmp), "embedding=file", f"embedding.path={path}", "embedding.mode=frozen", "embedding.dim=2"]


def glove_rows(words=("good", "bad", "film", "the")) -> bytes:
    return "".join(f"{w} {i * 0.1:.1f} {-i * 0.1:.1f}\n" for i, w in enumerate(words, 1)).encode()


def with_texts(texts: list[str]) -> pd.DataFrame:
    frame = reviews(len(texts))
    frame["text"] = texts
    return frame


CASES: list[Case] = [
    # encodings
    Case(
        "utf8_bom_csv", "ok", lambda t: raw_file(t, "t.csv", b"\xef\xbb\xbf" + reviews().to_csv(index=False).encode())
    ),
    Case(
        "utf16_csv_no_encoding",
        "error",
        lambda t: raw_file(t, "t.csv", reviews().to_csv(index=False).encode("utf-16")),
        "task.encoding",
    ),
    Case(
        "utf16_csv_with_encoding",
        "ok",
        lambda t: raw_file(t, "t.csv", reviews().to_csv(index=False).encode("utf-16"), "task.encoding=utf-16"),
    ),
    Case(
        "cp1252_quotes_no_encoding",
        "error",
        lambda t: raw_file(
            t,
            "t.csv",
            with_texts([f"\u201cgood\u201d film {i}" for i in range(200)]).to_csv(index=False).encode("cp1252"),
        ),
        "task.encoding",
    ),
    Case(
        "cp1252_with_encoding",
        "ok",
        lambda t: raw_file(
            t,
            "t.csv",
            with_texts([f"\u201cgood\u201d film {i}" for i in range(200)]).to_csv(index=False).encode("cp1252"),
            "task.encoding=cp1252",
        ),
    ),
    Case("unknown_encoding_name", "error", lambda t: [*table(t), "task.encoding=klingon"], "task.encoding"),
    # odd Unicode
    Case(
        "emoji_and_zwj",
        "ok",
        lambda t: table(t, with_texts([f"good \U0001f44d\u200d\U0001f525 film {i}" for i in range(200)])),
    ),
    Case(
        "rtl_and_combining",
        "ok",
        lambda t: table(t, with_texts([f"\u05e1\u05e8\u05d8 good e\u0301 {i}" for i in range(200)])),
    ),
    Case(
        "nul_bytes_in_text",
        "ok",
        lambda t: raw_file(
            t,
            "t.tsv",
            (
                "text\tlabel\n" + "".join(f"good\x00film {i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(200))
            ).encode(),
        ),
    ),
    Case("crlf_line_endings", "ok", lambda t: table(t, lineterminator="\r\n")),
    Case(
        "newlines_inside_quoted_cells", "ok", lambda t: table(t, with_texts([f"good\nfilm\r\n{i}" for i in range(200)]))
    ),
    Case("only_punctuation_texts", "ok", lambda t: table(t, with_texts(["!!! ... ???"] * 100 + ["good film"] * 100))),
    # shapes of tables
    Case("empty_file", "error", lambda t: raw_file(t, "t.csv", b""), "t.csv"),
    Case("header_only", "error", lambda t: raw_file(t, "t.csv", b"text,label\n"), "no examples"),
    Case("single_column", "error", lambda t: raw_file(t, "t.csv", b"text\na\nb\n"), "no column 'label'"),
    Case("one_class_everywhere", "error", lambda t: table(t, reviews().assign(label="pos")), "one class"),
    Case(
        "int_labels_parquet",
        "ok",
        lambda t: (
            reviews().assign(label=lambda f: (f.label == "pos").astype(int)).to_parquet(t / "t.parquet"),
            [*BASE, f"task.train_path={t / 't.parquet'}"],
        )[1],
    ),
    Case(
        "float_labels_with_gap",
        "error",
        lambda t: (
            reviews()
            .assign(label=lambda f: np.where(np.arange(len(f)) == 3, np.nan, (f.label == "pos").astype(float)))
            .to_parquet(t / "t.parquet"),
            [*BASE, f"task.train_path={t / 't.parquet'}"],
        )[1],
        "row 4",
    ),
    Case(
        "bool_labels_jsonl",
        "ok",
        lambda t: (
            reviews().assign(label=lambda f: f.label == "pos").to_json(t / "t.jsonl", orient="records", lines=True),
            [*BASE, f"task.train_path={t / 't.jsonl'}"],
        )[1],
    ),
    Case(
        "dict_labels_jsonl",
        "error",
        lambda t: (
            (t / "t.jsonl").write_text(
                "".join(json.dumps({"text": "good film", "label": {"a": 1}}) + "\n" for _ in range(20))
            ),
            [*BASE, f"task.train_path={t / 't.jsonl'}"],
        )[1],
        "not a single value",
    ),
    Case("numeric_text_column", "ok", lambda t: table(t, reviews().assign(text=[str(i % 7) for i in range(200)]))),
    Case(
        "empty_text_cell",
        "error",
        lambda t: table(t, with_texts(["good film"] * 50 + [""] + ["bad film"] * 149)),
        "empty text",
    ),
    Case(
        "whitespace_text_cell",
        "error",
        lambda t: table(t, with_texts(["good film"] * 50 + ["   "] + ["bad film"] * 149)),
        "empty text",
    ),
    Case("json_array_named_json", "ok", lambda t: raw_file(t, "t.json", reviews().to_json(orient="records").encode())),
    Case(
        "truncated_parquet",
        "error",
        lambda t: (
            reviews().to_parquet(t / "full.parquet"),
            raw_file(t, "t.parquet", (t / "full.parquet").read_bytes()[:300]),
        )[1],
        "t.parquet",
    ),
    Case("gzipped_csv", "ok", lambda t: raw_file(t, "t.csv.gz", gzip.compress(reviews().to_csv(index=False).encode()))),
    Case(
        "corrupt_gzip_csv",
        "error",
        lambda t: raw_file(t, "t.csv.gz", gzip.compress(reviews().to_csv(index=False).encode())[:200]),
        "t.csv.gz",
    ),
    Case(
        "huge_single_cell_5mb",
        "ok",
        lambda t: table(t, with_texts(["good " * 1_000_000] + [f"bad film {i}" for i in range(199)])),
    ),
    Case("20k_rows", "ok", lambda t: table(t, reviews(20_000))),
    Case(
        "duplicate_column_names",
        "ok",
        lambda t: raw_file(
            t,
            "t.csv",
            (
                "text,label,text\n" + "".join(f"good film {i},{'pos' if i % 2 else 'neg'},x\n" for i in range(200))
            ).encode(),
        ),
    ),
    Case("train_path_is_folder", "error", lambda t: [*BASE, f"task.train_path={t}"], "is a folder"),
    Case("train_path_missing", "error", lambda t: [*BASE, f"task.train_path={t / 'nope.csv'}"], "does not exist"),
    # an interrupted download left its temporary file; offline, the run must name the missing file, not read the part
    Case(
        "interrupted_download_part_file",
        "error",
        lambda t: (
            (t / "data/kim2014").mkdir(parents=True),
            (t / "data/kim2014/.stsa.binary.train.4242.part").write_bytes(b"0 half a file"),
            [
                "task=sst2",
                "model=avg",
                "analysis.enabled=false",
                "tracking.mlflow=false",
                f"paths.data_dir={t / 'data'}",
            ],
        )[2],
        "stsa.binary.train is missing",
    ),
    # vector files
    Case("glove_with_bom", "ok", lambda t: vectors(t, "v.txt", b"\xef\xbb\xbf" + glove_rows())),
    Case("glove_crlf", "ok", lambda t: vectors(t, "v.txt", glove_rows().replace(b"\n", b"\r\n"))),
    Case(
        "glove_latin1_words",
        "ok",
        lambda t: vectors(t, "v.txt", glove_rows() + "caf\u00e9 0.1 0.2\n".encode("latin-1")),
    ),
    Case(
        "w2v_header_more_rows_than_file", "error", lambda t: vectors(t, "v.vec", b"9 2\n" + glove_rows()), "truncated"
    ),
    Case("w2v_header_dim_mismatch", "error", lambda t: vectors(t, "v.vec", b"4 300\n" + glove_rows()), "expected 300"),
    Case("w2v_binary_truncated", "error", lambda t: vectors(t, "v.bin", b"4 2\ngood " + b"\x00" * 5), "v.bin"),
    Case(
        "vectors_path_is_folder",
        "error",
        lambda t: [*table(t), "embedding=file", f"embedding.path={t}", "embedding.dim=2"],
        "is a folder",
    ),
    Case("vectors_empty_file", "error", lambda t: vectors(t, "v.txt", b""), "empty"),
    Case(
        "vectors_zip_without_member",
        "error",
        lambda t: vectors(t, "v.zip", b"PK\x05\x06" + b"\x00" * 18),
        "is a zip archive",
    ),
    # config values
    Case("batch_size_zero", "error", lambda t: [*table(t), "trainer.batch_size=0"], "batch_size"),
    Case("batch_size_negative", "error", lambda t: [*table(t), "trainer.batch_size=-5"], "batch_size"),
    Case("optimizer_unknown", "error", lambda t: [*table(t), "trainer.optimizer=adamw"], "trainer.optimizer"),
    Case(
        "cnn_no_filter_widths", "error", lambda t: [*table(t), "model=cnn", "model.filter_widths=[]"], "filter_widths"
    ),
    Case("cnn_zero_width", "error", lambda t: [*table(t), "model=cnn", "model.filter_widths=[0]"], "filter_widths"),
    Case("embedding_dim_zero", "error", lambda t: [*table(t), "embedding.dim=0"], "embedding.dim"),
    Case("len_percentile_zero", "error", lambda t: [*table(t), "task.len_percentile=0"], "len_percentile"),
    Case("max_len_zero", "error", lambda t: [*table(t), "task.max_len=0"], "max_len"),
    Case("negative_seed", "error", lambda t: [*table(t), "seed=-1"], "seed"),
    Case("train_size_zero", "error", lambda t: [*table(t), "task.train_size=0"], "train_size"),
    Case("train_size_above_one_fraction", "error", lambda t: [*table(t), "task.train_size=1.5"], "train_size"),
    Case("cv_folds_one", "error", lambda t: [*table(t), "task.cv_folds=1"], "cv_folds"),
    Case(
        "neighbours_k_zero",
        "error",
        lambda t: [*table(t), "analysis.enabled=true", "analysis.neighbours_k=0"],
        "neighbours_k",
    ),
    Case("dev_fraction_one", "error", lambda t: [*table(t), "task.dev_fraction=1.0"], "dev_fraction"),
    # places to write
    Case(
        "run_dir_is_a_file",
        "error",
        lambda t: ((t / "f").write_text("x"), [*table(t), f"hydra.run.dir={t / 'f'}"])[1],
        "f",
    ),
    Case(
        "run_dir_on_read_only_fs",
        "error",
        lambda t: [*table(t), f"hydra.run.dir={mounted(t / 'ro', 'ro')}/run"],
        "Read-only file system",
    ),
    Case(
        "disk_full_during_run",
        "error",
        lambda t: [*table(t), f"hydra.run.dir={nearly_full(t / 'full')}/run"],
        "No space left",
    ),
]


# ------------------------------------------------------------------ issue 24's probe: new cases (2026-12-07)
_TRAINED: list[Path] = []


def trained_run(tmp: Path) -> Path:
    """A copy of one finished smoke run (trained once per probe) that a case may damage."""
    import shutil

    if not _TRAINED:
        home = Path(tempfile.mkdtemp(prefix="embedlab-probe-trained-"))
        env = {**os.environ, "EMBEDLAB_RESULTS_DIR": str(home / "results"), "EMBEDLAB_CACHE_DIR": str(home / "cache")}
        args = ["experiment=smoke", "analysis.enabled=false", "tracking.mlflow=false", f"hydra.run.dir={home / 'run'}"]
        subprocess.run([sys.executable, "-m", "embedlab.run", *args], env=env, capture_output=True, check=True)
        _TRAINED.append(home / "run")
    return Path(shutil.copytree(_TRAINED[0], tmp / "trained"))


def damaged(tmp: Path, damage: Callable[[Path], object], *args: str) -> list[str]:
    run = trained_run(tmp)
    damage(run)
    return [str(run), *args]


def set_status(status: str) -> Callable[[Path], object]:
    def change(run: Path) -> None:
        record = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**record, "status": status}))

    return change


def nothing_outside(tmp: Path) -> str | None:
    return "wrote outside the results folder: " + str(tmp / "elsewhere") if (tmp / "elsewhere").exists() else None


def study_folder(tmp: Path, records: dict[str, bytes]) -> list[str]:
    for name, data in records.items():
        (tmp / "study" / name).mkdir(parents=True)
        (tmp / "study" / name / "metrics.json").write_bytes(data)
    return [str(tmp / "study")]


def input_file(tmp: Path, name: str, data: bytes, *args: str) -> list[str]:
    (tmp / name).write_bytes(data)
    return [str(trained_run(tmp)), "--input", str(tmp / name), *args]


def unchanged_after_refusal(tmp: Path) -> str | None:
    run = tmp / "run"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = subprocess.run(
        [sys.executable, "-m", "embedlab.run", *table(tmp), "seed=9", "resume=true", f"hydra.run.dir={run}"],
        env={**os.environ, "EMBEDLAB_RESULTS_DIR": str(tmp / "results"), "EMBEDLAB_CACHE_DIR": str(tmp / "cache")},
        capture_output=True,
        text=True,
    )
    if again.returncode == 0 or "Traceback" in again.stderr:
        return f"the refused rerun exited {again.returncode}"
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    changed = sorted(p.name for p in set(before) | set(after) if before.get(p) != after.get(p))
    return f"the refused rerun changed {changed}" if changed else None


def no_partial_files(tmp: Path) -> str | None:
    run = tmp / "full" / "run"
    left = sorted(p.name for p in run.iterdir()) if run.exists() else []
    extra = [n for n in left if n not in ("metrics.json", "config.yaml", "run.log", ".lock", ".hydra")]
    return f"partial files left: {extra}" if extra else None


HOSTILE = "<img/src/onerror=document.title='pwned'>"

CASES += [
    # names that are paths (security: a write outside the results folder)
    Case(
        "task_name_dotdot",
        "error",
        lambda t: [*table(t), f"task.name=../../../../../../../../{t}/elsewhere/x"],
        "must be a name",
        check=nothing_outside,
        security=True,
    ),
    Case(
        "embedding_name_slash",
        "error",
        lambda t: [*table(t), f"embedding.name={t}/elsewhere/x"],
        "must be a name",
        check=nothing_outside,
        security=True,
    ),
    Case("model_name_dotdot", "error", lambda t: [*table(t), "model.name=.."], "must be a name"),
    Case("task_name_hidden", "error", lambda t: [*table(t), "task.name=.x"], "must be a name"),
    Case(
        "study_dotdot",
        "error",
        lambda t: [*table(t), "+layout=study", f"study=../../../../../../../../{t}/elsewhere/y"],
        "must be a name",
        command="sweep",
        check=nothing_outside,
        security=True,
    ),
    Case("html_in_a_name_is_a_name", "ok", lambda t: [*table(t), "embedding.name='<img src=x onerror=alert(1)>'"]),
    # numbers that are not numbers
    Case("learning_rate_nan", "error", lambda t: [*table(t), "trainer.learning_rate=nan"], "finite"),
    Case("learning_rate_inf", "error", lambda t: [*table(t), "trainer.learning_rate=inf"], "finite"),
    Case("dropout_minus_inf", "error", lambda t: [*table(t), "model.dropout=-inf"], "finite"),
    Case("dev_fraction_nan", "error", lambda t: [*table(t), "task.dev_fraction=nan"], "finite"),
    # files and folders
    Case(
        "jsonl_broken_line",
        "error",
        lambda t: raw_file(
            t,
            "t.jsonl",
            b"\n".join(
                [json.dumps({"text": f"good film {i}", "label": "pos" if i % 2 else "neg"}).encode() for i in range(40)]
                + [b'{"text": "oops", "label": }']
            )
            + b"\n",
        ),
        "line 41",
    ),
    Case("refused_rerun_changes_nothing", "ok", lambda t: [*table(t), "seed=1"], check=unchanged_after_refusal),
    Case(
        "disk_full_leaves_no_partial_files",
        "error",
        lambda t: [*table(t), f"hydra.run.dir={nearly_full(t / 'full', 60 * 1024)}/run"],
        "No space left",
        check=no_partial_files,
    ),
    Case(
        "hostile_word_in_training_text",
        "ok",
        lambda t: (
            table(t, with_texts([f"{HOSTILE} good film {i}" for i in range(200)])) + ["task.tokenizer.style=whitespace"]
        ),
    ),
    # predict
    Case("predict_empty_text", "error", lambda t: [str(trained_run(t)), "--text", " "], "is empty", command="predict"),
    Case(
        "predict_empty_cells",
        "error",
        lambda t: input_file(t, "in.csv", b'text\ngood film\n""\n'),
        "is empty",
        command="predict",
    ),
    Case(
        "predict_vocab_cut",
        "error",
        lambda t: damaged(
            t,
            lambda r: (r / "vocab.txt").write_text("\n".join((r / "vocab.txt").read_text().split("\n")[:100]) + "\n"),
            "--text",
            "good",
        ),
        "changed",
        command="predict",
    ),
    Case(
        "predict_vocab_extra_rows",
        "error",
        lambda t: damaged(
            t, lambda r: (r / "vocab.txt").write_text((r / "vocab.txt").read_text() + "extra\n"), "--text", "good"
        ),
        "changed",
        command="predict",
    ),
    Case(
        "predict_status_running",
        "error",
        lambda t: damaged(t, set_status("running"), "--text", "good"),
        "'running'",
        command="predict",
    ),
    Case(
        "predict_status_failed",
        "error",
        lambda t: damaged(t, set_status("failed"), "--text", "good"),
        "'failed'",
        command="predict",
    ),
    Case(
        "predict_latin1_no_encoding",
        "error",
        lambda t: input_file(t, "in.csv", "text\ncaf\xe9 film\n".encode("latin-1")),
        "--encoding",
        command="predict",
    ),
    Case(
        "predict_latin1_with_encoding",
        "ok",
        lambda t: input_file(t, "in.csv", "text\ncaf\xe9 film\n".encode("latin-1"), "--encoding", "latin-1"),
        command="predict",
    ),
    Case(
        "predict_truncated_model",
        "error",
        lambda t: damaged(
            t, lambda r: (r / "model.keras").write_bytes((r / "model.keras").read_bytes()[:4000]), "--text", "good"
        ),
        "model.keras",
        command="predict",
    ),
    Case(
        "predict_pickle_as_model",
        "error",
        lambda t: damaged(
            t, lambda r: (r / "model.keras").write_bytes(b"\x80\x04\x95\x10\x00cos\nsystem\n."), "--text", "good"
        ),
        "not a Keras model",
        command="predict",
        security=True,
    ),
    Case(
        "predict_invalid_classifier_json",
        "error",
        lambda t: damaged(t, lambda r: (r / "classifier.json").write_text("{"), "--text", "good"),
        "classifier.json",
        command="predict",
    ),
    Case(
        "predict_older_classifier_json",
        "error",
        lambda t: damaged(
            t, lambda r: (r / "classifier.json").write_text('{"classes": ["a", "b"], "max_len": 5}'), "--text", "good"
        ),
        "another embedlab version",
        command="predict",
    ),
    Case(
        "predict_out_missing_folder",
        "error",
        lambda t: [str(trained_run(t)), "--text", "good", "--out", str(t / "no" / "p.csv")],
        "does not exist",
        command="predict",
    ),
    Case(
        "predict_out_existing_file",
        "error",
        lambda t: (
            (t / "mine.csv").write_text("keep"),
            [str(trained_run(t)), "--text", "good", "--out", str(t / "mine.csv")],
        )[1],
        "never overwrites",
        command="predict",
        check=lambda t: None if (t / "mine.csv").read_text() == "keep" else "overwrote the user's file",
    ),
    Case("predict_not_a_run", "error", lambda t: [str(t), "--text", "good"], "not a run directory", command="predict"),
    Case("predict_ok", "ok", lambda t: [str(trained_run(t)), "--text", "a good film"], command="predict"),
    # neighbours
    Case(
        "neighbours_k_zero",
        "error",
        lambda t: [str(trained_run(t)), "good", "-k", "0"],
        "at least 1",
        command="neighbours",
    ),
    Case(
        "neighbours_k_negative",
        "error",
        lambda t: [str(trained_run(t)), "good", "-k", "-1"],
        "at least 1",
        command="neighbours",
    ),
    Case(
        "neighbours_truncated_space",
        "error",
        lambda t: damaged(
            t,
            lambda r: (r / "embedding_trained.w2v.bin").write_bytes(
                (r / "embedding_trained.w2v.bin").read_bytes()[:500]
            ),
            "good",
        ),
        "truncated",
        command="neighbours",
    ),
    Case(
        "neighbours_unknown_word",
        "error",
        lambda t: [str(trained_run(t)), "zzzqqq"],
        "not in this run",
        command="neighbours",
    ),
    Case("neighbours_ok", "ok", lambda t: [str(trained_run(t)), "good", "-k", "3"], command="neighbours"),
    # report
    Case(
        "report_deeply_nested_record",
        "ok",
        lambda t: study_folder(t, {"a": b"[" * 200_000 + b"]" * 200_000}),
        command="report",
        check=lambda t: None if "broken" in (t / "study" / "runs.csv").read_text() else "not broken",
    ),
    Case(
        "report_record_of_10_mb",
        "ok",
        lambda t: study_folder(t, {"a": b'{"status": "completed", "x": "' + b"x" * (10 * 2**20) + b'"}'}),
        command="report",
        check=lambda t: None if "broken" in (t / "study" / "runs.csv").read_text() else "not broken",
    ),
    Case("report_folder_missing", "error", lambda t: [str(t / "nothing")], "not a folder", command="report"),
    Case(
        "report_no_runs", "error", lambda t: ((t / "empty").mkdir(), [str(t / "empty")])[1], "no run", command="report"
    ),
    # transformer-era sources (issue 28): the encoder is a folder or an installed package, never a hub name
    Case(
        "distilled_encoder_hub_name",
        "error",
        lambda t: [*table(t), "+arm=distilled_frozen", "embedding.encoder=sentence-transformers/all-MiniLM-L6-v2"],
        "no such folder",
    ),
    Case(
        "distilled_encoder_not_a_model",
        "error",
        lambda t: [*table(t), "+arm=distilled_frozen", f"embedding.encoder={t}"],
        "no config.json",
    ),
    Case(
        "distilled_zero_dims",
        "error",
        lambda t: [*table(t), "+arm=distilled_frozen", "embedding.dim=0"],
        "PCA dimensions",
    ),
    Case(
        "sentence_encoder_unknown_package",
        "error",
        lambda t: [*table(t), "model=sentence_encoder", "model.encoder=no_such_model_package"],
        "neither a folder nor an installed",
    ),
    Case(
        "sentence_encoder_negative_c",
        "error",
        lambda t: [*table(t), "model=sentence_encoder", "model.C=[-1]"],
        "must be a non-empty list of positive numbers",
    ),
]


def mounted(folder: Path, options: str) -> Path:
    """A tmpfs at folder (root only): read-only, or so small that a run fills it."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    return folder


def nearly_full(folder: Path, free: int = 6 * 1024) -> Path:
    """A 256 KB tmpfs filled up to `free` bytes: the run starts, then its files meet ENOSPC."""
    mounted(folder, "size=256k")
    (folder / "filler").write_bytes(b"\0" * (256 * 1024 - free))
    return folder


def unmount_below(folder: Path) -> None:
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1]
        if point.startswith(str(folder)):
            subprocess.run(["umount", point], check=False)


def judge(
    case: Case, proc: subprocess.CompletedProcess[str] | None, seconds: float, run_dir: Path, tmp: Path
) -> tuple[str, str]:
    verdict, detail = _judge(case, proc, seconds, run_dir)
    problem = case.check(tmp) if case.check is not None and proc is not None else None
    if problem:
        verdict, detail = "WRONG", problem
    if verdict == "WRONG" and case.security:
        verdict = "SECURITY"
    return verdict, detail


def _judge(case: Case, proc: subprocess.CompletedProcess[str] | None, seconds: float, run_dir: Path) -> tuple[str, str]:
    if proc is None:
        return "WRONG", f"did not finish in {LIMIT} s"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
    record = run_dir / "metrics.json"
    status = json.loads(record.read_text()).get("status") if record.exists() else None
    if case.command not in ("run", "sweep"):
        status = "completed" if proc.returncode == 0 else None  # no run directory of its own
    if case.expect == "ok":
        if proc.returncode == 0 and status == "completed":
            return "RIGHT", f"completed in {seconds:.0f} s"
        return (
            "WRONG",
            f"exit {proc.returncode}, status {status}: {(errors or proc.stderr.splitlines()[-1:] or [''])[0][:160]}",
        )
    if proc.returncode == 0:
        return "WRONG", f"exit 0, status {status}"
    if "Traceback" in proc.stderr or len(errors) != 1:
        tail = proc.stderr.strip().splitlines()[-1:] or [""]
        return "WRONG", f"{len(errors)} error lines, traceback {'Traceback' in proc.stderr}: {tail[0][:160]}"
    if status in ("completed", "running"):
        return "WRONG", f"one line but the record says {status}"
    if case.fragment and case.fragment not in errors[0]:
        return "WRONG", f"line lacks {case.fragment!r}: {errors[0][:160]}"
    return "RIGHT", errors[0][len("embedlab: error: ") :][:160]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="embedlab-probe-") as folder:
            tmp = Path(folder)
            cli = case.build(tmp)
            run_dir = tmp / "run"
            if case.command == "sweep":
                cli = ["-m", *cli, f"hydra.sweep.dir={tmp / 'sweep'}"]
            elif case.command != "run":
                pass
            elif not any(a.startswith("hydra.run.dir=") for a in cli):
                cli = [*cli, f"hydra.run.dir={run_dir}"]
            else:
                run_dir = Path(next(a for a in cli if a.startswith("hydra.run.dir=")).split("=", 1)[1])
            program = ["embedlab.run"] if case.command in ("run", "sweep") else ["embedlab.cli", case.command]
            env = {
                **os.environ,
                "EMBEDLAB_RESULTS_DIR": str(tmp / "results"),
                "EMBEDLAB_CACHE_DIR": str(tmp / "cache"),
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            started = time.perf_counter()
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", *program, *cli],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=LIMIT,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired:
                proc = None
            verdict, detail = judge(case, proc, time.perf_counter() - started, run_dir, tmp)
            unmount_below(tmp)
            for path in tmp.rglob("*"):  # let TemporaryDirectory clean a read-only folder
                if path.is_dir():
                    path.chmod(0o755)
        rows.append((case.name, case.expect, verdict, detail))
        print(f"{verdict:5} {case.name:32} {detail}", flush=True)
    lines = ["| case | expected | verdict | what happened |", "|---|---|---|---|"]
    lines += [f"| {n} | {e} | {v} | {d.replace('|', '/')} |" for n, e, v, d in rows]
    wrong = sum(v == "WRONG" for *_, v, _ in rows)
    security = sum(v == "SECURITY" for *_, v, _ in rows)
    lines.append(f"\n{len(rows)} cases, {len(rows) - wrong - security} RIGHT, {wrong} WRONG, {security} SECURITY")
    print("\n".join(lines[-1:]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 1 if wrong or security else 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
