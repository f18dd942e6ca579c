"""The `embedlab` command: a run through it, its classifier reused by `predict`, its spaces by `neighbours`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

EMBEDLAB = str(Path(sys.executable).parent / "embedlab")  # the console script `pip install` put beside python


def embedlab(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EMBEDLAB, *args], env=env, capture_output=True, text=True, timeout=600)


def test_predict_reproduces_the_runs_test_predictions_and_labels_new_text(isolated_env, tmp_path):
    run_dir = tmp_path / "run"
    proc = embedlab(["run", "experiment=smoke", "analysis.enabled=false", f"hydra.run.dir={run_dir}"], isolated_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {"model.keras", "classifier.json", "vocab.txt"} <= {p.name for p in run_dir.iterdir()}
    expected = pd.read_csv(run_dir / "predictions.csv")
    expected[["text"]].to_csv(tmp_path / "test.csv", index=False)
    proc = embedlab(
        ["predict", str(run_dir), "--input", str(tmp_path / "test.csv"), "--out", str(tmp_path / "p.csv")], isolated_env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = pd.read_csv(tmp_path / "p.csv")
    assert got["pred"].tolist() == expected["pred"].tolist()
    pd.testing.assert_frame_equal(got[["p_negative", "p_positive"]], expected[["p_negative", "p_positive"]])
    proc = embedlab(["predict", str(run_dir), "--text", "a gorgeous , witty , seductive movie ."], isolated_env)
    assert proc.returncode == 0 and proc.stdout.split("\t")[0] in ("negative", "positive"), proc.stderr[-2000:]
    proc = embedlab(["neighbours", str(run_dir), "good", "-k", "4"], isolated_env)
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 4, proc.stderr[-2000:]


def test_predict_and_neighbours_name_what_is_missing_in_one_line(isolated_env, tmp_path):
    for args, message in (
        (["predict", str(tmp_path), "--text", "x"], "is not a run directory (no metrics.json)"),
        (["neighbours", str(tmp_path), "good"], "embedding_trained.w2v.bin does not exist"),
        (["neighbours", str(tmp_path), "good", "--space", "mine"], "is not a space of a run"),
    ):
        proc = embedlab(args, isolated_env)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
        assert proc.returncode == 2 and len(errors) == 1 and message in errors[0], proc.stderr[-2000:]


def test_help_lists_the_commands(isolated_env):
    proc = embedlab(["--help"], isolated_env)
    assert proc.returncode == 0
    for command in ("run", "sweep", "pretrain", "report", "predict", "neighbours"):
        assert f"embedlab {command}" in proc.stdout


def test_sweep_keeps_joblib_settings_only_for_joblib(isolated_env):
    from embedlab.cli import sweep_arguments
    from embedlab.core.config import compose

    here = sweep_arguments(["experiment=smoke"])
    assert here == ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.threads=1", "experiment=smoke"]
    assert sweep_arguments(["experiment=smoke", "hydra.launcher.n_jobs=4"])[1:3] == [
        "hydra/launcher=joblib",
        "trainer.threads=1",
    ]
    ray = sweep_arguments(["experiment=smoke", "hydra/launcher=ray_cluster"])
    assert ray == ["-m", "experiment=smoke", "hydra/launcher=ray_cluster"]  # joblib's n_jobs is not Ray's
    cfg = compose(ray[1:], return_hydra_config=True)  # composes as Hydra would compose the sweep
    assert cfg.hydra.launcher._target_.endswith("TolerantRayLauncher")
