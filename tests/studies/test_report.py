"""The report reads as an answer: generated sentences with uncertainty, readable tables, a page that fits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from embedlab.studies.report import answer, p_text, sections
from embedlab.studies.report.names import show_table
from embedlab.studies.report.render import html_page
from embedlab.studies.results import collect
from helpers import reported_run


def study(root, seeds=(1, 2, 3)):
    rng = np.random.default_rng(0)
    for seed in seeds:
        reported_run(root, f"s{seed}", "scratch", "scratch", seed, 0.80 + 0.001 * seed, correct=rng.random(200) < 0.8)
        reported_run(root, f"g{seed}", "glove6b", "finetune", seed, 0.83 + 0.002 * seed, correct=rng.random(200) < 0.83)
    return collect(root)


def test_the_answer_states_difference_interval_p_and_seeds_in_words(tmp_path):
    text = " ".join(answer(study(tmp_path)))
    assert (
        "Does a pretrained source beat the scratch Embedding on **SST-2 (sentences)** with CNN (scratch 80.2%)" in text
    )
    assert "GloVe 6B 100d, fine-tuned +3.2 points, 95% interval [+" in text and "3 seeds): beats scratch" in text
    assert "McNemar p" in text


def test_one_seed_is_called_too_thin_to_conclude(tmp_path):
    assert "one seed only: no conclusion" in " ".join(answer(study(tmp_path, seeds=(1,))))


def test_p_values_read_as_people_write_them():
    assert [p_text(v) for v in (0.2329, 0.031, 0.0042, 0.00001, float("nan"))] == [
        "p = 0.23",
        "p = 0.03",
        "p = 0.0042",
        "p < 0.001",
        "p n/a",
    ]


def test_tables_drop_empty_columns_and_name_columns_for_people():
    shown = show_table(pd.DataFrame({"mean": [0.81234], "std": [np.nan], "mcnemar_p": [0.00002], "task": ["sst2"]}))
    assert list(shown.columns) == ["accuracy %", "McNemar p", "task"]
    assert shown.iloc[0].tolist() == ["81.2", "< 0.001", "SST-2 (sentences)"]


def test_the_page_opens_with_the_answer_and_wraps_wide_tables(tmp_path):
    parts = sections(study(tmp_path), tmp_path, tmp_path / "out", title="seed_question")
    assert parts[0].title == (
        "seed_question: SST-2 (sentences): scratch Embedding vs GloVe 6B 100d, fine-tuned; CNN; 6 runs"
    )
    assert parts[1].title == "The answer"
    page = html_page(parts)
    assert "<nav><strong>Contents</strong>" in page and '<div class="scroll"><table' in page
    assert "<strong>SST-2 (sentences)</strong>" in page and "th.addEventListener('click'" in page


def test_learning_curves_keep_baselines_apart_from_the_scratch_cnn(tmp_path):
    from embedlab.studies.report import learning_curves, plot_learning_curves

    rng = np.random.default_rng(1)
    for size, base in (("0.1", 0.70), ("1.0", 0.80)):
        for seed in (1, 2):
            for model, shift in (("cnn", 0.0), ("tfidf_lr", 0.02)):
                folder = reported_run(
                    tmp_path, f"{model}-{size}-{seed}", "scratch", "scratch", seed, base + shift, rng.random(50) < 0.8
                )
                text = (folder / "config.yaml").read_text().replace("train_size: null", f"train_size: {size}")
                (folder / "config.yaml").write_text(text)
                metrics = json.loads((folder / "metrics.json").read_text())
                metrics.update(model=model, n_train=int(6920 * float(size)))
                (folder / "metrics.json").write_text(json.dumps(metrics))
    curves = learning_curves(collect(tmp_path))
    assert sorted(curves["curve"].unique()) == ["cnn scratch/scratch", "tfidf_lr scratch/scratch"]
    tfidf = curves[curves["curve"] == "tfidf_lr scratch/scratch"].sort_values("n_train")
    assert tfidf["mean"].round(3).tolist() == [0.72, 0.82]
    plot_learning_curves(curves, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_the_answer_says_how_far_the_study_is_from_the_paper(tmp_path):
    from embedlab.studies.report import paper_sentences

    table = tmp_path / "paper_table2.csv"
    table.write_text(
        "embedding,mode,paper_model,sst2\nscratch,scratch,CNN-rand,82.7\nglove6b,finetune,CNN-non-static,87.2\n"
    )
    runs = study(tmp_path / "runs")
    said = paper_sentences(runs, table)
    assert said == [
        "How far from paper_table2 on **SST-2 (sentences)**? CNN-non-static 83.4 vs 87.2 (-3.8, 3 runs); "
        "CNN-rand 80.2 vs 82.7 (-2.5, 3 runs). Largest gap: CNN-non-static -3.8 points."
    ]
    other = tmp_path / "other_table.csv"  # a study of vectors the paper never used: no sentence, no error
    other.write_text("embedding,mode,paper_model,sst2\nword2vec_news,frozen,CNN-static,81.0\n")
    assert paper_sentences(runs, other) == []


def test_the_browser_keeps_the_most_frequent_words_of_run_files_without_padding_rows(tmp_path):
    from gensim.models import KeyedVectors

    from embedlab.studies.report import browser_data

    words = ["the", "good", "great", "bad", "film"]  # as a run writes them: no <pad> / <unk> rows
    vectors = np.array([[1, 0], [0, 1], [0.1, 1], [0, -1], [1, 0.1]], dtype=np.float32)
    root = tmp_path / "runs"
    for seed in (1, 2):
        folder = reported_run(root, f"s{seed}", "scratch", "scratch", seed, 0.8, np.ones(10, bool))
        kv = KeyedVectors(2)
        kv.add_vectors(words, vectors)
        kv.save_word2vec_format(str(folder / "embedding_trained.w2v.bin"), binary=True)
    data = browser_data(collect(root), "sst2", k=2)
    assert list(data["words"])[:2] == ["the", "good"]
    assert data["words"]["film"]["neighbours"]["scratch Embedding, trained"][0] == "the"


def test_the_report_shows_token_coverage_split_on_spaces_and_as_the_task_tokenizes(tmp_path):
    for seed in (1, 2):
        folder = reported_run(tmp_path, f"g{seed}", "glove6b", "finetune", seed, 0.83, correct=np.ones(200, dtype=bool))
        metrics = json.loads((folder / "metrics.json").read_text())
        metrics.update(coverage_tokens_whitespace=0.9489, coverage_tokens=0.9814 + 0.0001 * seed)
        (folder / "metrics.json").write_text(json.dumps(metrics))
    reported_run(tmp_path, "s1", "scratch", "scratch", 1, 0.80, correct=np.ones(200, dtype=bool))  # no vectors: no row
    from embedlab.studies.report import coverage_table

    table = coverage_table(collect(tmp_path))
    assert len(table) == 1 and table.iloc[0]["coverage_tokens"] == pytest.approx(0.98155)
    parts = sections(collect(tmp_path), tmp_path, tmp_path / "out")
    shown = next(p for p in parts if p.title == "How much of the text the pretrained vectors cover").tables[0]
    assert {"token coverage %, split on spaces", "token coverage %, task tokenizer"} <= set(shown.columns)
    assert shown.iloc[0]["token coverage %, split on spaces"] == "94.9"
