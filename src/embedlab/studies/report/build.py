"""The report's sections in reading order, report.md / report.html written whole, and `embedlab report`.

A section is one entry of SECTIONS: a function from the study's table to a Section (or None when the study has
nothing for it). A new section is one function and one line in SECTIONS.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import atomic_write
from embedlab.studies.report.browser import BROWSER_K, browser_data, browser_html
from embedlab.studies.report.figures import (
    accuracy_figures,
    figure_path,
    plot_budget,
    plot_intrinsic,
    plot_learning_curves,
    projection_figures,
    save_figure,
)
from embedlab.studies.report.names import count, model_name, show_table, source_label, source_name, task_name
from embedlab.studies.report.prose import answer, budget_sentences, paper_sentences, tuned_answer
from embedlab.studies.report.render import Section, html_page, markdown_page
from embedlab.studies.report.tables import (
    NEIGHBOURS_SHOWN,
    PROBES_SHOWN,
    accuracy_table,
    baseline_table,
    completed,
    coverage_table,
    drift_table,
    intrinsic_table,
    learning_curves,
    load_study,
    neighbour_table,
    paper_comparison,
    paper_table_path,
    semantic_table,
    unseen_summary,
    versus_scratch,
)
from embedlab.studies.results import build, collect, require_folder, results_lock, status_counts, untuned
from embedlab.studies.tuning import ARM, evp_table, trial_runs


def title_of(frame: pd.DataFrame, study: str | None) -> str:
    """What the study compared: its tasks, sources and models, and how many runs ('SST-2 (sentences): scratch
    Embedding vs GloVe 6B 100d, frozen vs GloVe 6B 100d, fine-tuned; CNN; 9 runs')."""
    done = completed(frame)
    if done.empty:
        return f"{study + ': ' if study else ''}no completed runs ({len(frame)} runs)"
    tasks = ", ".join(task_name(t) for t in sorted(done["task"].astype(str).unique()))
    pairs = done[["embedding", "mode"]].drop_duplicates().astype(str).to_records(index=False)
    ordered = sorted(pairs, key=lambda p: (p[0] != "scratch", p[0], p[1]))
    sources = " vs ".join(source_name(e, m) for e, m in ordered)
    models = ", ".join(model_name(m) for m in sorted(done["model"].astype(str).unique()))
    heading = f"{tasks}: {sources}; {models}; {len(frame)} runs"
    return f"{study}: {heading}" if study else heading


def header(frame: pd.DataFrame, folder: Path, title: str | None) -> Section:
    counts = frame["status"].value_counts().to_dict()
    done = completed(frame)
    not_counted = int((frame["status"] != "completed").sum())
    trials = len(trial_runs(frame))
    reference = int(untuned(frame).sum())
    tuned = len(frame) - trials - reference
    kinds = (
        f" ({trials} tuning trials scored on dev, {reference} untuned reference runs, {tuned} tuned runs scored on "
        "test)"
        if trials
        else ""
    )
    lines = [
        f"Built {time.strftime('%Y-%m-%d %H:%M')} from the run directories below `{folder}`.",
        f"**{len(frame)} runs**{kinds}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".",
        f"**{not_counted} runs failed or did not finish**; they are listed at the end and counted nowhere."
        if not_counted
        else "No run failed.",
    ]
    if not done.empty:
        lines.append(
            "Tasks: "
            + "; ".join(
                f"{task_name(task)} (train {count(g['n_train'].max())}, dev {count(g['n_dev'].iloc[0])}, "
                f"test {count(g['n_test'].iloc[0])}{_data_files(g)})"
                for task, g in done.groupby("task")
            )
            + "."
        )
        pairs = done[["embedding", "mode"]].drop_duplicates().astype(str).to_records(index=False)
        models = ", ".join(model_name(m) for m in sorted(done["model"].unique()))
        lines.append(f"Sources: {'; '.join(sorted(source_name(e, m) for e, m in pairs))}. Models: {models}.")
        lines.append(f"Seeds: {', '.join(str(int(s)) for s in sorted(done['seed'].unique()))}.")
        ran = frame[frame["status"] == "completed"]  # tuning trials and untuned runs cost time too
        seconds = pd.to_numeric(ran.get("wall_seconds"), errors="coerce").sum()
        lines.append(f"Compute: {seconds / 60:.1f} run-minutes in total (sum of the completed runs' wall times).")
        versions = sorted(done["embedlab_version"].astype(str).unique()) if "embedlab_version" in done else []
        if versions:
            lines.append(f"embedlab {', '.join(versions)}.")
    return Section(title_of(frame, title), "\n".join(f"- {line}" for line in lines))


def _data_files(group: pd.DataFrame) -> str:
    """', from <the task's data files>' as the runs' configs name them, or nothing."""
    columns = [c for c in group.columns if c.startswith("config.task.files.") and not c.endswith("archive")]
    files = sorted({str(v) for c in columns for v in group[c].dropna().unique() if str(v) not in ("", "None")})
    return f", from {', '.join(files)}" if files else ""


@dataclass(frozen=True)
class Study:
    """What every section reads: the runs' table, where they are, where the report goes, and the expected best dev
    accuracy by budget of its tuning trials (evp.csv's table; empty without trials)."""

    frame: pd.DataFrame
    folder: Path
    out_dir: Path
    evp: pd.DataFrame


@dataclass(frozen=True)
class TableSection:
    """A section that is one table of the study with a fixed explanation."""

    title: str
    text: str
    table: Callable[[pd.DataFrame], pd.DataFrame]

    def __call__(self, study: Study) -> Section | None:
        table = self.table(study.frame)
        return None if table.empty else Section(self.title, self.text, [show_table(table)])


def accuracy_section(study: Study) -> Section | None:
    cells = accuracy_table(study.frame)
    if cells.empty:
        return None
    shown = cells[["task", "model", "train_size", "embedding", "mode", "n", "mean", "std", "ci95_low", "ci95_high"]]
    return Section(
        "Test accuracy by source and mode",
        "Accuracy in % (mean over seeds), its standard deviation in points and the 95% t-interval of the mean "
        "(a rerun seed counts once). Each figure puts every arm and baseline of a task on one axis.",
        [show_table(shown)],
        accuracy_figures(cells, study.out_dir),
    )


def paper_section(study: Study) -> Section | None:
    table = paper_table_path(study.frame)
    comparison = paper_comparison(study.frame, table) if table is not None else pd.DataFrame()
    if comparison.empty:
        return None
    return Section(
        "Beside the published numbers",
        f"Test accuracy in % (mean over the seeds or CV folds run, 95% interval) beside {table.name}; "
        "gap = ours - paper, in points.",
        [show_table(comparison)],
    )


def learning_section(study: Study) -> Section | None:
    curves = learning_curves(study.frame)
    if curves.empty:
        return None
    path = figure_path(study.out_dir, "learning_curves.png")
    save_figure(plot_learning_curves(curves), path)
    shown = curves.pivot_table(index=["task", "curve"], columns="n_train", values="mean").reset_index()
    shown.columns = [f"n={int(c)}" if isinstance(c, float | int) else str(c) for c in shown.columns]
    return Section(
        "Learning curves",
        "Accuracy in % (mean over seeds) by number of training examples (nested samples).",
        [show_table(shown)],
        [path],
    )


def intrinsic_section(study: Study) -> Section | None:
    intrinsic = intrinsic_table(study.frame)
    if intrinsic.empty or "wordsim353_spearman_trained" not in intrinsic:
        return None
    path = figure_path(study.out_dir, "intrinsic_vs_accuracy.png")
    save_figure(plot_intrinsic(intrinsic.dropna(subset=["wordsim353_spearman_trained"])), path)
    return Section(
        "Word meaning (intrinsic scores) before and after training, beside accuracy",
        "Spearman correlation with human similarity judgements on the task vocabulary, and analogy accuracy, "
        "of the run's own embedding before and after training (means over seeds).",
        [show_table(intrinsic)],
        [path],
    )


def task_sections(study: Study) -> list[Section]:
    """Per task: the neighbour browser, then the probe words' neighbours and the sentence projections."""
    done = completed(study.frame)
    parts: list[Section] = []
    for task in sorted(done["task"].unique()) if not done.empty else []:
        probes = done[done["task"] == task].get("config.task.probe_words")
        words = None
        if probes is not None and probes.notna().any():
            words = json.loads(str(probes.dropna().iloc[0]))[:PROBES_SHOWN]
        data = browser_data(study.frame, task)
        if data is not None:
            parts.append(
                Section(
                    f"{task_name(task)}: neighbour browser",
                    f"Type or pick one of the {len(data['words'])} most frequent training words (or a probe word) to "
                    f"see its {BROWSER_K} nearest neighbours in every space of this study side by side, with its "
                    "training count and class log-odds (in report.html).",
                    html=browser_html(task, data),
                )
            )
        table = neighbour_table(study.frame, task, words)
        figure = study.out_dir / f"projection_{task}.png"
        if table.empty and not figure.exists():
            continue
        if not table.empty:
            table["source"] = table["source"].map(source_label)
        parts.append(
            Section(
                f"{task_name(task)}: nearest neighbours and sentence projections",
                f"Top {NEIGHBOURS_SHOWN} neighbours of probe words in each source's trained space (its lowest seed). "
                "The figure projects the same test sentences, mean-pooled after each run's embedding layer.",
                [table] if not table.empty else [],
                [figure] if figure.exists() else [],
            )
        )
    return parts


def tuning_section(study: Study) -> Section | None:
    """Random-search trials (evp.csv): each arm's expected best dev accuracy by budget, and whether each arm's order
    against the task's scratch Embedding (its neural model) holds from some budget on."""
    evp = study.evp
    if evp.empty:
        return None
    sentences = budget_sentences(evp)
    shown = evp[evp["budget"].isin([1, 2, 5, 10, 20, 50]) | (evp["budget"] == evp["trials"])]
    shown = shown.rename(columns={"expected_max": "mean"})[[*ARM, "budget", "mean", "std", "trials"]]
    said = (" " + "; ".join(sentences) + ".") if sentences else ""
    path = figure_path(study.out_dir, "budget.png")
    save_figure(plot_budget(evp), path)
    return Section(
        "Tuning budget: expected best dev accuracy",
        "Each arm's random-search trials as Dodge et al. (2019) read them: the expected best dev accuracy after n "
        "trials (accuracy %), and its spread (std, points), for every budget n (all of them in evp.csv)." + said,
        [show_table(shown)],
        [path],
    )


def failures_section(study: Study) -> Section | None:
    failed = study.frame[study.frame["status"] != "completed"]
    if failed.empty:
        return None
    columns = [c for c in ("status", "task", "embedding", "mode", "seed", "error", "run_dir") if c in failed]
    return Section("Runs that failed or did not finish", "Not counted anywhere above.", [failed[columns].fillna("")])


SECTIONS: list[Callable[[Study], Section | None | list[Section]]] = [
    accuracy_section,
    paper_section,
    TableSection(
        "Each source against the scratch Embedding",
        "Difference in mean test accuracy in points on the seeds both ran (positive: the source is better), its "
        "95% interval, the paired t-test over seeds and the exact McNemar test on the pooled test predictions. "
        "All pairs: paired.csv.",
        versus_scratch,
    ),
    TableSection(
        "Baselines on the same splits",
        "Majority class, tf-idf + logistic regression (word 1-2 grams, C chosen on dev) and fastText supervised "
        "(with and without the pretrained vectors), trained on the same training split and scored on the same test "
        "set with the same seeds or folds, beside the best neural model. A neural comparison that loses to tf-idf "
        "+ LR answers a question nobody would deploy.",
        baseline_table,
    ),
    TableSection(
        "Sentences with words training never saw",
        "Test accuracy of each source against the scratch Embedding, by how many of a test sentence's words never "
        "occur in the training split (0, 1, 2, 3+), pooled over the seeds both ran, with exact McNemar on the "
        "paired predictions in the bucket. If pretrained vectors help because they place unseen words ('Himalaya') "
        "near seen ones ('Alps'), the difference grows with the unseen count.",
        unseen_summary,
    ),
    TableSection(
        "How much of the text the pretrained vectors cover",
        "Share of the training split's tokens that have a pretrained vector (mean over seeds): the text split on "
        "spaces, and as the task's tokenizer splits it (clitics and punctuation apart, as the vectors' corpus was "
        "tokenized: `doesn't` -> `does n't`). Words without a vector start from random rows.",
        coverage_table,
    ),
    learning_section,
    intrinsic_section,
    TableSection(
        "Antonyms, synonyms and the class axis",
        "Mean cosine of antonym and synonym pairs, and R^2 of a ridge probe from word vector to the word's class "
        "log-odds: a task-tuned space pushes antonyms apart and lines words up on the class axis.",
        semantic_table,
    ),
    TableSection(
        "Drift by training frequency",
        "Mean cosine between each word's initial and trained vector, and the share of rows never changed, by how "
        "often the word occurs in the training split (0: dev/test words only).",
        drift_table,
    ),
    tuning_section,
    task_sections,
    failures_section,
]


def sections(frame: pd.DataFrame, folder: Path, out_dir: Path, title: str | None = None) -> list[Section]:
    """The report's content, figures written as PNG under out_dir/figures: the title, the answer, what ran, then
    SECTIONS in order."""
    top = header(frame, folder, title)
    study = Study(frame, Path(folder), Path(out_dir), evp_table(frame))
    said = tuned_answer(frame, study.evp) if not study.evp.empty else answer(frame)
    table = paper_table_path(frame)
    if table is not None:
        said += paper_sentences(frame, table)
    parts = [Section(top.title), Section("The answer", "\n\n".join(said))] if said else [Section(top.title)]
    parts.append(Section("What ran", top.text))
    for make in SECTIONS:
        made = make(study)
        parts.extend(made if isinstance(made, list) else [made] if made is not None else [])
    return parts


def write_report(
    folder: Path, out_dir: Path | None = None, frame: pd.DataFrame | None = None, title: str | None = None
) -> dict[str, Path]:
    """report.md, report.html and figures/*.png for the runs below folder, written whole (temporary name, rename)."""
    folder = Path(folder)
    out_dir = Path(out_dir) if out_dir is not None else folder
    frame = load_study(folder) if frame is None else frame
    parts = sections(frame, folder, out_dir, title)
    return {
        "report.md": atomic_write(out_dir / "report.md", lambda tmp: tmp.write_text(markdown_page(parts, out_dir))),
        "report.html": atomic_write(out_dir / "report.html", lambda tmp: tmp.write_text(html_page(parts))),
    }


def publish(
    folder: Path, out_dir: Path | None = None, cache_dir: Path | None = None, title: str | None = None
) -> tuple[dict[str, Path], pd.DataFrame]:
    """Everything a study folder gets, from its run directories alone: the results table (runs.parquet/csv,
    cells.csv, paired.csv), projection_<task>.png per task, report.md/html. The sweep's end and `make report` call
    this; returns the files written and the table. All of it is written under the folder's results lock, so two
    sweeps ending into one study folder write one after the other."""
    folder = require_folder(folder)  # before the lock, which would create a mistyped folder
    out_dir = Path(out_dir) if out_dir is not None else folder
    with results_lock(out_dir):
        frame = collect(folder)
        written = build(folder, out_dir, frame)
        for figure in projection_figures(frame, out_dir, cache_dir):
            written[figure.name] = figure
        written.update(write_report(folder, out_dir, frame, title))
    return written, frame


def main(argv: Sequence[str] | None = None) -> int:

    parser = argparse.ArgumentParser(
        prog="embedlab report", description="Results table and comparison report of a study's runs."
    )
    parser.add_argument("folder", type=Path, help="a study or sweep folder (run directories at any depth)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the folder itself)")
    parser.add_argument("--title", default=None, help="the study's name, put before the title (default: none)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="memo of projections (default: none)")
    args = parser.parse_args(argv)
    try:
        written, frame = publish(args.folder, args.out, args.cache_dir, args.title)
    except EmbedlabError as exc:
        print_error(exc)
        return 2
    print(status_counts(frame))
    for path in written.values():
        print(path)
    return 0
