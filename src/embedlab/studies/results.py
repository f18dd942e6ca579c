"""One results table from run directories alone, its summary over seeds, and paired comparisons between sources.

Every run directory (any depth below a folder) with a metrics.json is one row: its status, every metric, and every
resolved config value from its config.yaml as a `config.<dotted.key>` column. Only `completed` runs are results;
`failed` runs and runs that never finished (`running`: killed, or still going) are listed, never aggregated.

    embedlab results FOLDER [--out DIR]   # runs.parquet, runs.csv, cells.csv, paired.csv, unseen.csv
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import atomic_write
from embedlab.core.rundir import STATUS_FILE, RunDir
from embedlab.data.text import UNSEEN_BUCKETS, unseen_bucket
from embedlab.studies.tuning import evp_table

CELL = ["task", "model", "config.task.train_size", "embedding", "mode"]  # a cell: one source x mode of one setting
SOURCE = ["embedding", "mode"]


def flatten(prefix: str, value: object, out: dict[str, object]) -> None:
    """Nested config into dotted keys below prefix; lists as JSON text."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}", inner, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value


MAX_RECORD_BYTES = 8 * 2**20  # a run's metrics.json or config.yaml is a few kB; a larger one is not a record


class RecordTooLarge(ValueError):
    """A record file far larger than any run writes: listed as broken without reading it."""


def _bounded_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_RECORD_BYTES:
        raise RecordTooLarge(f"{size / 2**20:.0f} MB, larger than any run's record ({MAX_RECORD_BYTES // 2**20} MB)")
    return path.read_text()


def read_run(run_dir: Path) -> dict[str, object]:
    """One row: metrics.json (status first) plus the run's resolved config; unreadable files make a `broken` row."""
    row: dict[str, object] = {"run_dir": str(run_dir)}
    try:
        metrics = json.loads(_bounded_text(run_dir / STATUS_FILE))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecordTooLarge) as exc:
        return {**row, "status": "broken", "error": f"{STATUS_FILE}: {exc}"}
    except RecursionError:
        return {**row, "status": "broken", "error": f"{STATUS_FILE}: nested too deeply to be a run's record"}
    if not isinstance(metrics, dict):
        return {**row, "status": "broken", "error": f"{STATUS_FILE} holds a {type(metrics).__name__}, not a record"}
    if metrics.get("status") == "completed":
        scored = "dev_accuracy_best" if metrics.get("trial") is not None else "test_accuracy"  # trials: dev only
        for key in (scored, "seed"):
            value = metrics.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return {**row, "status": "broken", "error": f"{STATUS_FILE}: {key} is {value!r}, not a number"}
    for key, value in metrics.items():
        row[key] = json.dumps(value) if isinstance(value, list | dict) else value
    config_path = RunDir(run_dir).config
    if config_path.exists():
        try:
            flatten("config", yaml.safe_load(_bounded_text(config_path)) or {}, row)
        except (yaml.YAMLError, RecordTooLarge, UnicodeDecodeError) as exc:
            row["status"], row["error"] = "broken", f"config.yaml: {exc}"
        except RecursionError:
            row["status"], row["error"] = "broken", "config.yaml: nested too deeply to be a run's config"
    known = ("completed", "failed", "interrupted", "broken")
    row["status"] = row.get("status") if row.get("status") in known else "incomplete"
    return row


def require_folder(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise EmbedlabError(f"{folder} is not a folder of runs; give the sweep or study folder that holds them")
    return folder


def collect(folder: Path) -> pd.DataFrame:
    """Every run directory below folder, one row each, in path order."""
    folder = require_folder(folder)
    rows = [read_run(path.parent) for path in sorted(folder.rglob(STATUS_FILE))]
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise EmbedlabError(f"{folder} holds no run directories (no {STATUS_FILE} below it)")
    for column in ("task", "model", "embedding", "mode", "seed", "config.task.train_size"):
        if column not in frame:  # a folder whose every record is broken still gets a table listing them
            frame[column] = None
    if "test_accuracy" not in frame:
        frame["test_accuracy"] = np.nan
    return frame


def write_table(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """runs.parquet (text in mixed columns) and runs.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mixed = {c: "string" for c in frame.columns if frame[c].dtype == object}
    return [
        atomic_write(out_dir / "runs.parquet", lambda tmp: frame.astype(mixed).to_parquet(tmp, index=False)),
        atomic_write(out_dir / "runs.csv", lambda tmp: frame.to_csv(tmp, index=False)),
    ]


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, sample standard deviation and the t-distribution confidence interval of the mean."""
    from scipy import stats

    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if len(data) == 0:
        return (float("nan"),) * 4  # type: ignore[return-value]
    mean = float(data.mean())
    if len(data) == 1:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(data.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(data) - 1) * std / np.sqrt(len(data)))
    return mean, std, mean - half, mean + half


def tested(frame: pd.DataFrame) -> pd.DataFrame:
    """The completed runs that scored the test split: not tuning trials, which are scored on dev only, nor a tuned
    study's untuned reference runs (untuned_runs), which would share their arm's cells and seeds."""
    done = frame[(frame["status"] == "completed") & ~untuned(frame)]
    return done[done["trial"].isna()] if "trial" in done else done


def untuned(frame: pd.DataFrame) -> pd.Series:
    """Which rows are a tuned study's untuned reference runs (metrics.json says untuned: true)."""
    if "untuned" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["untuned"].fillna(False).astype(bool)


def untuned_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """A tuned study's completed runs at the preset's own point (embedlab tune's third phase), as a frame of their
    own: the untuned verdict beside the tuned one."""
    done = frame[(frame["status"] == "completed") & untuned(frame)]
    return done.drop(columns=["untuned"], errors="ignore")


def summarise(frame: pd.DataFrame, metric: str = "test_accuracy", by: Sequence[str] = CELL) -> pd.DataFrame:
    """Per cell, over its completed runs: n seeds, mean, std and 95% confidence interval of the metric.

    A seed run twice in one cell (a rerun) counts once, its latest run directory (path order); `repeats` says so.
    """
    done = tested(frame)
    rows = []
    for key, group in done.groupby(list(by), dropna=False, sort=True):
        unique = group.drop_duplicates("seed", keep="last")
        mean, std, low, high = mean_ci(unique[metric].astype(float).tolist())
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n": len(unique),
                "mean": mean,
                "std": std,
                "ci95_low": low,
                "ci95_high": high,
                "seeds": ",".join(str(int(s)) for s in sorted(unique["seed"])),
                "repeats": len(group) - len(unique),
            }
        )
    return pd.DataFrame(rows)


def mcnemar_p(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """Exact (binomial) McNemar p-value, two-sided, on paired per-example correctness."""
    from scipy import stats

    only_a = int(np.sum(a_correct & ~b_correct))
    only_b = int(np.sum(~a_correct & b_correct))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue)


def _correct(run_dir: str) -> np.ndarray | None:
    path = RunDir(run_dir).predictions
    if not path.exists():
        return None
    predictions = pd.read_csv(path, usecols=["index", "label", "pred"]).sort_values("index")
    return (predictions["label"] == predictions["pred"]).to_numpy()


def paired(frame: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Every two sources of one setting (task, model, train size), compared on the seeds both ran.

    Paired t-test over seeds on the metric (needs two or more shared seeds), and McNemar on the pooled test
    predictions of the shared seeds (the same test examples, so the pairs are real).
    """
    from scipy import stats

    done = tested(frame).copy()
    done["source"] = done["embedding"].astype(str) + "/" + done["mode"].astype(str)
    setting = [c for c in CELL if c not in SOURCE]
    rows = []
    for key, group in done.groupby(setting, dropna=False, sort=True):
        by_source = {s: g.drop_duplicates("seed", keep="last").set_index("seed") for s, g in group.groupby("source")}
        for a, b in combinations(sorted(by_source), 2):
            seeds = sorted(set(by_source[a].index) & set(by_source[b].index))
            if not seeds:
                continue
            x = by_source[a].loc[seeds, metric].astype(float).to_numpy()
            y = by_source[b].loc[seeds, metric].astype(float).to_numpy()
            t_p = float(stats.ttest_rel(x, y).pvalue) if len(seeds) >= 2 and np.any(x != y) else float("nan")
            _, _, low, high = mean_ci((x - y).tolist())
            correct_a = [_correct(by_source[a].loc[s, "run_dir"]) for s in seeds]
            correct_b = [_correct(by_source[b].loc[s, "run_dir"]) for s in seeds]
            usable = [(u, v) for u, v in zip(correct_a, correct_b, strict=True) if u is not None and v is not None]
            same_examples = usable and all(len(u) == len(v) for u, v in usable)
            mc_p = (
                mcnemar_p(np.concatenate([u for u, _ in usable]), np.concatenate([v for _, v in usable]))
                if same_examples
                else float("nan")
            )
            rows.append(
                {
                    **dict(zip(setting, key, strict=True)),
                    "a": a,
                    "b": b,
                    "seeds": len(seeds),
                    f"mean_{metric}_a": float(x.mean()),
                    f"mean_{metric}_b": float(y.mean()),
                    "mean_difference": float((x - y).mean()),
                    "difference_ci95_low": low,
                    "difference_ci95_high": high,
                    "paired_t_p": t_p,
                    "mcnemar_p": mc_p,
                }
            )
    return pd.DataFrame(rows)


def _bucketed(run_dir: str) -> pd.DataFrame | None:
    path = RunDir(run_dir).predictions
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    if "unseen_words" not in frame:
        return None
    frame = frame.sort_values("index")
    return pd.DataFrame({"correct": (frame["label"] == frame["pred"]).to_numpy(), "unseen": frame["unseen_words"]})


def unseen_table(frame: pd.DataFrame, reference: str = "scratch/scratch") -> pd.DataFrame:
    """Each source against the scratch Embedding by how many of a test sentence's words training never saw.

    Buckets 0, 1, 2, 3+ unseen words; accuracy pooled over the seeds both ran (the same test sentences), the
    difference, and exact McNemar on the paired predictions inside the bucket.
    """
    done = tested(frame).copy()
    if done.empty:
        return pd.DataFrame()
    done["source"] = done["embedding"].astype(str) + "/" + done["mode"].astype(str)
    setting = [c for c in CELL if c not in SOURCE]
    rows = []
    for key, group in done.groupby(setting, dropna=False, sort=True):
        by_source = {s: g.drop_duplicates("seed", keep="last").set_index("seed") for s, g in group.groupby("source")}
        if reference not in by_source:
            continue
        for source in sorted(set(by_source) - {reference}):
            seeds = sorted(set(by_source[source].index) & set(by_source[reference].index))
            pairs = [
                (_bucketed(by_source[source].loc[s, "run_dir"]), _bucketed(by_source[reference].loc[s, "run_dir"]))
                for s in seeds
            ]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None and len(a) == len(b)]
            if not pairs:
                continue
            a = pd.concat([p for p, _ in pairs], ignore_index=True)
            b = pd.concat([q for _, q in pairs], ignore_index=True)
            bucket = unseen_bucket(a["unseen"].to_numpy())
            for name in UNSEEN_BUCKETS:
                members = bucket == name
                if not members.any():
                    continue
                ca, cb = a["correct"].to_numpy()[members], b["correct"].to_numpy()[members]
                rows.append(
                    {
                        **dict(zip(setting, key, strict=True)),
                        "source": source,
                        "unseen_words": name,
                        "sentences_per_seed": int(members.sum() // len(pairs)),
                        "seeds": len(pairs),
                        "accuracy_source": float(ca.mean()),
                        "accuracy_scratch": float(cb.mean()),
                        "difference": float(ca.mean() - cb.mean()),
                        "mcnemar_p": mcnemar_p(ca, cb),
                    }
                )
    return pd.DataFrame(rows)


def build(folder: Path, out_dir: Path | None = None, frame: pd.DataFrame | None = None) -> dict[str, Path]:
    """The results table, summary and paired comparisons of the runs below folder, written into out_dir."""
    frame = collect(folder) if frame is None else frame
    out_dir = Path(out_dir) if out_dir is not None else Path(folder)
    written = dict(zip(("runs.parquet", "runs.csv"), write_table(frame, out_dir), strict=True))
    tables = (("cells.csv", summarise(frame)), ("paired.csv", paired(frame)), ("unseen.csv", unseen_table(frame)))
    evp = evp_table(frame)
    if not evp.empty:  # a study with random-search trials (config.trial)
        tables += (("evp.csv", evp),)
    for name, table in tables:
        written[name] = atomic_write(out_dir / name, lambda tmp, table=table: table.to_csv(tmp, index=False))
    return written


@contextmanager
def results_lock(out_dir: Path) -> Iterator[None]:
    """The study folder's table lock: sweeps ending at once into one folder write their table and report in turn."""
    from filelock import FileLock

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir / ".results.lock")):
        yield


def build_locked(folder: Path, out_dir: Path | None = None) -> tuple[dict[str, Path], pd.DataFrame]:
    """build() while holding the folder's table lock: sweeps ending at once into one study write one at a time.

    Each build reads every run directory below the folder, so whichever sweep ends last writes a table holding
    the runs of both.
    """
    out_dir = Path(out_dir) if out_dir is not None else Path(folder)
    with results_lock(out_dir):
        frame = collect(folder)
        return build(folder, out_dir, frame), frame


def status_counts(frame: pd.DataFrame) -> str:
    """'54 runs (2 failed, 52 completed)'."""
    counts = frame["status"].value_counts().to_dict()
    return f"{len(frame)} runs ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Results table, summary over seeds and paired comparisons.")
    parser.add_argument("folder", type=Path, help="a sweep or study folder (run directories at any depth)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the folder itself)")
    args = parser.parse_args(argv)
    try:
        written = build(args.folder, args.out)
    except EmbedlabError as exc:
        print_error(exc)
        return 2
    print(status_counts(pd.read_csv(written["runs.csv"], usecols=["status"])))
    for path in written.values():
        print(path)
    return 0
