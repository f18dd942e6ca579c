"""Figures and numbers a reader trusts at a glance (issue 29): every arm and baseline of a task on one axis, one
number format per kind, display names, a title that says what was compared."""

from __future__ import annotations

import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from embedlab.studies.report import accuracy_table, sections
from embedlab.studies.report.build import title_of
from embedlab.studies.report.figures import forest_limits, forest_rows, plot_accuracy
from embedlab.studies.report.names import (
    accuracy,
    count,
    interval,
    p_value,
    points,
    score,
    show_table,
    size,
    source_label,
    source_name,
    spread,
)
from embedlab.studies.results import collect
from helpers import reported_run

matplotlib.use("Agg")


def study_with_baselines(root):
    rng = np.random.default_rng(0)
    arms = [
        ("scratch", "scratch", "cnn", 0.781),
        ("glove6b", "finetune", "cnn", 0.754),
        ("glove6b", "frozen", "cnn", 0.743),
        ("scratch", "scratch", "tfidf_lr", 0.782),
        ("scratch", "scratch", "fasttext", 0.782),
    ]
    for embedding, mode, model, level in arms:
        for seed in (1, 2, 3):
            name = f"{model}-{embedding}-{mode}-{seed}"
            folder = reported_run(root, name, embedding, mode, seed, level + 0.004 * seed, rng.random(300) < level)
            metrics = json.loads((folder / "metrics.json").read_text())
            metrics["model"] = model
            (folder / "metrics.json").write_text(json.dumps(metrics))
    return collect(root)


def test_every_arm_and_baseline_of_a_task_is_drawn_on_one_axis_holding_every_interval(tmp_path):
    cells = accuracy_table(study_with_baselines(tmp_path))
    rows = forest_rows(cells)
    assert len(rows) == 5 and set(rows["kind"]) == {"scratch", "pretrained", "baseline"}
    assert rows["kind"].tolist()[-2:] == ["baseline", "baseline"]  # baselines below the neural arms, same axis
    low, high = forest_limits(rows)
    assert low <= rows["low"].min() and high >= rows["high"].max() and 0 <= low and high <= 100
    fig = plot_accuracy(cells)
    axes = fig.get_axes()
    assert len(axes) == 1  # one task, one training size: one axis for all five arms
    shown_low, shown_high = axes[0].get_xlim()
    assert shown_low <= rows["low"].min() and shown_high >= rows["high"].max()
    assert [t.get_text() for t in axes[0].get_yticklabels()] == rows["label"].tolist()  # top to bottom
    assert not [p for p in axes[0].patches if p.get_width() > 0]  # dots and intervals, no bars


def test_panels_of_several_training_sizes_share_their_x_axis(tmp_path):
    cells = accuracy_table(study_with_baselines(tmp_path))
    other = cells.copy()
    other["train_size"] = 0.1
    other[["mean", "ci95_low", "ci95_high"]] -= 0.2
    fig = plot_accuracy(pd.concat([cells, other]))
    first, second = fig.get_axes()
    assert first.get_xlim() == second.get_xlim()
    assert first.get_xlim()[0] <= 100 * other["ci95_low"].min()


def test_one_format_per_kind_of_number():
    assert [accuracy(v) for v in (0.81234, 1.0, 0.0, np.nan, None)] == ["81.2", "100.0", "0.0", "", ""]
    assert [points(v) for v in (-0.0268, -0.0593, 0.005698, -0.0004, 0.0)] == ["-2.7", "-5.9", "+0.6", "+0.0", "+0.0"]
    assert [spread(v) for v in (0.003868, 0.0101)] == ["0.4", "1.0"]
    assert [score(v) for v in (0.9998, 1, 0, -0.004, 0.41234)] == ["1.00", "1.00", "0.00", "0.00", "0.41"]
    assert [p_value(v) for v in (0.2329, 0.031, 0.0042, 0.00001, np.nan)] == [
        "0.23",
        "0.03",
        "0.0042",
        "< 0.001",
        "n/a",
    ]
    assert interval(0.801, 0.8234) == "[80.1, 82.3]" and interval(-0.004, 0.029, points) == "[-0.4, +2.9]"
    assert [count(v) for v in (6920, 67349.0)] == ["6,920", "67,349"] and [size(v) for v in (0.1, 500)] == [
        "0.1",
        "500",
    ]


def test_awkward_tables_show_each_kind_in_its_format_and_names_for_people():
    awkward = pd.DataFrame(
        {
            "task": ["sst2", "table"],
            "model": ["cnn", "tfidf_lr"],
            "embedding": ["glove6b", "scratch"],
            "mode": ["finetune", "scratch"],
            "n": [3, 3],
            "mean": [0.8123456, 0.7],
            "std": [0.003868, 0.0101],
            "ci95_low": [0.80012, np.nan],
            "ci95_high": [0.82399, np.nan],
            "paired_t_p": [0.00002, 0.2329],
            "antonym_cosine_trained": [0.9998, -0.0001],
        }
    )
    shown = show_table(awkward)
    assert list(shown.columns) == [
        "task",
        "model",
        "source",
        "seeds",
        "accuracy %",
        "std (points)",
        "95% interval",
        "paired t p",
        "antonym cos after",
    ]
    assert shown.iloc[0].tolist() == [
        "SST-2 (sentences)",
        "CNN",
        "GloVe 6B 100d, fine-tuned",
        "3",
        "81.2",
        "0.4",
        "[80.0, 82.4]",
        "< 0.001",
        "1.00",
    ]
    assert shown.iloc[1]["source"] == "scratch Embedding" and shown.iloc[1]["model"] == "tf-idf + LR"
    against = show_table(pd.DataFrame({"difference": [-0.0268], "ci95_low": [-0.0593], "ci95_high": [0.005698]}))
    assert against.iloc[0].tolist() == ["-2.7", "[-5.9, +0.6]"]  # a difference's interval is in signed points


def test_source_codes_read_as_names():
    assert source_name("glove6b", "finetune") == "GloVe 6B 100d, fine-tuned"
    assert source_name("scratch", "scratch") == "scratch Embedding"
    assert source_label("glove6b/frozen") == "GloVe 6B 100d, frozen"
    assert source_label("cnn scratch/scratch") == "CNN, scratch Embedding"
    assert source_label("fasttext + glove6b") == "fastText classifier + GloVe 6B 100d"
    assert source_name("my_vectors", "finetune") == "my_vectors, fine-tuned"  # unknown names pass through


ALLOWED = {
    "p": re.compile(r"^(< 0\.001|0\.00[1-9]\d?|0\.0[1-9]|0\.[1-9]\d|1\.00|n/a)$"),
    "number": re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d{1,2})?$"),
    "interval": re.compile(r"^\[[+-]?\d+\.\d, [+-]?\d+\.\d\]$"),
}


def test_no_number_in_any_report_table_has_more_digits_than_its_format(tmp_path):
    frame = study_with_baselines(tmp_path / "runs")
    parts = sections(frame, tmp_path / "runs", tmp_path / "out")
    walked = 0
    for part in parts:
        for table in part.tables:
            if part.title.startswith("Runs that failed"):
                continue
            for column in table.columns:
                for value in table[column].astype(str):
                    if value in ("", "nan") or not re.search(r"\d", value) or re.search(r"[a-zA-Z]{3}", value):
                        continue
                    kind = "p" if column.endswith(" p") else "interval" if value.startswith("[") else "number"
                    assert ALLOWED[kind].match(value), (part.title, column, value)
                    walked += 1
    assert walked >= 30
    accuracy_cells = [v for p in parts for t in p.tables if "accuracy %" in t for v in t["accuracy %"]]
    assert accuracy_cells and all(re.fullmatch(r"\d+\.\d", v) for v in accuracy_cells)


def test_the_default_experiments_title_names_sst2_and_its_three_arms(tmp_path):
    rng = np.random.default_rng(0)
    for embedding, mode in (("scratch", "scratch"), ("glove6b", "frozen"), ("glove6b", "finetune")):
        reported_run(tmp_path, f"{embedding}-{mode}", embedding, mode, 1, 0.8, rng.random(100) < 0.8)
    title = title_of(collect(tmp_path), None)
    assert title.startswith("SST-2 (sentences): scratch Embedding vs ")
    assert "GloVe 6B 100d, frozen" in title and "GloVe 6B 100d, fine-tuned" in title and "3 runs" in title
    assert not re.search(r"\d{4}-\d\d-\d\d", title)  # never the folder's timestamp


@pytest.mark.parametrize("study", [None, "seed_question"])
def test_a_named_study_puts_its_name_first(tmp_path, study):
    reported_run(tmp_path, "s1", "scratch", "scratch", 1, 0.8, np.ones(10, bool))
    assert title_of(collect(tmp_path), study).startswith("seed_question: " if study else "SST-2")
