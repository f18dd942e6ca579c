"""The results table rebuilt from run directories alone, and its statistics on numbers with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embedlab.studies.results import build, collect, main, mcnemar_p, mean_ci, paired, summarise
from helpers import fake_run


def test_mean_and_confidence_interval_match_the_t_distribution():
    mean, std, low, high = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == 1.0
    half = 4.302652729911275 / np.sqrt(3)  # t(0.975, 2 dof)
    assert low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert np.isnan(mean_ci([0.8])[1])


def test_exact_mcnemar_on_constructed_disagreements():
    a = np.array([True] * 8 + [False] * 2 + [True] * 10)
    b = np.array([False] * 8 + [True] * 2 + [True] * 10)
    assert mcnemar_p(a, b) == pytest.approx(0.109375)  # 2 of 10 discordant pairs: 2 * P(X <= 2), X ~ B(10, 1/2)
    assert mcnemar_p(a, a) == 1.0


def test_table_lists_failed_and_half_written_runs_but_aggregates_only_completed(tmp_path):
    fake_run(tmp_path, "a1", "scratch", "scratch", 1, 0.80)
    fake_run(tmp_path, "a2", "scratch", "scratch", 2, 0.82)
    fake_run(tmp_path, "a3", "scratch", "scratch", 3, 0.0, status="failed")
    fake_run(tmp_path, "a4", "scratch", "scratch", 4, 0.0, status="running")  # killed mid-run
    fake_run(tmp_path, "a0", "scratch", "scratch", 2, 0.50)  # seed 2 again, earlier in path order: a2 counts
    broken = tmp_path / "a5"
    broken.mkdir()
    (broken / "metrics.json").write_text('{"status": "compl')  # cut off while written
    frame = collect(tmp_path)
    assert sorted(frame["status"]) == ["broken", "completed", "completed", "completed", "failed", "incomplete"]
    assert frame.loc[frame["run_dir"].str.endswith("a1"), "config.trainer.epochs"].item() == 3
    cell = summarise(frame)
    assert len(cell) == 1 and cell["n"].item() == 2 and cell["mean"].item() == pytest.approx(0.81)
    assert cell["seeds"].item() == "1,2" and cell["repeats"].item() == 1


def test_paired_comparison_uses_shared_seeds_and_predictions(tmp_path):
    base = [True] * 10
    fake_run(tmp_path, "s1", "scratch", "scratch", 1, 0.70, base[:7] + [False] * 3)
    fake_run(tmp_path, "s2", "scratch", "scratch", 2, 0.72, base[:7] + [False] * 3)
    fake_run(tmp_path, "g1", "glove6b", "frozen", 1, 0.80, base[:8] + [False] * 2)
    fake_run(tmp_path, "g2", "glove6b", "frozen", 2, 0.90, base[:9] + [False])
    fake_run(tmp_path, "g3", "glove6b", "frozen", 3, 0.99, base)  # no scratch run for seed 3: not paired
    table = paired(collect(tmp_path))
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["a"], row["b"], row["seeds"]) == ("glove6b/frozen", "scratch/scratch", 2)
    assert row["mean_difference"] == pytest.approx(((0.80 - 0.70) + (0.90 - 0.72)) / 2)
    # differences 0.10 and 0.18: t = 0.14 / 0.04 = 3.5 on 1 dof (a Cauchy law), p = 1 - 2 atan(3.5) / pi
    assert row["paired_t_p"] == pytest.approx(1 - 2 * np.arctan(3.5) / np.pi)
    assert row["mcnemar_p"] == pytest.approx(0.25)  # 3 discordant, all one way: 2 * 0.5**3


def test_build_writes_table_files_that_read_back_and_cli_reports_bad_folders(tmp_path, capsys):
    runs = tmp_path / "runs"
    fake_run(runs, "x/a1", "scratch", "scratch", 1, 0.80)
    fake_run(runs, "x/a2", "scratch", "scratch", 2, 0.0, status="failed")
    out = tmp_path / "report"
    assert main([str(runs), "--out", str(out)]) == 0
    assert "2 runs (1 completed, 1 failed)" in capsys.readouterr().out
    table = pd.read_parquet(out / "runs.parquet")
    assert len(table) == 2 and set(table["status"]) == {"completed", "failed"}
    assert len(pd.read_csv(out / "runs.csv")) == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "is not a folder of runs" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    written = build(runs)
    assert set(written) == {"runs.parquet", "runs.csv", "cells.csv", "paired.csv", "unseen.csv"}
