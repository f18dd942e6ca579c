"""What an embedding learned: intrinsic scores, antonym/synonym cosines, a class-axis probe, drift by frequency,
class-indicative words, neighbours beside reference spaces, sentence projections and a TensorBoard projector export.

Every measure is computed per space (the run's trained and initial embedding, and each available reference) on the
task vocabulary, so the numbers of one run compare directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from embedlab.analysis.neighbours import frequent_words, unseen_words, write_neighbour_report
from embedlab.analysis.projection import write_projections
from embedlab.analysis.projector import export_projector
from embedlab.core import memo
from embedlab.core.jsonio import write_json
from embedlab.core.rundir import RunDir
from embedlab.data.text import FIRST_WORD, Vocabulary
from embedlab.vectors.intrinsic import intrinsic_scores
from embedlab.vectors.space import INITIAL, TRAINED, Space

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.analysis.projection import SentenceSample
    from embedlab.core.schema import Analysis

FREQUENCY_BUCKETS = ((0, 0, "0"), (1, 4, "1-4"), (5, 49, "5-49"), (50, None, "50+"))


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def mean_pair_cosine(kv: KeyedVectors, pairs: Sequence[tuple[str, str]]) -> tuple[float, int]:
    """Mean cosine over the pairs whose two words the space has, and how many pairs that was."""
    present = [(a, b) for a, b in pairs if a in kv.key_to_index and b in kv.key_to_index]
    if not present:
        return float("nan"), 0
    left = _unit(np.stack([kv[a] for a, _ in present]))
    right = _unit(np.stack([kv[b] for _, b in present]))
    return float(np.mean(np.sum(left * right, axis=1))), len(present)


@dataclass(frozen=True)
class Drift:
    """How far each word moved between the initial and trained embedding."""

    table: pd.DataFrame  # word, train_count, bucket, cosine, changed
    by_bucket: pd.DataFrame  # bucket, words, mean_cosine, share_unchanged

    def movers(self, n: int) -> pd.DataFrame:
        return self.table.nsmallest(n, "cosine")


def drift(initial: np.ndarray, trained: np.ndarray, vocab: Vocabulary, train_counts: Sequence[int]) -> Drift:
    """Cosine between each word's initial and trained row, summarised by training-split frequency."""
    rows = slice(FIRST_WORD, None)  # padding and <unk> are not words
    cosine = np.sum(_unit(initial[rows]) * _unit(trained[rows]), axis=1)
    changed = np.any(initial[rows] != trained[rows], axis=1)
    counts = np.asarray(train_counts[FIRST_WORD:], dtype=np.int64)
    labels = np.empty(len(counts), dtype=object)
    for low, high, label in FREQUENCY_BUCKETS:
        mask = (counts >= low) & (counts <= (high if high is not None else np.iinfo(np.int64).max))
        labels[mask] = label
    table = pd.DataFrame(
        {
            "word": vocab.words[FIRST_WORD:],
            "train_count": counts,
            "bucket": labels,
            "cosine": cosine,
            "changed": changed,
        }
    )
    order = [label for _, _, label in FREQUENCY_BUCKETS]
    summary = (
        table.groupby("bucket")
        .agg(
            words=("word", "size"), mean_cosine=("cosine", "mean"), share_unchanged=("changed", lambda c: 1 - c.mean())
        )
        .reindex(order)
        .reset_index()
    )
    summary["words"] = summary["words"].fillna(0).astype(int)
    return Drift(table, summary)


def log_odds(
    token_lists: Sequence[Sequence[str]], labels: np.ndarray, vocab: Vocabulary, prior: float = 0.5
) -> pd.DataFrame:
    """Per word and class, the smoothed log-odds of the word in that class versus all other classes."""
    classes = np.unique(labels)
    if len(token_lists) != len(labels):
        raise ValueError(f"{len(token_lists)} token lists but {len(labels)} labels")
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    index = vocab.index
    ids = np.fromiter((index(t) for tokens in token_lists for t in tokens), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.searchsorted(classes, labels), lengths)
    size = len(vocab)
    counts = np.bincount(rows * size + ids, minlength=len(classes) * size).reshape(len(classes), size)
    counts = counts[:, 2:].astype(np.float64) + prior  # padding and <unk> are not words
    frames = []
    for row, cls in enumerate(classes):
        inside, outside = counts[row], counts.sum(axis=0) - counts[row]
        score = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        frames.append(pd.DataFrame({"word": vocab.words[FIRST_WORD:], "class": int(cls), "log_odds": score}))
    return pd.concat(frames, ignore_index=True)


def class_indicative_words(table: pd.DataFrame, per_class: int, min_count: int, vocab: Vocabulary) -> list[str]:
    """The most class-indicative words of each class, among words seen at least min_count times."""
    counts = dict(zip(vocab.words, vocab.counts, strict=True))
    frequent = table[table["word"].map(counts.get) >= min_count]
    words: list[str] = []
    for _, group in frequent.groupby("class"):
        words += group.nlargest(per_class, "log_odds")["word"].tolist()
    return list(dict.fromkeys(words))


def class_axis_r2(
    spaces: Sequence[Space],
    odds: pd.DataFrame,
    vocab: Vocabulary,
    min_count: int,
    folds: int = 5,
    cache_dir: Path | None = None,
) -> tuple[dict[str, float], int]:
    """Cross-validated R^2 of a ridge probe predicting each word's class log-odds from its vector alone.

    Fitted on the same words in every space: those seen at least min_count times in training that all spaces have.
    Memoised by content: a reference space gives the same words and targets in every run of a task.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    counts = np.asarray(vocab.counts)
    rows = counts >= min_count
    rows[:FIRST_WORD] = False
    for space in spaces:
        rows &= space.present
    index = np.flatnonzero(rows)
    if len(index) < 10 * folds:
        return {space.name: float("nan") for space in spaces}, len(index)
    wide = odds.pivot(index="word", columns="class", values="log_odds")
    target = wide.loc[[vocab.words[i] for i in index]].to_numpy()
    if target.shape[1] == 2:  # binary: the two columns carry the same axis
        target = target[:, 1]
    cv = KFold(folds, shuffle=True, random_state=0)
    alphas = np.logspace(-1, 4, 11)

    def score(features: np.ndarray) -> dict[str, float]:
        probe = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
        return {"r2": float(np.mean(cross_val_score(probe, features, target, cv=cv, scoring="r2")))}

    scores = {}
    for space in spaces:
        features = np.ascontiguousarray(space.matrix[index])
        digest = memo.key(features, np.asarray(target, dtype=np.float64), folds, alphas)
        scores[space.name] = memo.record(cache_dir, "class-axis", digest, lambda f=features: score(f))["r2"]
    return scores, len(index)


def intrinsic_table(kvs: dict[str, KeyedVectors], cfg: Analysis, cache_dir: Path | None = None) -> pd.DataFrame:
    """Intrinsic scores per space, memoised by the space's content (a reference repeats in every run of a task)."""
    restrict = cfg.analogy_restrict
    pairs, analogies = cfg.pair_sets, cfg.analogy_sets
    rows = []
    for name, kv in kvs.items():
        digest = memo.key(kv.vectors, "\n".join(kv.index_to_key), restrict, pairs, analogies)
        scores = memo.record(
            cache_dir, "intrinsic", digest, lambda kv=kv: intrinsic_scores(kv, restrict, pairs, analogies)
        )
        rows.append(
            {"space": name, **{k: v for k, v in scores.items() if not k.endswith(("_pairs", "_restrict_vocab"))}}
        )
    return pd.DataFrame(rows)


@dataclass
class RunAnalysis:
    """Everything analyse_run measured, with the files it wrote."""

    summary: dict[str, float]
    per_space: pd.DataFrame
    drift: Drift
    probes: list[str]
    seconds: dict[str, float]


class Laps:
    """Seconds per part of the analysis: lap(name) records the time since the previous lap."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now


def choose_probes(
    odds: pd.DataFrame, vocab: Vocabulary, cfg: Analysis, task_probes: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The words whose neighbours the run reports: the task's probes, the most frequent training words, the most
    class-indicative ones and words training never saw; returns (class-indicative words, all probes)."""
    indicative = class_indicative_words(odds, cfg.indicative_probes, cfg.indicative_min_count, vocab)
    unseen = unseen_words(vocab, cfg.unseen_probes)
    frequent = frequent_words(vocab, cfg.frequent_probes)
    return indicative, list(dict.fromkeys([*task_probes, *frequent, *indicative, *unseen]))


def space_scores(kvs: dict[str, Any], cfg: Analysis, cache_dir: Path | None) -> pd.DataFrame:
    """Per space: intrinsic scores (when on) and the mean cosine of the antonym and synonym pairs it holds."""
    per_space = pd.DataFrame({"space": list(kvs)})
    if cfg.intrinsic:
        per_space = per_space.merge(intrinsic_table(kvs, cfg, cache_dir), on="space")
    for kind in ("antonyms", "synonyms"):
        pairs = [tuple(p) for p in getattr(cfg, kind)]
        found = [mean_pair_cosine(kvs[name], pairs) for name in kvs]  # type: ignore[arg-type]
        per_space[f"{kind[:-1]}_cosine"] = [value for value, _ in found]
        per_space[f"{kind[:-1]}_pairs_found"] = [n for _, n in found]
    return per_space


def summarise(
    per_space: pd.DataFrame, by_name: dict[str, Any], overlap: pd.DataFrame, moved: Any, k: int, clock: dict
) -> dict[str, float]:
    """The analysis as metrics.json keys: each space's scores, the trained space's neighbour overlap with the
    others, drift overall and by training frequency, and the seconds it took."""
    summary: dict[str, float] = {}
    for record in per_space.to_dict("records"):
        name = record.pop("space")
        for key, value in record.items():
            if key.endswith(("_pairs_found", "_attempted", "_words")):
                summary.setdefault(key, value)
            else:
                summary[f"{key}_{name}"] = value
    for other in by_name:
        if other != TRAINED and TRAINED in overlap.index:
            summary[f"overlap_at_{k}_{TRAINED}_{other}"] = float(overlap.loc[TRAINED, other])
    summary["drift_share_unchanged"] = float(1 - moved.table["changed"].mean())
    summary["drift_mean_cosine"] = float(moved.table["cosine"].mean())
    for row in moved.by_bucket.to_dict("records"):
        summary[f"drift_mean_cosine_{row['bucket']}"] = row["mean_cosine"]
        summary[f"drift_share_unchanged_{row['bucket']}"] = row["share_unchanged"]
    summary["analysis_seconds"] = round(sum(clock.values()), 3)

    return summary


def write_analysis(
    out_dir: Path,
    title: str,
    per_space: pd.DataFrame,
    references: dict[str, str] | None,
    moved: Any,
    indicative: Any,
    probes: list[str],
    overlap: pd.DataFrame,
    k: int,
    clock: dict,
) -> None:
    """spaces.csv, analysis.json and analysis.md."""
    per_space.to_csv(RunDir(out_dir).spaces, index=False)
    report = {
        "title": title,
        "spaces": per_space.to_dict("records"),
        "references": references or {},
        "drift_by_frequency": moved.by_bucket.to_dict("records"),
        "class_indicative_words": indicative,
        "probes": probes,
        f"overlap_at_{k}": overlap.round(4).to_dict(),
        "seconds": clock,
    }
    write_json(out_dir / "analysis.json", report)
    RunDir(out_dir).analysis.write_text(analysis_markdown(report, k))


def analyse_run(
    out_dir: Path,
    vocab: Vocabulary,
    spaces: Sequence[Space],
    train_tokens: Sequence[Sequence[str]],
    train_labels: np.ndarray,
    cfg: Analysis,
    task_probes: Sequence[str] = (),
    title: str = "",
    sentences: SentenceSample | None = None,
    references: dict[str, str] | None = None,
    cache_dir: Path | None = None,
) -> RunAnalysis:
    """Measure every space and write analysis.json/.md, neighbours, drift, log-odds, projections, projector."""
    lap = Laps()
    clock = lap.seconds

    # The projection figure needs only the spaces and sentences: it is drawn in a worker thread while the rest
    # is measured (t-SNE's gradient keeps one core busy; on SST-2 this takes ~1 s off a ~4 s analysis).
    projecting = None
    if sentences is not None and cfg.projection.sentences:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1)
        projecting = pool.submit(write_projections, out_dir, spaces, sentences, cfg.projection, title, cache_dir)
        pool.shutdown(wait=False)

    try:
        by_name = {space.name: space for space in spaces}
        kvs = {space.name: space.keyed(vocab) for space in spaces}
        per_space = space_scores(kvs, cfg, cache_dir)
        lap("intrinsic")

        odds = log_odds(train_tokens, train_labels, vocab)
        odds.to_csv(out_dir / "log_odds.csv", index=False)
        axis, axis_words = class_axis_r2(spaces, odds, vocab, cfg.class_axis_min_count, cache_dir=cache_dir)
        per_space["class_axis_r2"] = per_space["space"].map(axis)
        per_space["class_axis_words"] = axis_words
        lap("polarity")

        moved = drift(by_name[INITIAL].matrix, by_name[TRAINED].matrix, vocab, vocab.counts)
        moved.by_bucket.to_csv(RunDir(out_dir).drift, index=False)
        moved.movers(cfg.movers).to_csv(out_dir / "drift_top_movers.csv", index=False)
        lap("drift")

        indicative, probes = choose_probes(odds, vocab, cfg, task_probes)
        k = cfg.neighbours_k
        overlap = write_neighbour_report(out_dir, kvs, probes, k, title)
        lap("neighbours")

        if cfg.projector_words > 0:
            export_projector(
                RunDir(out_dir).projector,
                vocab,
                {s.name: s.matrix for s in spaces if s.name in (TRAINED, INITIAL)},
                cfg.projector_words,
                odds,
            )
        lap("projector")
    finally:  # never leave the worker writing into the run directory after a failure here
        if projecting is not None:
            from concurrent.futures import wait

            wait([projecting])
    if projecting is not None:
        projecting.result()  # re-raises what went wrong in the worker
    lap("projection_wait")  # what the projection figure added beyond the parts measured while it was drawn

    summary = summarise(per_space, by_name, overlap, moved, k, clock)
    write_analysis(out_dir, title, per_space, references, moved, indicative, probes, overlap, k, clock)
    return RunAnalysis(summary, per_space, moved, probes, clock)


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def analysis_markdown(report: dict[str, Any], k: int) -> str:
    spaces = pd.DataFrame(report["spaces"])
    shown = [
        c
        for c in (
            "space",
            "wordsim353_spearman",
            "wordsim353_coverage",
            "simlex999_spearman",
            "analogy_accuracy",
            "antonym_cosine",
            "synonym_cosine",
            "class_axis_r2",
        )
        if c in spaces
    ]
    overlap = pd.DataFrame(report[f"overlap_at_{k}"]).reset_index(names="space")
    parts = [
        f"# {report['title']}\n",
        "## Per space\n",
        "Spearman and analogy accuracy on the task vocabulary; antonym/synonym: mean cosine of the configured pairs; "
        f"class_axis_r2: cross-validated R^2 of a ridge probe predicting class log-odds from the word vector "
        f"({int(spaces['class_axis_words'].iloc[0])} words).\n",
        _markdown_table(spaces[shown]),
        f"\n## Neighbour overlap@{k} (mean over probe words both spaces have)\n",
        _markdown_table(overlap),
        "\n## Drift: cosine between initial and trained rows by training-split frequency\n",
        _markdown_table(pd.DataFrame(report["drift_by_frequency"])),
        "\n## References\n",
        *[f"- {name}: {where}\n" for name, where in report["references"].items()],
        "\nClass-indicative words (log-odds): " + ", ".join(report["class_indicative_words"]) + "\n",
        "\nSee neighbours.md / neighbours.html, projection.png, and `tensorboard --logdir projector`.\n",
    ]
    return "".join(parts)
