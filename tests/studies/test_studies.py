"""Studies: a sweep through the joblib launcher into a study folder gives one table, a report, tracking and a
notebook that runs; failures are listed, never counted; two sweeps into one folder lose nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.core.errors import EmbedlabError
from helpers import ROOT, environment_in, run_cli

STUDY = ["-m", "experiment=smoke", "+layout=study", "trainer.epochs=1"]
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A two-by-two smoke study (2 modes x 2 seeds) run once through the joblib launcher."""
    root = tmp_path_factory.mktemp("study")
    env = environment_in(root)
    proc = run_cli([*STUDY, *JOBLIB, "study=two_by_two", "seed=1,2", "embedding.mode=frozen,finetune"], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "results" / "two_by_two", proc, env


def test_two_by_two_sweep_gives_a_four_row_table_and_a_report(study):
    folder, proc, _ = study
    assert "Joblib" in proc.stdout + proc.stderr  # the runs went through the launcher
    table = pd.read_parquet(folder / "runs.parquet")
    assert len(table) == 4 and set(table["status"]) == {"completed"}
    assert sorted(zip(table["mode"], table["seed"], strict=True)) == [
        ("finetune", 1),
        ("finetune", 2),
        ("frozen", 1),
        ("frozen", 2),
    ]
    assert {Path(d).relative_to(folder / "runs" / "smoke").as_posix() for d in table["run_dir"]} == {
        "lee_fasttext-frozen_cnn_s1",
        "lee_fasttext-frozen_cnn_s2",
        "lee_fasttext-finetune_cnn_s1",
        "lee_fasttext-finetune_cnn_s2",
    }
    cells = pd.read_csv(folder / "cells.csv")
    assert list(cells["n"]) == [2, 2]
    frozen = table[table["mode"] == "frozen"]["test_accuracy"].to_numpy()
    row = cells[cells["mode"] == "frozen"].iloc[0]
    assert row["mean"] == pytest.approx(frozen.mean()) and row["std"] == pytest.approx(frozen.std(ddof=1))
    report = (folder / "report.md").read_text()
    assert "**4 runs**: 4 completed" in report and "No run failed" in report
    assert "![accuracy_smoke](figures/accuracy_smoke.png)" in report
    assert (folder / "figures" / "accuracy_smoke.png").stat().st_size
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and 'src="figures/' not in html  # self-contained
    assert f"| {100 * row['mean']:.1f} |" in re.sub(r" +", " ", report)  # accuracy in %, one decimal
    lines = [line for line in proc.stderr.splitlines() if line.startswith("sweep: ")]
    assert lines[0] == "sweep: 4 runs into " + str(folder)
    assert lines[-1].startswith("sweep: 4/4 runs done, 0 failed")


def test_runs_are_tracked_in_mlflow_and_tensorboard(study):
    from mlflow.tracking import MlflowClient

    folder, _, _ = study
    client = MlflowClient(tracking_uri=f"sqlite:///{folder.parent / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("two_by_two")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    table = pd.read_parquet(folder / "runs.parquet").set_index("run_dir")
    for run in runs:
        run_dir = run.data.tags["run_dir"]
        assert run.data.metrics["test_accuracy"] == pytest.approx(table.loc[run_dir, "test_accuracy"])
        assert run.data.params["embedding.mode"] == table.loc[run_dir, "mode"]
        assert json.loads((Path(run_dir) / "tracking.json").read_text())["mlflow_run_id"] == run.info.run_id
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"metrics.json", "config.yaml", "history.csv"} <= artifacts
        assert list((Path(run_dir) / "tensorboard").rglob("events.out.tfevents.*"))


def test_notebook_executes_against_the_study(study):
    import nbclient
    import nbformat

    folder, _, env = study
    notebook = nbformat.read(ROOT / "notebooks" / "inspect_results.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    os.environ["EMBEDLAB_STUDY_DIR"] = str(folder)
    try:
        nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    finally:
        del os.environ["EMBEDLAB_STUDY_DIR"]
    text = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "lee_fasttext" in text and "image/png" in text and "Traceback" not in text


def test_rerun_with_resume_skips_every_completed_run(study):
    folder, _, env = study
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("predictions.csv")}
    proc = run_cli([*STUDY, *JOBLIB, "study=two_by_two", "seed=1,2", "embedding.mode=frozen,finetune"], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("predictions.csv")} == before
    assert "sweep: 4/4 runs done (4 already complete, skipped), 0 failed" in proc.stderr


def test_a_failed_run_is_listed_not_counted_and_the_sweep_goes_on(isolated_env, tmp_path):
    subdir = "hydra.sweep.subdir=runs/n${task.train_size}"  # as learning_curve names its runs
    args = [*STUDY, "study=mixed", subdir, "analysis.enabled=false", "task.train_size=50,100000"]
    proc = run_cli(args, isolated_env)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
    assert len(errors) == 1 and "1 of 2 runs of this sweep failed" in errors[0] and "train_size=100000" in errors[0]
    folder = tmp_path / "results" / "mixed"
    table = pd.read_csv(folder / "runs.csv")
    assert sorted(table["status"]) == ["completed", "failed"]
    assert pd.read_csv(folder / "cells.csv")["n"].tolist() == [1]  # the failure is counted nowhere
    assert "1 runs failed or did not finish" in (folder / "report.md").read_text()


def test_two_sweeps_into_one_study_folder_at_once_lose_nothing(isolated_env, tmp_path):
    base = [sys.executable, "-m", "embedlab.run", *STUDY, "study=shared", "analysis.enabled=false"]
    first = subprocess.Popen([*base, "seed=1,2,3"], env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen([*base, "seed=3,2,4"], env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    for process, (_, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, err.decode()[-3000:]
    folder = tmp_path / "results" / "shared"
    table = pd.read_parquet(folder / "runs.parquet")
    assert sorted(table["seed"]) == [1, 2, 3, 4] and set(table["status"]) == {"completed"}
    for run_dir in table["run_dir"]:  # each run ran once: no retry left an earlier attempt behind
        assert not list(Path(run_dir).glob("attempt-*.metrics.json"))
        assert json.loads((Path(run_dir) / "metrics.json").read_text())["status"] == "completed"
    assert len(pd.read_csv(folder / "runs.csv")) == 4


def test_a_run_directory_locked_by_a_live_process_is_left_to_it(tmp_path):
    from embedlab.run import locked_elsewhere, run_lock
    from embedlab.studies.sweep import job_status

    assert not locked_elsewhere(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl,time; f=open({str(tmp_path / '.lock')!r},'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"held"
        assert locked_elsewhere(tmp_path)
        with run_lock(tmp_path) as held:
            assert not held
        # A sweep whose job found the run taken reads its status while the holder may not have written one yet
        # (it takes the lock first): left to the holder, not a failure without a record.
        assert job_status(tmp_path, time.time()) == "elsewhere"
        (tmp_path / "metrics.json").write_text(json.dumps({"status": "failed", "error": "earlier attempt"}))
        assert job_status(tmp_path, time.time()) == "elsewhere"  # the holder is retrying it
    finally:
        holder.kill()
        holder.wait()
    assert not locked_elsewhere(tmp_path)  # a killed holder frees the directory
    assert job_status(tmp_path, time.time()) == "failed"
    (tmp_path / "metrics.json").unlink()
    assert job_status(tmp_path, time.time()) == "broken"


def test_cross_validation_folds_partition_the_data_by_seed():
    from embedlab.data.splits import Split, cv_fold

    labels = np.array([0] * 60 + [1] * 40)
    data = Split([f"text {i}" for i in range(100)], labels)
    tests = []
    for seed in range(1, 11):
        train, test = cv_fold(data, 10, split_seed=0, seed=seed)
        assert len(train) + len(test) == 100 and len(test) == 10
        assert sorted(test.labels.tolist()) == [0] * 6 + [1] * 4  # stratified
        assert not set(train.texts) & set(test.texts)
        tests.append(set(test.texts))
    assert set().union(*tests) == set(data.texts) and sum(len(t) for t in tests) == 100
    assert cv_fold(data, 10, 0, 11)[1].texts == cv_fold(data, 10, 0, 1)[1].texts


def test_studies_compose_to_their_grids(isolated_env):
    from omegaconf import open_dict

    from embedlab.core.config import compose
    from embedlab.studies.sweep import count_jobs

    # seed_question and learning_curve: 11 CNN arms (the distilled source included) and five baseline arms;
    # kim2014: 8 tasks x 6 arms x 10 seeds
    expected = {"seed_question": 96, "learning_curve": 480, "kim2014": 480}
    for name, total in expected.items():
        config = compose([f"experiment={name}"], return_hydra_config=True)
        assert count_jobs(config) == total, name
        assert config.study == name and config.resume is True
    narrowed = compose(["experiment=kim2014"], return_hydra_config=True)
    with open_dict(narrowed):  # as `-m experiment=kim2014 task=mr,sst2,trec seed=1,2,3` leaves them
        narrowed.hydra.overrides.task = ["experiment=kim2014", "task=mr,sst2,trec", "seed=1,2,3"]
    assert count_jobs(narrowed) == 3 * 6 * 3


def test_ray_launcher_config_composes_to_the_ray_plugin(isolated_env):
    proc = run_cli(["hydra/launcher=ray_cluster", "--cfg", "hydra"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hydra_plugins.embedlab_launchers.tolerant.TolerantRayLauncher" in proc.stdout
    assert "num_cpus: 2" in proc.stdout and "env_vars: ${embedlab_env:}" in proc.stdout  # sweep locations to workers
    from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher

    from hydra_plugins.embedlab_launchers.tolerant import TolerantRayLauncher

    assert issubclass(TolerantRayLauncher, RayLauncher)


def test_a_lost_job_is_recorded_as_a_failed_job_of_its_sweep(tmp_path, monkeypatch, capsys):
    import math

    from hydra.core.utils import JobStatus
    from omegaconf import OmegaConf

    from embedlab.studies.sweep import SWEEP_ID, lost_job

    monkeypatch.setenv(SWEEP_ID, "t1")
    progress = tmp_path / ".progress" / "t1"
    progress.mkdir(parents=True)
    (progress / "start.json").write_text(json.dumps({"time": 0, "total": 2}))
    run_dir = tmp_path / "runs" / "a_s1"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": "running", "pid": 1}))  # what a killed run leaves
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(tmp_path), "subdir": "runs/a_s${seed}"}, "job": {"num": 3}}, "seed": 1}
    )
    returned = lost_job(config, "Ray lost the job: WorkerCrashedError")
    assert returned.status == JobStatus.COMPLETED and math.isnan(returned.return_value)  # the sweep goes on
    record = json.loads((progress / "job-00003.json").read_text())
    assert record == {
        "status": "incomplete",
        "run_dir": str(run_dir),
        "error": f"{run_dir}: Ray lost the job: WorkerCrashedError",
    }
    assert "sweep: 1/2 runs done, 1 failed" in capsys.readouterr().err


def test_report_puts_a_published_table_beside_our_cells(tmp_path):
    from embedlab.studies.report import paper_comparison

    frame = pd.DataFrame(
        {
            "status": ["completed"] * 3,
            "task": ["mr"] * 3,
            "model": ["cnn"] * 3,
            "config.task.train_size": [None] * 3,
            "embedding": ["scratch"] * 3,
            "mode": ["scratch"] * 3,
            "seed": [1, 2, 3],
            "test_accuracy": [0.70, 0.72, 0.74],
            "n_train": [100] * 3,
            "run_dir": ["a", "b", "c"],
        }
    )
    paper = tmp_path / "paper.csv"
    paper.write_text("embedding,mode,paper_model,mr\nscratch,scratch,CNN-rand,76.1\n")
    row = paper_comparison(frame, paper).iloc[0]
    assert row["model"] == "CNN-rand" and row["paper"] == 76.1 and row["runs"] == 3
    assert row["ours_mean"] == pytest.approx(72.0) and row["gap"] == pytest.approx(-4.1)
    assert row["ours_ci95"] == "[67.0, 77.0]"  # 72 +- t(0.975, 2) * 2 / sqrt(3) = 72 +- 4.97


def test_paper_table_is_found_by_file_name_among_the_study_files(tmp_path):
    from embedlab.core.config import EXPERIMENTS_DIR
    from embedlab.studies.report import paper_table_path

    shipped = EXPERIMENTS_DIR / "experiment" / "kim2014_table2.csv"
    assert paper_table_path(pd.DataFrame({"config.paper_table": [None, None]})) is None
    moved = pd.DataFrame({"config.paper_table": ["/old/checkout/kim2014_table2.csv", "kim2014_table2.csv"]})
    assert paper_table_path(moved) == shipped  # runs from a checkout that moved: the name still finds the file
    (tmp_path / "mine.csv").write_text("embedding,mode,paper_model,mr\n")
    assert paper_table_path(pd.DataFrame({"config.paper_table": [str(tmp_path / "mine.csv")]})) == tmp_path / "mine.csv"
    with pytest.raises(EmbedlabError, match="gone.csv .paper_table in the runs' config. is missing"):
        paper_table_path(pd.DataFrame({"config.paper_table": ["gone.csv"]}))
