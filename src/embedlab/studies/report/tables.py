"""The report's tables, computed from the results table (one row per run) and the files inside the runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.errors import EmbedlabError
from embedlab.core.rundir import RunDir
from embedlab.studies.report.names import interval, percent
from embedlab.studies.results import CELL, collect, paired, summarise, tested, unseen_table
from embedlab.training.baselines import BASELINES
from embedlab.vectors.space import INITIAL, TRAINED

FIGURES = "figures"

NEIGHBOURS_SHOWN = 6

PROBES_SHOWN = 5

DRIFT_BUCKETS = ["0", "1-4", "5-49", "50+"]


def load_study(folder: Path) -> pd.DataFrame:
    """The study's results table: runs.parquet when it is there, else rebuilt from the run directories."""
    table = Path(folder) / "runs.parquet"
    return pd.read_parquet(table) if table.exists() else collect(Path(folder))


def completed(frame: pd.DataFrame) -> pd.DataFrame:
    """The completed runs that scored the test split (tuning trials are read by the tuning section only)."""
    done = tested(frame).copy()
    done["source"] = done["embedding"].astype(str) + "/" + done["mode"].astype(str)
    return done


def accuracy_table(frame: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Per cell: n seeds, mean, std, 95% CI and the mean training-set size, ready to show."""
    cells = summarise(frame, metric)
    if cells.empty:
        return cells
    if "n_train" in frame:
        sizes = completed(frame).groupby(CELL, dropna=False)["n_train"].mean().rename("n_train").reset_index()
        cells = cells.merge(sizes, on=CELL, how="left")
    return cells.rename(columns={"config.task.train_size": "train_size"})


def versus_scratch(frame: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Each source minus the scratch Embedding of the same setting, on shared seeds, with both p-values."""
    pairs = paired(frame, metric)
    if pairs.empty:
        return pairs
    rows = []
    for record in pairs.to_dict("records"):
        if "scratch/scratch" not in (record["a"], record["b"]):
            continue
        sign = 1.0 if record["b"] == "scratch/scratch" else -1.0
        rows.append(
            {
                "task": record["task"],
                "model": record["model"],
                "train_size": record["config.task.train_size"],
                "source": record["a"] if sign > 0 else record["b"],
                "seeds": record["seeds"],
                "difference": sign * record["mean_difference"],
                "ci95_low": sign * (record["difference_ci95_low"] if sign > 0 else record["difference_ci95_high"]),
                "ci95_high": sign * (record["difference_ci95_high"] if sign > 0 else record["difference_ci95_low"]),
                "paired_t_p": record["paired_t_p"],
                "mcnemar_p": record["mcnemar_p"],
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["task", "model", "difference"], ascending=[True, True, False]) if rows else table


def baseline_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each non-neural baseline beside the best neural cell of the same task and training size."""
    cells = summarise(frame)
    if cells.empty or not cells["model"].isin(BASELINES).any():
        return pd.DataFrame()
    cells["source"] = cells["embedding"].astype(str) + "/" + cells["mode"].astype(str)
    rows = []
    for (task, size), group in cells.groupby(["task", "config.task.train_size"], dropna=False, sort=True):
        neural = group[~group["model"].isin(BASELINES)]
        best = neural.loc[neural["mean"].idxmax()] if not neural.empty else None
        for record in group[group["model"].isin(BASELINES)].to_dict("records"):
            rows.append(
                {
                    "task": task,
                    "train_size": size,
                    "baseline": record["model"]
                    + ("" if record["source"] == "scratch/scratch" else f" + {record['embedding']}"),
                    "n": record["n"],
                    "baseline_accuracy": record["mean"],
                    "ci95_low": record["ci95_low"],
                    "ci95_high": record["ci95_high"],
                    "best_neural": None if best is None else f"{best['model']} {best['source']}",
                    "best_neural_accuracy": None if best is None else best["mean"],
                    "neural_minus_baseline": None if best is None else best["mean"] - record["mean"],
                }
            )
    return pd.DataFrame(rows)


def unseen_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The unseen-word comparison (results.unseen_table) as the report shows it."""
    table = unseen_table(frame)
    if table.empty:
        return table
    return table.rename(columns={"config.task.train_size": "train_size"})


def _cell_means(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    done = completed(frame)
    present = [c for c in columns if c in done]
    if not present:
        return pd.DataFrame()
    setting = ["task", "model", "config.task.train_size", "source"]
    means = done.groupby(setting, dropna=False)[present].agg(lambda s: pd.to_numeric(s, errors="coerce").mean())
    scores = [c for c in present if c != "test_accuracy"]
    means = means.dropna(subset=scores or None, how="all")  # baselines have no embedding to score
    return means.reset_index().rename(columns={"config.task.train_size": "train_size"})


def _before_after(*metrics: str) -> list[str]:
    return [f"{metric}_{space}" for metric in metrics for space in (INITIAL, TRAINED)]


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """How much of the training text the pretrained vectors cover: split on spaces, and as the task tokenizes."""
    table = _cell_means(frame, ["coverage_tokens_whitespace", "coverage_tokens"])
    if table.empty or "coverage_tokens_whitespace" not in table:
        return pd.DataFrame()
    table = table.dropna(subset=["coverage_tokens_whitespace"]).drop(columns=["model"])
    return table.drop_duplicates().reset_index(drop=True)


def intrinsic_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Word-similarity and analogy scores of the run's space before and after training, beside accuracy."""
    metrics = _before_after("wordsim353_spearman", "simlex999_spearman", "analogy_accuracy")
    return _cell_means(frame, [*metrics, "test_accuracy"])


def semantic_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Antonym and synonym cosines and the class-axis R^2, before and after training."""
    return _cell_means(frame, _before_after("antonym_cosine", "synonym_cosine", "class_axis_r2"))


def drift_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean cosine between a word's initial and trained vector, and the share never changed, by training count."""
    columns = [f"drift_mean_cosine_{b}" for b in DRIFT_BUCKETS] + [f"drift_share_unchanged_{b}" for b in DRIFT_BUCKETS]
    return _cell_means(frame, columns)


def neighbour_table(frame: pd.DataFrame, task: str, words: Sequence[str] | None = None, k: int = NEIGHBOURS_SHOWN):
    """Probe word x source: the trained space's nearest neighbours (each source's lowest-seed run of the task)."""
    done = completed(frame)
    listed = np.array([RunDir(d).neighbours.exists() for d in done["run_dir"]], dtype=bool)
    done = done[(done["task"] == task).to_numpy() & listed]
    done = done.sort_values(["seed", "run_dir"]).drop_duplicates("source")
    lists: dict[str, dict[str, str]] = {}
    for record in done.to_dict("records"):
        path = RunDir(record["run_dir"]).neighbours
        if not path.exists():
            continue
        table = pd.read_csv(path, keep_default_na=False)  # a neighbour may be the word "nan" or "null"
        table = table[(table["space"] == TRAINED) & (pd.to_numeric(table["rank"], errors="coerce") <= k)]
        for probe, group in table.groupby("probe", sort=False):
            lists.setdefault(str(probe), {})[record["source"]] = ", ".join(group.sort_values("rank")["neighbour"])
    if not lists:
        return pd.DataFrame()
    chosen = [w for w in (words or list(lists)) if w in lists][: len(words) if words else PROBES_SHOWN]
    return pd.DataFrame({word: lists[word] for word in chosen}).rename_axis("source").reset_index()


def paper_table_path(frame: pd.DataFrame) -> Path | None:
    """The published table the runs name in `paper_table`: a bare file name is looked up among the study files
    (experiments/experiment/), so run configs do not carry the checkout's location; an absolute path is used as is."""
    from embedlab.core.config import EXPERIMENTS_DIR  # lazy: +230 ms at import (Hydra, OmegaConf)

    names = frame.get("config.paper_table")
    if names is None or not names.notna().any():
        return None
    candidates = [Path(str(name)) for name in names.dropna().unique()]
    candidates = [path if path.is_absolute() else EXPERIMENTS_DIR / "experiment" / path for path in candidates]
    for path in candidates:
        if path.exists():
            return path
    raise EmbedlabError(f"{candidates[0]} (paper_table in the runs' config) is missing; restore it or set paper_table")


def paper_comparison(frame: pd.DataFrame, table: Path) -> pd.DataFrame:
    """Our cells (accuracy %, mean over seeds or folds, 95% CI) beside a published table (rows: embedding, mode,
    paper_model; one column per task, accuracy in %)."""
    paper = pd.read_csv(table)
    missing = {"embedding", "mode", "paper_model"} - set(paper.columns)
    if missing:
        raise EmbedlabError(
            f"{table}: columns {sorted(missing)} are missing; expected embedding, mode, paper_model, <task>..."
        )
    cells = accuracy_table(frame)
    rows = []
    for record in cells.to_dict("records"):
        match = paper[(paper["embedding"] == record["embedding"]) & (paper["mode"] == record["mode"])]
        if match.empty or record["task"] not in paper.columns:
            continue
        published = float(match[record["task"]].iloc[0])
        rows.append(
            {
                "task": record["task"],
                "model": match["paper_model"].iloc[0],
                "ours_mean": 100 * record["mean"],
                "ours_ci95": interval(100 * record["ci95_low"], 100 * record["ci95_high"], percent),
                "runs": record["n"],
                "paper": published,
                "gap": 100 * record["mean"] - published,
            }
        )
    return pd.DataFrame(rows)


def learning_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy by training-set size per source (cells with more than one size only)."""
    cells = accuracy_table(frame)
    if cells.empty:
        return cells
    counts = cells.groupby(["task", "model", "embedding", "mode"])["train_size"].nunique(dropna=False)
    curves = counts[counts > 1].reset_index()[["task", "model", "embedding", "mode"]]
    out = cells.merge(curves, on=["task", "model", "embedding", "mode"])
    if out.empty:
        return out
    models = out.groupby("task")["model"].transform("nunique")
    neural = out["embedding"].astype(str) + "/" + out["mode"].astype(str)
    out["curve"] = neural.where(models == 1, out["model"].astype(str) + " " + neural)  # baselines beside CNNs
    return out.sort_values(["task", "curve", "n_train"])
