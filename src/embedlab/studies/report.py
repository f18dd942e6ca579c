"""A study's comparison report: report.md and a self-contained report.html (figures inlined), figures also as PNG.

Everything comes from the results table (rebuilt from the run directories) and the files inside those runs, so a
copied folder of runs gives the same report. The notebook calls these same functions.

    python -m embedlab.studies.report results/seed_question      # or: make report EXPERIMENT=seed_question
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.errors import EmbedlabError
from embedlab.data.text import OOV, PAD
from embedlab.studies.results import CELL, summarise
from embedlab.vectors.space import INITIAL, TRAINED

log = logging.getLogger("embedlab")

FIGURES = "figures"
NEIGHBOURS_SHOWN = 6
PROBES_SHOWN = 5
DRIFT_BUCKETS = ["0", "1-4", "5-49", "50+"]


def load_study(folder: Path) -> pd.DataFrame:
    """The study's results table: runs.parquet when it is there, else rebuilt from the run directories."""
    from embedlab.studies.results import collect

    table = Path(folder) / "runs.parquet"
    return pd.read_parquet(table) if table.exists() else collect(Path(folder))


def completed(frame: pd.DataFrame) -> pd.DataFrame:
    done = frame[frame["status"] == "completed"].copy()
    done["source"] = done["embedding"].astype(str) + "/" + done["mode"].astype(str)
    return done


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float | np.floating) else str(value)


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
    from embedlab.studies.results import paired

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


def p_text(p: float) -> str:
    """p = 0.03 / p < 0.001 / p n/a."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}".replace("-0.0", "+0.0")


def answer(frame: pd.DataFrame) -> list[str]:
    """The study's answer in sentences made from its numbers: per task and size, with the evidence's strength."""
    against = versus_scratch(frame)
    paragraphs: list[str] = []
    if against.empty:
        return paragraphs
    from embedlab.training.baselines import BASELINES

    cells = accuracy_table(frame)
    for (task, model, size), group in against.groupby(["task", "model", "train_size"], dropna=False, sort=True):
        if model in BASELINES:
            continue
        scratch = cells[
            (cells["task"] == task)
            & (cells["model"] == model)
            & (cells["embedding"] == "scratch")
            & (cells["mode"] == "scratch")
            & ((cells["train_size"] == size) | (cells["train_size"].isna() & pd.isna(size)))
        ]
        where = f"**{task}**" + ("" if pd.isna(size) else f" (train_size {size})")
        base = f" (scratch {scratch['mean'].iloc[0]:.3f})" if not scratch.empty else ""
        parts = []
        for record in group.sort_values("difference", ascending=False).to_dict("records"):
            n = int(record["seeds"])
            interval = (
                f", 95% interval {_points(record['ci95_low'])} to {_points(record['ci95_high'])}"
                if np.isfinite(record["ci95_low"])
                else ""
            )
            verdict = (
                "beats scratch"
                if record["difference"] > 0 and record["paired_t_p"] < 0.05
                else "trails scratch"
                if record["difference"] < 0 and record["paired_t_p"] < 0.05
                else "no clear difference"
                if n > 1
                else "one seed only: no conclusion"
            )
            parts.append(
                f"{record['source']} {_points(record['difference'])} points{interval} ({p_text(record['paired_t_p'])}, "
                f"McNemar {p_text(record['mcnemar_p'])}, {n} seed{'s' if n != 1 else ''}): {verdict}"
            )
        paragraphs.append(
            f"Does a pretrained source beat the scratch Embedding on {where} with {model}{base}? "
            + "; ".join(parts)
            + "."
        )
    baselines = baseline_table(frame)
    for task, group in baselines.groupby("task", sort=True) if not baselines.empty else []:
        best = group.sort_values("baseline_accuracy", ascending=False).iloc[0]
        if best["best_neural_accuracy"] is None or pd.isna(best["best_neural_accuracy"]):
            continue
        lead = best["neural_minus_baseline"]
        paragraphs.append(
            f"Is the neural comparison competitive on **{task}**? The best baseline, {best['baseline']}, reaches "
            f"{best['baseline_accuracy']:.3f}; the best neural cell ({best['best_neural']}) "
            f"{'leads it by' if lead >= 0 else 'trails it by'} {abs(100 * lead):.1f} points."
        )
    semantic = semantic_table(frame)
    scratch_rows = semantic[semantic["source"] == "scratch/scratch"] if not semantic.empty else semantic
    for record in scratch_rows.to_dict("records") if not scratch_rows.empty else []:
        if not np.isfinite(record.get("class_axis_r2_trained", np.nan)):
            continue
        paragraphs.append(
            f"What did the scratch Embedding learn on **{record['task']}**? A class axis: a ridge probe predicts a "
            f"word's class log-odds from its trained vector with R^2 {record['class_axis_r2_trained']:.2f} "
            f"(initial {record['class_axis_r2_initial']:.2f}), and antonyms end at cosine "
            f"{record['antonym_cosine_trained']:+.2f} (initial {record['antonym_cosine_initial']:+.2f}): polarity, "
            "not word meaning."
        )
    return paragraphs


def baseline_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each non-neural baseline beside the best neural cell of the same task and training size."""
    from embedlab.studies.results import summarise
    from embedlab.training.baselines import BASELINES

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
    from embedlab.studies.results import unseen_table

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
    listed = np.array([(Path(d) / "neighbours.csv").exists() for d in done["run_dir"]], dtype=bool)
    done = done[(done["task"] == task).to_numpy() & listed]
    done = done.sort_values(["seed", "run_dir"]).drop_duplicates("source")
    lists: dict[str, dict[str, str]] = {}
    for record in done.to_dict("records"):
        path = Path(record["run_dir"]) / "neighbours.csv"
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


BROWSER_WORDS = 400  # the most frequent training words (and the probes) the in-page browser answers for
BROWSER_K = 8


def browser_data(frame: pd.DataFrame, task: str, n_words: int = BROWSER_WORDS, k: int = BROWSER_K) -> dict | None:
    """Neighbours of the task's most frequent words in every space of the study, for the report's word browser.

    Spaces: each source's trained embedding (its lowest seed) and, once per pretrained source, its vectors before
    training. Each word carries its training count and class log-odds (from the run's projector metadata).
    """
    from gensim.models import KeyedVectors

    done = completed(frame)
    done = done[(done["task"] == task).to_numpy()]
    has = np.array([(Path(d) / "embedding_trained.w2v.bin").exists() for d in done["run_dir"]], dtype=bool)
    runs = done[has].sort_values(["seed", "run_dir"]).drop_duplicates("source")
    if runs.empty:
        return None
    spaces: dict[str, KeyedVectors] = {}
    for record in runs.sort_values("source").to_dict("records"):
        folder = Path(record["run_dir"])
        spaces[f"{record['source']} trained"] = KeyedVectors.load_word2vec_format(
            str(folder / "embedding_trained.w2v.bin"), binary=True
        )
        before = f"{record['embedding']} before training"
        if record["embedding"] != "scratch" and before not in spaces:
            spaces[before] = KeyedVectors.load_word2vec_format(str(folder / "embedding_initial.w2v.bin"), binary=True)
    first = next(iter(spaces.values()))
    probes = runs.get("config.task.probe_words")
    extra = json.loads(str(probes.dropna().iloc[0])) if probes is not None and probes.notna().any() else []
    frequent = [w for w in first.index_to_key if w.strip() and w not in (PAD, OOV)][:n_words]
    words = list(dict.fromkeys([*extra, *frequent]))
    words = [w for w in words if w in first.key_to_index]
    info: dict[str, dict[str, float]] = {}
    for record in runs.to_dict("records"):
        meta = Path(record["run_dir"]) / "projector" / "metadata.tsv"
        if meta.exists():
            table = pd.read_csv(meta, sep="\t", keep_default_na=False, quoting=3)
            odds = [c for c in table.columns if c.startswith("log_odds_")]
            for row in table.to_dict("records"):
                info[str(row["word"])] = {"count": int(row["count"]), **{c: float(row[c]) for c in odds}}
            break
    neighbours: dict[str, dict[str, list[str]]] = {w: {} for w in words}
    for name, kv in spaces.items():
        matrix = kv.vectors / np.maximum(np.linalg.norm(kv.vectors, axis=1, keepdims=True), 1e-12)
        present = [w for w in words if w in kv.key_to_index]
        if not present:
            continue
        rows = np.array([kv.key_to_index[w] for w in present])
        sims = matrix[rows] @ matrix.T
        sims[np.arange(len(rows)), rows] = -np.inf
        special = [kv.key_to_index[w] for w in (PAD, OOV) if w in kv.key_to_index]  # run files hold neither
        sims[:, special] = -np.inf
        top = np.argsort(-sims, axis=1)[:, :k]
        for word, order in zip(present, top, strict=True):
            neighbours[word][name] = [kv.index_to_key[i] for i in order]
    return {
        "spaces": list(spaces),
        "words": {w: {"neighbours": neighbours[w], **info.get(w, {})} for w in words},
        "first": opening_word(words, extra, spaces),
    }


def opening_word(words: list[str], probes: list[str], spaces: dict) -> str:
    """The word the browser opens on: the first probe word every space holds, else the most frequent such word
    with a letter in it (not `.` or `,`, whose neighbours show nothing)."""
    shared = [w for w in words if all(w in kv.key_to_index for kv in spaces.values())]
    for candidates in ([w for w in shared if w in probes], [w for w in shared if any(c.isalpha() for c in w)], shared):
        if candidates:
            return candidates[0]
    return words[0] if words else ""


BROWSER_SCRIPT = """
document.querySelectorAll('.browser').forEach(function (box) {
  var data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
  var input = box.querySelector('input'), out = box.querySelector('.answer');
  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function show() {
    var word = input.value.trim().toLowerCase();
    var entry = Object.prototype.hasOwnProperty.call(data.words, word) ? data.words[word] : undefined;
    out.replaceChildren();
    if (!entry) { out.textContent = word ? '"' + word + '" is not among the words this report indexed.' : ''; return; }
    var facts = [];
    if (entry.count !== undefined) facts.push('training count ' + entry.count);
    Object.keys(entry).filter(function (k) { return k.indexOf('log_odds_') === 0; }).forEach(function (k) {
      facts.push('log-odds class ' + k.slice(9) + ' ' + Number(entry[k]).toFixed(2));
    });
    var line = el('p'); line.appendChild(el('strong', word));
    if (facts.length) line.appendChild(document.createTextNode(': ' + facts.join(', ')));
    var scroll = el('div'), table = el('table'), head = el('thead'), headRow = el('tr'), body = el('tbody');
    scroll.className = 'scroll'; table.className = 'table neighbours';
    headRow.appendChild(el('th', 'rank'));
    data.spaces.forEach(function (s) { headRow.appendChild(el('th', s)); });
    for (var r = 0; r < 8; r++) {
      var row = el('tr'); row.appendChild(el('td', String(r + 1)));
      data.spaces.forEach(function (s) { var n = entry.neighbours[s] || []; row.appendChild(el('td', n[r] || '')); });
      body.appendChild(row);
    }
    head.appendChild(headRow); table.appendChild(head); table.appendChild(body); scroll.appendChild(table);
    out.appendChild(line); out.appendChild(scroll);
  }
  input.addEventListener('input', show);
  show();
});
"""


def script_json(data: object) -> str:
    """JSON for a <script type="application/json"> element: no <, > or & survives, so nothing in the data (a word
    such as `</script><img onerror=...>`) can close the element or open a tag; JSON.parse reads it back unchanged."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029")


def browser_html(task: str, data: dict) -> str:
    """A word box and its neighbours in every space; the data sits in the page (no server, no network)."""
    words = list(data["words"])
    options = "".join(f'<option value="{html.escape(w)}">' for w in words)
    first = html.escape(data.get("first") or (words[0] if words else ""))
    task_id = html.escape(task)
    return (
        f'<div class="browser" data-task="{task_id}"><label>Word: <input list="words-{task_id}" '
        f'value="{first}" autocomplete="off"></label><datalist id="words-{task_id}">{options}</datalist>'
        f'<div class="answer"></div><script type="application/json">{script_json(data)}</script></div>'
    )


def paper_table_path(frame: pd.DataFrame) -> Path | None:
    """The published table the runs name in `paper_table`: a bare file name is looked up among the study files
    (experiments/experiment/), so run configs do not carry the checkout's location; an absolute path is used as is."""
    from embedlab.core.config import EXPERIMENTS_DIR

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
                "ours_ci95": f"{100 * record['ci95_low']:.1f}-{100 * record['ci95_high']:.1f}"
                if pd.notna(record["ci95_low"])
                else "",
                "runs": record["n"],
                "paper": published,
                "gap": 100 * record["mean"] - published,
            }
        )
    return pd.DataFrame(rows)


def paper_sentences(frame: pd.DataFrame, table: Path) -> list[str]:
    """How far each task's cells are from the published numbers, in one sentence per task."""
    try:
        comparison = paper_comparison(frame, table)
    except EmbedlabError:
        return []
    if comparison.empty:  # no run matches a row of the paper's table (e.g. only vectors the paper never used)
        return []
    out = []
    for task, group in comparison.groupby("task", sort=True):
        parts = [
            f"{r['model']} {r['ours_mean']:.1f} vs {r['paper']:.1f} ({r['gap']:+.1f}, {int(r['runs'])} runs)"
            for r in group.to_dict("records")
        ]
        worst = group.loc[group["gap"].abs().idxmax()]
        out.append(
            f"How far from {table.stem} on **{task}**? " + "; ".join(parts) + f". Largest gap: {worst['model']} "
            f"{worst['gap']:+.1f} points."
        )
    return out


def _figure_path(out_dir: Path, name: str) -> Path:
    (out_dir / FIGURES).mkdir(parents=True, exist_ok=True)
    return out_dir / FIGURES / name


def plot_accuracy(cells: pd.DataFrame, out: Path | None = None):
    """Mean test accuracy per source and mode with 95% intervals, one panel per task (and training size)."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    panels = list(cells.groupby(["task", "model", "train_size"], dropna=False, sort=True))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.5 * len(panels), 0.45 * cells.groupby("task").size().max() + 1.8)
    )
    axes = np.atleast_1d(axes)
    for ax, ((task, model, size), group) in zip(axes, panels, strict=True):
        group = group.sort_values("mean")
        labels = group["embedding"].astype(str) + "/" + group["mode"].astype(str)
        err = np.vstack([group["mean"] - group["ci95_low"], group["ci95_high"] - group["mean"]])
        ax.barh(labels, group["mean"], xerr=np.nan_to_num(err), color="#4c72b0", alpha=0.8, capsize=3)
        low = float(np.nanmin(group["ci95_low"].fillna(group["mean"])))
        ax.set_xlim(max(0.0, low - 0.03), min(1.0, float(np.nanmax(group["ci95_high"].fillna(group["mean"]))) + 0.02))
        size_text = "" if size is None or (isinstance(size, float) and np.isnan(size)) else f", train {size}"
        ax.set_title(f"{task} / {model}{size_text}")
        ax.set_xlabel("test accuracy (mean over seeds, 95% CI)")
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
        plt.close(fig)
    return fig


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


def plot_learning_curves(curves: pd.DataFrame, out: Path | None = None):
    """Test accuracy against the number of training examples (log scale), a line and 95% band per source."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    tasks = sorted(curves["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5))
    axes = np.atleast_1d(axes)
    for ax, task in zip(axes, tasks, strict=True):
        for curve, group in curves[curves["task"] == task].groupby("curve"):
            group = group.sort_values("n_train")
            line = ax.plot(group["n_train"], group["mean"], marker="o", label=curve)[0]
            ax.fill_between(group["n_train"], group["ci95_low"], group["ci95_high"], alpha=0.15, color=line.get_color())
        ax.set_xscale("log")
        ax.set_title(task)
        ax.set_xlabel("training examples")
        ax.set_ylabel("test accuracy (95% CI)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
        plt.close(fig)
    return fig


def plot_intrinsic(table: pd.DataFrame, out: Path | None = None):
    """WordSim-353 of the run's space before (open) and after (filled) training against test accuracy."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    tasks = sorted(table["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5))
    axes = np.atleast_1d(axes)
    for ax, task in zip(axes, tasks, strict=True):
        group = table[table["task"] == task]
        for record in group.to_dict("records"):
            x0, x1, y = (
                record["wordsim353_spearman_initial"],
                record["wordsim353_spearman_trained"],
                record["test_accuracy"],
            )
            ax.annotate("", (x1, y), (x0, y), arrowprops={"arrowstyle": "->", "color": "grey", "lw": 0.8})
            ax.scatter([x0], [y], facecolors="none", edgecolors="#4c72b0")
            ax.scatter([x1], [y], color="#4c72b0")
            ax.annotate(record["source"], (x1, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_title(task)
        ax.set_xlabel("WordSim-353 Spearman of the run's embedding (open: before, filled: after training)")
        ax.set_ylabel("test accuracy")
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
        plt.close(fig)
    return fig


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[pd.DataFrame] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    html: str = ""  # an interactive part, in report.html only


COLUMN_NAMES = {
    "n": "seeds",
    "mean": "mean accuracy",
    "std": "std",
    "ci95_low": "95% CI low",
    "ci95_high": "95% CI high",
    "paired_t_p": "paired t p",
    "mcnemar_p": "McNemar p",
    "difference": "difference",
    "train_size": "train size",
    "n_train": "training examples",
    "baseline_accuracy": "baseline accuracy",
    "best_neural_accuracy": "best neural accuracy",
    "neural_minus_baseline": "neural - baseline",
    "unseen_words": "unseen words",
    "sentences_per_seed": "sentences",
    "accuracy_source": "accuracy (source)",
    "accuracy_scratch": "accuracy (scratch)",
    "coverage_tokens_whitespace": "token coverage, split on spaces",
    "coverage_tokens": "token coverage, task tokenizer",
}


def _number(value: float) -> str:
    """4 significant digits, never scientific notation (8.374e-05 reads as 0.0001)."""
    return f"{value:.4f}" if 0 < abs(value) < 0.001 else _fmt(value)


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}" if value < 0.01 else f"{value:.2f}"


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """Readable: p-values as 0.03 / < 0.001, other floats to 4 decimals, blank for missing, empty columns dropped,
    plain column names; every column as plain objects (parquet reads give Arrow types)."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        values = table[column].astype(object)
        if pd.api.types.is_float_dtype(table[column]):
            show = _p if str(column).endswith("_p") else _number
            out[column] = [show(float(v)) if pd.notna(v) else "" for v in values]
        else:
            out[column] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]
    empty = [c for c in out.columns if all(v == "" for v in out[c])]
    return out.drop(columns=empty).rename(columns=lambda c: column_name(str(c)))


SPACE_WORDS = {INITIAL: "before", TRAINED: "after"}
METRIC_WORDS = {
    "wordsim353_spearman": "WordSim-353 rho",
    "simlex999_spearman": "SimLex-999 rho",
    "analogy_accuracy": "analogies",
    "antonym_cosine": "antonym cos",
    "synonym_cosine": "synonym cos",
    "class_axis_r2": "class-axis R^2",
    "drift_mean_cosine": "cos(before, after), words seen",
    "drift_share_unchanged": "share unchanged, words seen",
    "test_accuracy": "test accuracy",
}


def column_name(column: str) -> str:
    """A result column as a person reads it: 'wordsim353_spearman_trained' -> 'WordSim-353 rho after'."""
    if column in COLUMN_NAMES:
        return COLUMN_NAMES[column]
    for metric, words in METRIC_WORDS.items():
        if column == metric:
            return words
        if column.startswith(metric + "_"):
            rest = column[len(metric) + 1 :]
            return f"{words} {SPACE_WORDS.get(rest, rest + ' times' if rest[:1].isdigit() else rest)}"
    return column


def header(frame: pd.DataFrame, folder: Path, title: str | None) -> Section:
    counts = frame["status"].value_counts().to_dict()
    done = completed(frame)
    not_counted = len(frame) - len(done)
    lines = [
        f"Built {time.strftime('%Y-%m-%d %H:%M')} from the run directories below `{folder}`.",
        f"**{len(frame)} runs**: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".",
        f"**{not_counted} runs failed or did not finish**; they are listed at the end and counted nowhere."
        if not_counted
        else "No run failed.",
    ]
    if not done.empty:
        lines.append(
            "Tasks: "
            + "; ".join(
                f"{task} (train {int(g['n_train'].max())}, dev {int(g['n_dev'].iloc[0])}, "
                f"test {int(g['n_test'].iloc[0])}{_data_files(g)})"
                for task, g in done.groupby("task")
            )
            + "."
        )
        models = ", ".join(sorted(done["model"].unique()))
        lines.append(f"Sources: {', '.join(sorted(done['source'].unique()))}. Models: {models}.")
        lines.append(f"Seeds: {', '.join(str(int(s)) for s in sorted(done['seed'].unique()))}.")
        seconds = pd.to_numeric(done.get("wall_seconds"), errors="coerce").sum()
        lines.append(f"Compute: {seconds / 60:.1f} run-minutes in total (sum of run wall times).")
        versions = sorted(done["embedlab_version"].astype(str).unique()) if "embedlab_version" in done else []
        if versions:
            lines.append(f"embedlab {', '.join(versions)}.")
    name = title or Path(folder).name
    tasks = ", ".join(sorted(done["task"].astype(str).unique())) if not done.empty else "no completed runs"
    heading = f"{name}: scratch Keras Embedding vs pretrained vectors on {tasks}"
    return Section(heading, "\n".join(f"- {line}" for line in lines))


def _data_files(group: pd.DataFrame) -> str:
    """', from <the task's data files>' as the runs' configs name them, or nothing."""
    columns = [c for c in group.columns if c.startswith("config.task.files.") and not c.endswith("archive")]
    files = sorted({str(v) for c in columns for v in group[c].dropna().unique() if str(v) not in ("", "None")})
    return f", from {', '.join(files)}" if files else ""


def sections(frame: pd.DataFrame, folder: Path, out_dir: Path, title: str | None = None) -> list[Section]:
    """The report's content, figures written as PNG under out_dir/figures."""
    top = header(frame, folder, title)
    said = answer(frame)
    table = paper_table_path(frame)
    if table is not None:
        said += paper_sentences(frame, table)
    parts = [Section(top.title), Section("The answer", "\n\n".join(said))] if said else [Section(top.title)]
    parts.append(Section("What ran", top.text))
    cells = accuracy_table(frame)
    if not cells.empty:
        path = _figure_path(out_dir, "accuracy.png")
        plot_accuracy(cells, path)
        shown = cells[["task", "model", "train_size", "embedding", "mode", "n", "mean", "std", "ci95_low", "ci95_high"]]
        parts.append(
            Section(
                "Test accuracy by source and mode",
                "Mean over seeds with sample standard deviation and 95% t-interval of the mean "
                "(a rerun seed counts once).",
                [_shown(shown)],
                [path],
            )
        )
    table = paper_table_path(frame)
    if table is not None:
        comparison = paper_comparison(frame, table)
        if not comparison.empty:
            parts.append(
                Section(
                    "Beside the published numbers",
                    f"Test accuracy in % (mean over the seeds or CV folds run, 95% interval) beside {table.name}; "
                    "gap = ours - paper.",
                    [_shown(comparison.round({"ours_mean": 1, "gap": 1}))],
                )
            )
    against = versus_scratch(frame)
    if not against.empty:
        parts.append(
            Section(
                "Each source against the scratch Embedding",
                "Difference in mean test accuracy on the seeds both ran (positive: the source is better); paired "
                "t-test over seeds and exact McNemar test on the pooled test predictions. All pairs: paired.csv.",
                [_shown(against)],
            )
        )
    baselines = baseline_table(frame)
    if not baselines.empty:
        parts.append(
            Section(
                "Baselines on the same splits",
                "Majority class, tf-idf + logistic regression (word 1-2 grams, C chosen on dev) and fastText "
                "supervised (with and without the pretrained vectors), trained on the same training split and scored "
                "on the same test set with the same seeds or folds, beside the best neural cell. A neural comparison "
                "that loses to tf-idf + LR answers a question nobody would deploy.",
                [_shown(baselines)],
            )
        )
    unseen = unseen_summary(frame)
    if not unseen.empty:
        parts.append(
            Section(
                "Sentences with words training never saw",
                "Test accuracy of each source against the scratch Embedding, by how many of a test sentence's words "
                "never occur in the training split (0, 1, 2, 3+), pooled over the seeds both ran, with exact McNemar "
                "on the paired predictions in the bucket. If pretrained vectors help because they place unseen words "
                "('Himalaya') near seen ones ('Alps'), the difference grows with the unseen count.",
                [_shown(unseen)],
            )
        )
    coverage = coverage_table(frame)
    if not coverage.empty:
        parts.append(
            Section(
                "How much of the text the pretrained vectors cover",
                "Share of the training split's tokens that have a pretrained vector (mean over seeds): the text split "
                "on spaces, and as the task's tokenizer splits it (clitics and punctuation apart, as the vectors' "
                "corpus was tokenized: `doesn't` -> `does n't`). Words without a vector start from random rows.",
                [_shown(coverage)],
            )
        )
    curves = learning_curves(frame)
    if not curves.empty:
        path = _figure_path(out_dir, "learning_curves.png")
        plot_learning_curves(curves, path)
        shown = curves.pivot_table(index=["task", "curve"], columns="n_train", values="mean").reset_index()
        shown.columns = [f"n={int(c)}" if isinstance(c, float | int) else str(c) for c in shown.columns]
        parts.append(
            Section(
                "Learning curves",
                "Mean test accuracy by number of training examples (nested samples).",
                [_shown(shown)],
                [path],
            )
        )
    intrinsic = intrinsic_table(frame)
    if not intrinsic.empty and "wordsim353_spearman_trained" in intrinsic:
        path = _figure_path(out_dir, "intrinsic_vs_accuracy.png")
        plot_intrinsic(intrinsic.dropna(subset=["wordsim353_spearman_trained"]), path)
        parts.append(
            Section(
                "Word meaning (intrinsic scores) before and after training, beside accuracy",
                "Spearman correlation with human similarity judgements on the task vocabulary, and analogy accuracy, "
                "of the run's own embedding before and after training (means over seeds).",
                [_shown(intrinsic)],
                [path],
            )
        )
    semantic = semantic_table(frame)
    if not semantic.empty:
        parts.append(
            Section(
                "Antonyms, synonyms and the class axis",
                "Mean cosine of antonym and synonym pairs, and R^2 of a ridge probe from word vector to the word's "
                "class log-odds: a task-tuned space pushes antonyms apart and lines words up on the class axis.",
                [_shown(semantic)],
            )
        )
    drift = drift_table(frame)
    if not drift.empty:
        parts.append(
            Section(
                "Drift by training frequency",
                "Mean cosine between each word's initial and trained vector, and the share of rows never changed, "
                "by how often the word occurs in the training split (0: dev/test words only).",
                [_shown(drift)],
            )
        )
    done = completed(frame)
    for task in sorted(done["task"].unique()) if not done.empty else []:
        probes = done[done["task"] == task].get("config.task.probe_words")
        words = None
        if probes is not None and probes.notna().any():
            words = json.loads(str(probes.dropna().iloc[0]))[:PROBES_SHOWN]
        data = browser_data(frame, task)
        if data is not None:
            parts.append(
                Section(
                    f"{task}: neighbour browser",
                    f"Type or pick one of the {len(data['words'])} most frequent training words (or a probe word) to "
                    f"see its {BROWSER_K} nearest neighbours in every space of this study side by side, with its "
                    "training count and class log-odds (in report.html).",
                    html=browser_html(task, data),
                )
            )
        table = neighbour_table(frame, task, words)
        figure = out_dir / f"projection_{task}.png"
        if table.empty and not figure.exists():
            continue
        parts.append(
            Section(
                f"{task}: nearest neighbours and sentence projections",
                f"Top {NEIGHBOURS_SHOWN} neighbours of probe words in each source's trained space (its lowest seed). "
                "The figure projects the same test sentences, mean-pooled after each run's embedding layer.",
                [table] if not table.empty else [],
                [figure] if figure.exists() else [],
            )
        )
    failed = frame[frame["status"] != "completed"]
    if not failed.empty:
        columns = [c for c in ("status", "task", "embedding", "mode", "seed", "error", "run_dir") if c in failed]
        parts.append(
            Section("Runs that failed or did not finish", "Not counted anywhere above.", [failed[columns].fillna("")])
        )
    return parts


CAPTIONS = {
    "accuracy": "Mean test accuracy per source with its 95% interval, one panel per task: bars whose intervals do not "
    "overlap the scratch bar's differ beyond seed noise.",
    "learning_curves": "Accuracy against the number of training examples (log scale) with 95% bands: where a "
    "pretrained curve lies above scratch at the left and meets it at the right, pretraining helps most when "
    "labels are scarce.",
    "intrinsic_vs_accuracy": "Each run's WordSim-353 before (open) and after (filled) training against its accuracy: "
    "the arrow's length is how much word meaning training added or removed; its height is what the task gained.",
    "projection": "The same test sentences after each source's embedding, coloured by class: the more the colours "
    "separate in a panel, the more that space encodes the label before any classifier layer.",
}


def caption_for(figure: Path) -> str:
    """What to look for in a figure of the report."""
    stem = figure.stem
    return CAPTIONS.get(stem) or CAPTIONS["projection" if stem.startswith("projection") else "accuracy"]


MARKDOWN_COLUMNS = 10  # GitHub renders wider tables, but they no longer fit a page


def split_columns(table: pd.DataFrame, limit: int = MARKDOWN_COLUMNS) -> list[pd.DataFrame]:
    """A wide table as several of at most `limit` columns, each repeating the leading label columns."""
    if len(table.columns) <= limit:
        return [table]
    keys: list[str] = []
    for column in table.columns:
        values = table[column].astype(str)
        if len(keys) < limit // 2 and not pd.to_numeric(values.replace("", np.nan), errors="coerce").notna().any():
            keys.append(column)
        else:
            break
    rest = [c for c in table.columns if c not in keys]
    width = max(1, limit - len(keys))
    return [table[keys + rest[i : i + width]] for i in range(0, len(rest), width)]


def _markdown(parts: list[Section], out_dir: Path) -> str:
    lines = []
    for i, part in enumerate(parts):
        lines.append(f"{'#' if i == 0 else '##'} {part.title}\n")
        if part.text:
            lines.append(part.text + "\n")
        for table in part.tables:
            lines.extend(chunk.to_markdown(index=False) + "\n" for chunk in split_columns(table))
        for figure in part.figures:
            lines.append(f"![{figure.stem}]({os.path.relpath(figure, out_dir)})\n")
            lines.append(f"*{caption_for(Path(figure))}*\n")
    return "\n".join(lines)


SORT_SCRIPT = """
document.querySelectorAll('table.table').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.style.cursor = 'pointer';
    th.title = 'sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows), up = th.dataset.sorted !== 'up';
      rows.sort(function (a, b) {
        var x = a.cells[column].innerText, y = b.cells[column].innerText, u = parseFloat(x), v = parseFloat(y);
        var order = (isNaN(u) || isNaN(v)) ? x.localeCompare(y) : u - v;
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      th.dataset.sorted = up ? 'up' : 'down';
    });
  });
});
"""


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` as HTML, everything else escaped."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def content_policy(script: str) -> str:
    """The page runs its own script and nothing else: no inline event handler, no other script, no network."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _html(parts: list[Section]) -> str:
    body = [f"<h1>{html.escape(parts[0].title)}</h1>"]
    anchors = [f"s{i}" for i in range(len(parts))]
    body.append(
        "<nav><strong>Contents</strong><ol>"
        + "".join(
            f'<li><a href="#{a}">{html.escape(p.title)}</a></li>' for a, p in zip(anchors[1:], parts[1:], strict=True)
        )
        + "</ol></nav>"
    )
    for i, part in enumerate(parts):
        if i:
            body.append(f'<h2 id="{anchors[i]}">{html.escape(part.title)}</h2>')
        if part.text:
            if part.text.startswith("- "):
                items = [line[2:] if line.startswith("- ") else line for line in part.text.splitlines()]
                body.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
            else:
                body.extend(f"<p>{_inline(block)}</p>" for block in part.text.split("\n\n"))
        for table in part.tables:
            body.append('<div class="scroll">' + table.to_html(index=False, border=0, classes="table") + "</div>")
        if part.html:
            body.append(part.html)
        for figure in part.figures:
            data = base64.b64encode(Path(figure).read_bytes()).decode()
            caption = html.escape(caption_for(Path(figure)))
            body.append(
                f'<figure><img alt="{html.escape(figure.stem)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    style = (
        "*{box-sizing:border-box}body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
        "line-height:1.45}.scroll{overflow-x:auto;max-width:100%}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd}"
        "th{background:#f4f4f4;position:sticky;top:0}img{max-width:100%;height:auto}nav{background:#fafafa;"
        "padding:.5em 1em;border:1px solid #eee}code{background:#f4f4f4;padding:0 3px}"
        "figure{margin:1em 0}figcaption{color:#555;font-size:13px;max-width:900px}"
    )
    title = html.escape(parts[0].title)
    script = SORT_SCRIPT + BROWSER_SCRIPT
    head = f"<meta charset='utf-8'><meta http-equiv='Content-Security-Policy' content=\"{content_policy(script)}\">"
    head += f"<meta name='viewport' content='width=device-width'><title>{title}</title><style>{style}</style>"
    scripts = f"<script>{script}</script>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(body)}{scripts}</body></html>\n"


def write_report(
    folder: Path, out_dir: Path | None = None, frame: pd.DataFrame | None = None, title: str | None = None
) -> dict[str, Path]:
    """report.md, report.html and figures/*.png for the runs below folder, written whole (temporary name, rename)."""
    from embedlab.core.jsonio import atomic_write

    folder = Path(folder)
    out_dir = Path(out_dir) if out_dir is not None else folder
    frame = load_study(folder) if frame is None else frame
    parts = sections(frame, folder, out_dir, title)
    return {
        "report.md": atomic_write(out_dir / "report.md", lambda tmp: tmp.write_text(_markdown(parts, out_dir))),
        "report.html": atomic_write(out_dir / "report.html", lambda tmp: tmp.write_text(_html(parts))),
    }


def publish(
    folder: Path, out_dir: Path | None = None, cache_dir: Path | None = None, title: str | None = None
) -> tuple[dict[str, Path], pd.DataFrame]:
    """Everything a study folder gets, from its run directories alone: the results table (runs.parquet/csv,
    cells.csv, paired.csv), projection_<task>.png per task, report.md/html. The sweep's end and `make report` call
    this; returns the files written and the table."""
    from embedlab.studies.results import build_locked

    out_dir = Path(out_dir) if out_dir is not None else Path(folder)
    written, frame = build_locked(folder, out_dir)
    for figure in projection_figures(frame, out_dir, cache_dir):
        written[figure.name] = figure
    written.update(write_report(folder, out_dir, frame, title))
    return written, frame


def main(argv: Sequence[str] | None = None) -> int:
    from embedlab.studies.results import status_counts

    parser = argparse.ArgumentParser(description="Results table and comparison report of a study's runs.")
    parser.add_argument("folder", type=Path, help="a study or sweep folder (run directories at any depth)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the folder itself)")
    parser.add_argument("--title", default=None, help="the report's title (default: the folder's name)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="memo of projections (default: none)")
    args = parser.parse_args(argv)
    try:
        written, frame = publish(args.folder, args.out, args.cache_dir, args.title)
    except EmbedlabError as exc:
        print(f"embedlab: error: {exc}", file=sys.stderr)
        return 2
    print(status_counts(frame))
    for path in written.values():
        print(path)
    return 0


def projection_figures(frame: pd.DataFrame, folder: Path, cache_dir: Path | None = None) -> list[Path]:
    """One comparison figure per task of the completed runs that drew sentence projections (one run per source)."""
    from embedlab.analysis.projection import SAMPLE_FILE, compare_projections

    written: list[Path] = []
    if "status" not in frame or "task" not in frame:
        return written
    done = frame[frame["status"] == "completed"].sort_values(["seed", "run_dir"])
    for task, runs in done.groupby("task"):
        drawn = runs[[(Path(d) / SAMPLE_FILE).exists() for d in runs["run_dir"]]]  # baselines draw none
        first = drawn.drop_duplicates(["embedding", "mode"])  # the lowest seed of each source: one panel per source
        dirs = [Path(d) for d in first["run_dir"]]
        if len(dirs) < 2:
            continue
        out = folder / f"projection_{task}.png"
        try:
            written.append(compare_projections(dirs, out, cache_dir=cache_dir))
        except EmbedlabError as exc:  # e.g. runs that drew other sentences: say so, keep the table
            log.warning("no projection comparison for %s: %s", task, exc)
    return written


if __name__ == "__main__":
    sys.exit(main())
