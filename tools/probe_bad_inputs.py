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


def judge(case: Case, proc: subprocess.CompletedProcess[str] | None, seconds: float, run_dir: Path) -> tuple[str, str]:
    if proc is None:
        return "WRONG", f"did not finish in {LIMIT} s"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
    record = run_dir / "metrics.json"
    status = json.loads(record.read_text()).get("status") if record.exists() else None
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
            if not any(a.startswith("hydra.run.dir=") for a in cli):
                cli = [*cli, f"hydra.run.dir={run_dir}"]
            else:
                run_dir = Path(next(a for a in cli if a.startswith("hydra.run.dir=")).split("=", 1)[1])
            env = {
                **os.environ,
                "EMBEDLAB_RESULTS_DIR": str(tmp / "results"),
                "EMBEDLAB_CACHE_DIR": str(tmp / "cache"),
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            started = time.perf_counter()
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", "embedlab.run", *cli],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=LIMIT,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired:
                proc = None
            verdict, detail = judge(case, proc, time.perf_counter() - started, run_dir)
            unmount_below(tmp)
            for path in tmp.rglob("*"):  # let TemporaryDirectory clean a read-only folder
                if path.is_dir():
                    path.chmod(0o755)
        rows.append((case.name, case.expect, verdict, detail))
        print(f"{verdict:5} {case.name:32} {detail}", flush=True)
    lines = ["| case | expected | verdict | what happened |", "|---|---|---|---|"]
    lines += [f"| {n} | {e} | {v} | {d.replace('|', '/')} |" for n, e, v, d in rows]
    wrong = sum(v == "WRONG" for *_, v, _ in rows)
    lines.append(f"\n{len(rows)} cases, {len(rows) - wrong} RIGHT, {wrong} WRONG")
    print("\n".join(lines[-1:]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 1 if wrong else 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
