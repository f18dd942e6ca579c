"""The report's sentences, made from its tables: the answer first, with its uncertainty in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.errors import EmbedlabError
from embedlab.studies.report.names import (
    accuracy,
    interval,
    model_name,
    p_value,
    percent,
    percent_gap,
    points,
    score,
    source_label,
    source_name,
    spread,
    task_name,
)
from embedlab.studies.report.tables import (
    accuracy_table,
    baseline_table,
    paper_comparison,
    semantic_table,
    versus_scratch,
)
from embedlab.studies.results import tested, untuned_runs
from embedlab.studies.tuning import ARM, budget_verdict, trial_runs, verdict_sentence
from embedlab.training.baselines import BASELINES


def p_text(p: float) -> str:
    """p = 0.03 / p < 0.001 / p n/a: the tables' p format with its letter."""
    shown = p_value(p)
    return f"p {shown}" if shown.startswith("<") or shown == "n/a" else f"p = {shown}"


def answer(frame: pd.DataFrame) -> list[str]:
    """The study's answer in sentences made from its numbers: per task and size, with the evidence's strength."""
    against = versus_scratch(frame)
    paragraphs: list[str] = []
    if against.empty:
        return paragraphs

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
        where = f"**{task_name(task)}**" + ("" if pd.isna(size) else f" (training size {size:g})")
        base = f" (scratch {accuracy(scratch['mean'].iloc[0])}%)" if not scratch.empty else ""
        parts = []
        for record in group.sort_values("difference", ascending=False).to_dict("records"):
            n = int(record["seeds"])
            shown = interval(record["ci95_low"], record["ci95_high"], points)
            interval_text = f", 95% interval {shown}" if shown else ""
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
                f"{source_label(record['source'])} {points(record['difference'])} points{interval_text} "
                f"({p_text(record['paired_t_p'])}, "
                f"McNemar {p_text(record['mcnemar_p'])}, {n} seed{'s' if n != 1 else ''}): {verdict}"
            )
        paragraphs.append(
            f"Does a pretrained source beat the scratch Embedding on {where} with {model_name(model)}{base}? "
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
            f"Is the neural comparison competitive on **{task_name(task)}**? The best baseline, "
            f"{source_label(best['baseline'])}, reaches {accuracy(best['baseline_accuracy'])}%; the best neural model "
            f"({source_label(best['best_neural'])}) {'leads it by' if lead >= 0 else 'trails it by'} "
            f"{spread(abs(lead))} points."
        )
    semantic = semantic_table(frame)
    scratch_rows = semantic[semantic["source"] == "scratch/scratch"] if not semantic.empty else semantic
    for record in scratch_rows.to_dict("records") if not scratch_rows.empty else []:
        if not np.isfinite(record.get("class_axis_r2_trained", np.nan)):
            continue
        paragraphs.append(
            f"What did the scratch Embedding learn on **{task_name(record['task'])}**? A class axis: a ridge probe "
            "predicts a word's class log-odds from its trained vector with R^2 "
            f"{score(record['class_axis_r2_trained'])} "
            f"(initial {score(record['class_axis_r2_initial'])}), and antonyms end at cosine "
            f"{score(record['antonym_cosine_trained'])} (initial {score(record['antonym_cosine_initial'])}): polarity, "
            "not word meaning."
        )
    return paragraphs


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
            f"{r['model']} {percent(r['ours_mean'])} vs {percent(r['paper'])} ({percent_gap(r['gap'])}, "
            f"{int(r['runs'])} runs)"
            for r in group.to_dict("records")
        ]
        worst = group.loc[group["gap"].abs().idxmax()]
        out.append(
            f"How far from {table.stem} on **{task_name(task)}**? " + "; ".join(parts) + f". Largest gap: "
            f"{worst['model']} {percent_gap(worst['gap'])} points."
        )
    return out


def budget_sentences(evp: pd.DataFrame) -> list[str]:
    """Each arm against its task's scratch Embedding (the neural model's) across tuning budgets: from which budget
    on its order holds, or that it flips ("GloVe 6B 100d, fine-tuned leads ... from budget 4 on")."""
    sentences = []
    for task, group in evp.groupby("task", sort=True):
        arms = group[ARM].drop_duplicates().to_dict("records")
        scratch = [a for a in arms if a["embedding"] == "scratch" and a["model"] not in BASELINES]
        if not scratch:
            continue
        reference, largest = scratch[0], int(group["budget"].max())
        for arm in arms:
            if arm == reference:
                continue
            k, word = budget_verdict(group, arm, reference)
            name = f"{model_name(arm['model'])}, {source_name(arm['embedding'], arm['mode'])}"
            other = f"{model_name(reference['model'])}, scratch Embedding"
            sentences.append(f"{task_name(task)}: {verdict_sentence(name, other, k, word, largest)}")
    return sentences


def tuning_cost(frame: pd.DataFrame) -> str:
    """Run-minutes per arm spent on tuning (its trials) and on its test runs: what each tuned answer cost."""
    trials = trial_runs(frame)
    if "wall_seconds" not in frame or trials.empty:
        return ""
    done = tested(frame)
    spent = (
        pd.to_numeric(trials["wall_seconds"], errors="coerce").groupby([trials[c] for c in ARM]).agg(["sum", "size"])
    )
    tests = pd.to_numeric(done["wall_seconds"], errors="coerce").groupby([done[c] for c in ARM]).sum() / 60
    return "; ".join(
        f"{model_name(model)}, {source_name(embedding, mode)} on {task_name(task)} {row['sum'] / 60:.1f} "
        f"({int(row['size'])} trials) + {tests.get((task, model, embedding, mode), 0.0):.1f} testing"
        for (task, model, embedding, mode), row in spent.iterrows()
    )


def tuned_answer(frame: pd.DataFrame, evp: pd.DataFrame) -> list[str]:
    """A tuned study's answer: the verdicts of each arm's best dev trial retrained on test seeds, whether they hold
    across budgets, what the tuning cost, and the verdict one untuned point gives, labelled, beside them."""
    budget = int(evp["trials"].max())  # each arm's number of trials (evp_table counts them)
    said = answer(frame)
    if said:
        said[0] = (
            f"**Tuned** (each arm's best of {budget} random-search trials on dev, retrained on the test seeds). "
            + said[0]
        )
    if sentences := budget_sentences(evp):
        said.append(
            "Across tuning budgets (expected best dev accuracy, Dodge et al. 2019): " + "; ".join(sentences) + "."
        )
    if cost := tuning_cost(frame):
        said.append(f"Tuning cost, run-minutes per arm: {cost}.")
    untuned = answer(untuned_runs(frame))
    versus = [p for p in untuned if p.startswith("Does a pretrained source")]
    if versus:
        said.append("**Untuned** (the preset's own point, no search, same seeds): " + " ".join(versus))
    return said
