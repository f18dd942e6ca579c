"""The CLI end to end: the smoke experiment writes a complete run directory; bad input fails in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab.core.errors import EmbedlabError
from helpers import assert_one_line_failure, run_cli

EXPECTED_FILES = {
    "config.yaml",
    "metrics.json",
    "history.csv",
    "predictions.csv",
    "embedding_initial.w2v.bin",
    "embedding_trained.w2v.bin",
    "neighbours.md",
    "neighbours.csv",
    "run.log",
}
ANALYSIS_FILES = {
    "analysis.json",
    "analysis.md",
    "spaces.csv",
    "drift_by_frequency.csv",
    "drift_top_movers.csv",
    "log_odds.csv",
    "neighbour_overlap.csv",
    "neighbours.html",
    "projection.png",
    "projection.csv",
    "sentences.npz",
    "projector",
}


def only_run_dir(results: Path) -> Path:
    runs = [p for p in (results / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_smoke_experiment_writes_a_complete_run_directory(isolated_env, tmp_path):
    proc = run_cli(["experiment=smoke"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = only_run_dir(tmp_path / "results")
    assert EXPECTED_FILES | ANALYSIS_FILES <= {p.name for p in run_dir.iterdir()}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in (
        "wordsim353_spearman_initial",
        "wordsim353_spearman_trained",
        "antonym_cosine_trained",
        "drift_share_unchanged",
    ):
        assert key in metrics
    analysis = json.loads((run_dir / "analysis.json").read_text())
    assert [b["bucket"] for b in analysis["drift_by_frequency"]] == ["0", "1-4", "5-49", "50+"]
    assert metrics["status"] == "completed"
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and "test_roc_auc" in metrics and "coverage_tokens" in metrics
    assert metrics["n_test"] == len(pd.read_csv(run_dir / "predictions.csv"))
    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == metrics["epochs_run"] and {"loss", "val_accuracy"} <= set(history.columns)
    initial = KeyedVectors.load_word2vec_format(str(run_dir / "embedding_initial.w2v.bin"), binary=True)
    trained = KeyedVectors.load_word2vec_format(str(run_dir / "embedding_trained.w2v.bin"), binary=True)
    assert len(initial) == len(trained) == metrics["vocab_size"] - 2
    assert metrics["embedding_rows_changed"] > 0  # fine-tuned in the smoke preset
    neighbours = pd.read_csv(run_dir / "neighbours.csv")
    assert {"initial", "trained"} == set(neighbours["space"]) and "good" in set(neighbours["probe"])


def test_same_config_and_seed_give_identical_metrics(isolated_env, tmp_path):
    args = ["experiment=smoke", "seed=5", "embedding.mode=frozen", "trainer.epochs=2", "analysis.enabled=false"]
    first = run_cli(args, isolated_env)
    second = run_cli(args, isolated_env)
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    runs = sorted((tmp_path / "results/runs").iterdir())
    a, b = (json.loads((r / "metrics.json").read_text()) for r in runs)
    keys = ["test_accuracy", "test_loss", "test_macro_f1", "confusion_matrix", "best_epoch"]
    assert [a[k] for k in keys] == [b[k] for k in keys]
    assert (runs[0] / "predictions.csv").read_text() == (runs[1] / "predictions.csv").read_text()
    assert not ANALYSIS_FILES & {p.name for p in runs[0].iterdir()}  # analysis switched off


def test_unknown_embedding_name_fails_at_composition(isolated_env):
    proc = run_cli(["embedding=word2vecc"], isolated_env)
    assert_one_line_failure(proc, "embedding=word2vecc is not known; use one of", "word2vec")
    assert "Traceback" not in proc.stderr


def test_missing_data_file_offline_names_file_url_and_place(isolated_env, tmp_path):
    proc = run_cli(["task=sst2"], isolated_env)
    assert_one_line_failure(proc, "stsa.binary.train is missing", "https://", str(tmp_path / "data"))
    metrics = json.loads((only_run_dir(tmp_path / "results") / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "stsa.binary.train" in metrics["error"]


def test_vector_dimension_other_than_configured(isolated_env, tmp_path):
    proc = run_cli(["experiment=smoke", "embedding.dim=300"], isolated_env)
    assert_one_line_failure(proc, "10-dimensional vectors but embedding.dim=300")


def test_corrupt_vector_file(isolated_env, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("good 0.1 0.2 0.3\nbad 0.1 0.2\n")
    proc = run_cli(["experiment=smoke", f"embedding.path={bad}"], isolated_env)
    assert_one_line_failure(proc, "bad.txt:2: row has 2 values, expected 3")


def test_csv_task_with_missing_column(isolated_env, tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"sentence": ["a b", "c d"] * 10, "label": ["x", "y"] * 10}).to_csv(path, index=False)
    proc = run_cli(["task=table", f"task.train_path={path}"], isolated_env)
    assert_one_line_failure(proc, "mine.csv: no column 'text'")


def test_train_size_larger_than_the_training_set(isolated_env):
    proc = run_cli(["experiment=smoke", "task.train_size=100000"], isolated_env)
    assert_one_line_failure(proc, "task.train_size=100000 is larger than the training set")


def test_user_csv_runs_end_to_end_with_scratch_embedding(isolated_env, tmp_path):
    path = tmp_path / "reviews.csv"
    texts = [f"great fine lovely film {i}" for i in range(30)] + [f"awful dull boring film {i}" for i in range(30)]
    pd.DataFrame({"text": texts, "label": ["pos"] * 30 + ["neg"] * 30}).to_csv(path, index=False)
    proc = run_cli(
        [
            "task=table",
            f"task.train_path={path}",
            "embedding=scratch",
            "model=avg",
            "trainer.epochs=15",
            "trainer.learning_rate=0.05",
            "embedding.dim=8",
        ],
        isolated_env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((only_run_dir(tmp_path / "results") / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(1.0)


def test_a_sweep_ends_with_a_table_and_a_projection_comparison(isolated_env, tmp_path):
    proc = run_cli(["-m", "experiment=smoke", "embedding.mode=frozen,finetune", "trainer.epochs=1"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = list((tmp_path / "results").rglob("runs.csv"))
    assert len(tables) == 1 and len(pd.read_csv(tables[0])) == 2
    figures = list(tables[0].parent.glob("projection_*.png"))
    assert [f.name for f in figures] == ["projection_smoke.png"]
    assert "sentence projections compared" in proc.stdout
    assert (tables[0].parent / "report.html").exists()


def test_resume_skips_completed_runs_and_retries_a_killed_one(isolated_env, tmp_path):
    study = tmp_path / "study"
    grid = ["-m", "experiment=smoke", "seed=1,2", f"hydra.sweep.dir={study}", "analysis.enabled=false"]
    first = run_cli([*grid, "trainer.epochs=1"], isolated_env)
    assert first.returncode == 0, first.stderr[-3000:]
    done, killed = sorted(p for p in study.iterdir() if (p / "metrics.json").exists())
    kept = (done / "predictions.csv").stat().st_mtime_ns
    status = json.loads((killed / "metrics.json").read_text())
    other = run_cli([*grid, "trainer.epochs=2", "resume=true"], isolated_env)  # same folder, another config
    assert_one_line_failure(other, "2 of 2 runs of this sweep failed", "holds a completed run of another config")
    (killed / "metrics.json").write_text(json.dumps({**status, "status": "running"}))  # as a kill leaves it

    refused = run_cli([*grid, "trainer.epochs=1"], isolated_env)  # without resume nothing is overwritten
    assert_one_line_failure(refused, "2 of 2 runs", "already holds a completed run", "resume=true")

    again = run_cli([*grid, "trainer.epochs=1", "resume=true"], isolated_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (done / "predictions.csv").stat().st_mtime_ns == kept  # skipped, not rerun
    assert json.loads((killed / "metrics.json").read_text())["status"] == "completed"
    assert json.loads((killed / "attempt-1.metrics.json").read_text())["status"] == "running"
    assert "skipped (resume=true)" in (done / "run.log").read_text()


def test_slurm_launcher_config_composes_to_the_submitit_plugin(isolated_env):
    proc = run_cli(["hydra/launcher=slurm", "hydra.launcher.partition=cpu", "--cfg", "hydra"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hydra_plugins.embedlab_launchers.tolerant.TolerantSlurmLauncher" in proc.stdout
    assert "partition: cpu" in proc.stdout and "cpus_per_task: 2" in proc.stdout


def test_a_completed_run_counts_as_the_same_config_wherever_the_checkout_and_data_live(tmp_path):
    from embedlab.run import earlier_attempt

    def config(root: str, epochs: int) -> str:
        paths = f"paths:\n  root_dir: {root}\n  data_dir: {root}/data\npaper_table: {root}/experiments/table.csv\n"
        return f"seed: 1\nresume: true\ntrainer:\n  epochs: {epochs}\n{paths}"

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(config("/old/checkout", 3))
    (run / "metrics.json").write_text(json.dumps({"status": "completed", "test_accuracy": 0.8}))
    assert earlier_attempt(run, config("/new/checkout", 3), resume=True)["test_accuracy"] == 0.8
    with pytest.raises(EmbedlabError, match="holds a completed run of another config"):
        earlier_attempt(run, config("/new/checkout", 4), resume=True)
