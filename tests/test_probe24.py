"""The findings of issue 24's probe, one test each: names that stay names, every failure one line and a record that
says so (disk full, Ctrl-C), `predict` and `neighbours` that check what they read, records that cannot exhaust memory.

The report's script-injection findings are tested in a real browser in test_report_browser.py."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from embedlab import cli
from embedlab.core.checks import check
from embedlab.core.config import compose
from embedlab.core.errors import EmbedlabError
from embedlab.data.datasets import read_table
from embedlab.studies.report import script_json
from embedlab.studies.results import collect
from helpers import assert_one_line_failure, environment_in, run_cli

SMALL = ["task=smoke", "model=avg", "trainer.epochs=1", "analysis.enabled=false", "tracking.mlflow=false"]


# 1. the neighbour browser's data cannot close its script element


def test_browser_data_cannot_close_its_script_element():
    words = ["</script><script>alert(1)</script>", "<!--", "a&b", "\u2028"]
    text = script_json({"words": words})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"words": words}


# 2. names that left the results folder


@pytest.mark.parametrize(
    "override",
    [
        "task.name=../../../../../elsewhere/x",
        "embedding.name=a/b",
        "model.name=..",
        "study=../../../../../elsewhere/x",
        "task.name=.hidden",
        "embedding.name=a\\b",
    ],
)
def test_names_that_are_paths_are_refused_while_composing(override):
    with pytest.raises(EmbedlabError, match="must be a name, not a path"):
        check(compose([override]))


def test_a_hostile_but_harmless_name_is_still_a_name():
    check(compose(["embedding.name='<img src onerror=alert(42)>'"]))


def test_a_path_in_task_name_writes_nothing_outside_the_results_folder(isolated_env, tmp_path):
    outside = tmp_path / "elsewhere"
    proc = run_cli([*SMALL, f"task.name=../../../../../../../../{outside}/x"], isolated_env)
    assert_one_line_failure(proc, "task.name=", "must be a name, not a path")
    assert not outside.exists()
    proc = run_cli(["-m", *SMALL, "+layout=study", f"study=../../../../../../../{outside}/y"], isolated_env)
    assert_one_line_failure(proc, "study=", "must be a name, not a path")
    assert not outside.exists()


# 3. a full disk left `running` and a truncated model.keras


def test_a_full_disk_removes_the_partial_files_and_records_failed(tmp_path, monkeypatch):
    import embedlab.run as run_module

    def experiment(cfg, out_dir):
        (out_dir / "model.keras").write_bytes(b"PK\x03\x04 truncated")
        (out_dir / "tensorboard").mkdir()
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "model.keras"))

    monkeypatch.setattr(run_module, "experiment", experiment)
    cfg = compose(SMALL)
    cfg.paths.output_dir = str(tmp_path / "run")
    with pytest.raises(EmbedlabError, match=r"cannot write .*model.keras: No space left on device"):
        run_module.run(cfg)
    record = json.loads((tmp_path / "run/metrics.json").read_text())
    assert record["status"] == "failed" and "No space left" in record["error"]
    assert {p.name for p in (tmp_path / "run").iterdir()} <= {"metrics.json", "config.yaml", ".lock", "run.log"}


def test_a_read_only_cache_names_the_cache_setting(tmp_path):
    from embedlab.run import disk_error

    cache = tmp_path / "cache"
    exc = OSError(errno.EROFS, "Read-only file system", str(cache / "vectors" / "x.npz"))
    assert "paths.cache_dir" in disk_error(exc, cache) and "results_dir" not in disk_error(exc, cache)
    assert "paths.results_dir" in disk_error(OSError(errno.ENOSPC, "full", str(tmp_path / "run/x")), cache)


# 4. Ctrl-C left a traceback and a `running` record


def test_an_interrupted_run_is_recorded_as_interrupted_without_its_partial_files(tmp_path, monkeypatch):
    import embedlab.run as run_module

    def experiment(cfg, out_dir):
        (out_dir / "history.csv").write_text("epoch\n1\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "experiment", experiment)
    cfg = compose(SMALL)
    cfg.paths.output_dir = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        run_module.run(cfg)
    record = json.loads((tmp_path / "run/metrics.json").read_text())
    assert record["status"] == "interrupted" and "resume=true" in record["error"]
    assert not (tmp_path / "run/history.csv").exists()
    assert collect(tmp_path)["status"].tolist() == ["interrupted"]


def _wait_for_running(folder: Path, n: int, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        running = 0
        for path in folder.rglob("metrics.json"):
            try:
                running += json.loads(path.read_text()).get("status") == "running"
            except (OSError, json.JSONDecodeError):
                pass
        if running >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"{n} runs never started in {folder}")


def test_ctrl_c_on_a_run_is_one_line_and_an_interrupted_record(isolated_env, tmp_path):
    run_dir = tmp_path / "run"
    args = [*SMALL, "trainer.epochs=400", "trainer.patience=400", f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedlab.run", *args], env=isolated_env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for_running(run_dir.parent, 1)
        time.sleep(2)  # into training
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and [line for line in stderr.splitlines() if "embedlab: error:" in line]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"


def test_ctrl_c_on_a_sweep_stops_it_in_one_line_and_leaves_no_running_record(isolated_env, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args = [
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "trainer.threads=1",
        *SMALL,
        "trainer.epochs=400",
        "trainer.patience=400",
        "seed=1,2,3,4",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedlab.run", *args],
        env=isolated_env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job: Ctrl-C reaches every process
    )
    try:
        _wait_for_running(sweep_dir, 2)
        time.sleep(2)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("embedlab: error:")]
    assert len(errors) == 1 and "sweep interrupted" in errors[0], stderr[-3000:]
    statuses = [json.loads(p.read_text())["status"] for p in sweep_dir.rglob("metrics.json")]
    assert statuses and "running" not in statuses and "interrupted" in statuses


# 5. and 6. predict and neighbours: what they read is checked, every failure one line


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):

    root = tmp_path_factory.mktemp("trained")
    run_dir = root / "run"
    proc = run_cli(["experiment=smoke", "analysis.enabled=false", f"hydra.run.dir={run_dir}"], environment_in(root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@pytest.fixture
def run_copy(finished_run, tmp_path):
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def one_error(capsys, argv: list[str]) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("embedlab: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


def test_predict_refuses_empty_texts_and_cells(run_copy, tmp_path, capsys):
    assert "is empty" in one_error(capsys, ["predict", str(run_copy), "--text", "  "])
    pd.DataFrame({"text": ["a fine film", "", None]}).to_csv(tmp_path / "in.csv", index=False)
    line = one_error(capsys, ["predict", str(run_copy), "--input", str(tmp_path / "in.csv")])
    assert "text 2, 3 of 3 is empty" in line


def test_predict_refuses_a_vocabulary_that_no_longer_matches(run_copy, capsys):
    words = (run_copy / "vocab.txt").read_text().split("\n")
    (run_copy / "vocab.txt").write_text("\n".join(words[:100]) + "\n")
    assert "the run directory was changed" in one_error(capsys, ["predict", str(run_copy), "--text", "good"])
    (run_copy / "vocab.txt").write_text("\n".join(words) + "extra\nrows\n")
    assert "the run directory was changed" in one_error(capsys, ["predict", str(run_copy), "--text", "good"])


@pytest.mark.parametrize("status", ["running", "failed", "interrupted"])
def test_predict_and_neighbours_refuse_an_unfinished_run(run_copy, capsys, status):
    record = json.loads((run_copy / "metrics.json").read_text())
    (run_copy / "metrics.json").write_text(json.dumps({**record, "status": status}))
    assert f"says '{status}'" in one_error(capsys, ["predict", str(run_copy), "--text", "good"])
    assert f"says '{status}'" in one_error(capsys, ["neighbours", str(run_copy), "good"])


def test_predict_names_its_own_encoding_option_and_reads_latin1(run_copy, tmp_path, capsys):
    (tmp_path / "in.csv").write_bytes("text\ncaf\xe9 au lait film\n".encode("latin-1"))
    line = one_error(capsys, ["predict", str(run_copy), "--input", str(tmp_path / "in.csv")])
    assert "--encoding" in line and "task.encoding" not in line
    assert cli.main(["predict", str(run_copy), "--input", str(tmp_path / "in.csv"), "--encoding", "latin-1"]) == 0


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "model.keras").write_bytes((d / "model.keras").read_bytes()[:5000]), "not a Keras model"),
        (lambda d: (d / "model.keras").write_bytes(b"\x80\x04\x95 a pickle"), "not a Keras model"),
        (lambda d: (d / "classifier.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "classifier.json").write_text('{"classes": ["a"]}'), "another embedlab version"),
        (lambda d: (d / "classifier.json").write_text("[1, 2]"), "another embedlab version"),
    ],
)
def test_predict_on_damaged_or_old_files_is_one_line(run_copy, capsys, damage, message):
    damage(run_copy)
    assert message in one_error(capsys, ["predict", str(run_copy), "--text", "a good film"])


def test_predict_on_a_tampered_keras_archive_is_one_line(run_copy, capsys):
    import zipfile

    source = run_copy / "model.keras"
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = b'{"class_name": "Lambda", "config": {}}'
    with zipfile.ZipFile(source, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert "cannot be loaded" in one_error(capsys, ["predict", str(run_copy), "--text", "a good film"])


def test_predict_out_into_a_missing_folder_or_over_a_file_is_one_line(run_copy, tmp_path, capsys):
    line = one_error(capsys, ["predict", str(run_copy), "--text", "good", "--out", str(tmp_path / "no/p.csv")])
    assert "does not exist" in line
    (tmp_path / "mine.csv").write_text("keep me\n")
    assert "never overwrites" in one_error(
        capsys, ["predict", str(run_copy), "--text", "good", "--out", str(tmp_path / "mine.csv")]
    )
    assert (tmp_path / "mine.csv").read_text() == "keep me\n"


@pytest.mark.parametrize("k", ["0", "-1"])
def test_neighbours_with_k_below_one_is_one_line(run_copy, capsys, k):
    assert "at least 1" in one_error(capsys, ["neighbours", str(run_copy), "good", "-k", k])


def test_neighbours_on_a_truncated_space_is_one_line(run_copy, capsys):
    path = run_copy / "embedding_trained.w2v.bin"
    path.write_bytes(path.read_bytes()[:300])
    assert "damaged or truncated" in one_error(capsys, ["neighbours", str(run_copy), "good"])


# 8. non-finite numbers in the config


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused_while_composing(value):
    with pytest.raises(EmbedlabError, match=f"trainer.learning_rate={value.replace('+', '')}.* must be a finite"):
        check(compose([f"trainer.learning_rate={value}"]))


# 9. a record nested 200k levels deep or of 156 MB


def test_deeply_nested_and_huge_records_are_listed_as_broken(tmp_path):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep/metrics.json").write_text("[" * 200_000 + "]" * 200_000)
    (tmp_path / "huge").mkdir()
    with open(tmp_path / "huge/metrics.json", "w") as handle:
        handle.write('{"status": "completed", "pad": "')
        handle.write("x" * (9 * 2**20))
        handle.write('"}')
    frame = collect(tmp_path).set_index("run_dir")
    assert (frame["status"] == "broken").all()
    assert "nested too deeply" in frame.loc[str(tmp_path / "deep"), "error"]
    assert "larger than any run's record" in frame.loc[str(tmp_path / "huge"), "error"]


# 10. a 1,000-class table printed 1,806 PerformanceWarnings


def test_many_classes_build_predictions_without_fragmenting_warnings(tmp_path):
    from dataclasses import dataclass, field

    from embedlab.analysis.projector import export_projector
    from embedlab.data.text import Vocabulary
    from embedlab.run import write_predictions

    @dataclass
    class Split:
        labels: np.ndarray = field(default_factory=lambda: np.arange(5))
        texts: list = field(default_factory=lambda: ["t"] * 5)

        def __len__(self) -> int:
            return 5

    @dataclass
    class Data:
        classes: list
        test: Split = field(default_factory=Split)

    classes = [f"c{i}" for i in range(1000)]
    data = Data(classes)
    vocab = Vocabulary.build([["a", "b"]])
    odds = pd.DataFrame({"word": ["a"] * 1000 + ["b"] * 1000, "class": classes * 2, "log_odds": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        write_predictions(tmp_path, data, np.full((5, 1000), 1e-3), np.zeros(5, int))
        export_projector(tmp_path / "projector", vocab, {"trained": np.zeros((len(vocab), 2))}, 10, odds)
    assert pd.read_csv(tmp_path / "predictions.csv").shape == (5, 3 + 1000 + 2)


# 11. a refused rerun appended an ERROR line to the completed run's run.log


def test_a_refused_rerun_changes_no_file_of_the_completed_run(isolated_env, tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli([*SMALL, "seed=1", f"hydra.run.dir={run_dir}"], isolated_env)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    for extra in (["seed=7", "resume=true"], ["seed=1"]):
        refused = run_cli([*SMALL, *extra, f"hydra.run.dir={run_dir}"], isolated_env)
        assert_one_line_failure(refused, "holds a completed run")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


# 12. a broken JSON-lines file was reported by byte position


def test_a_broken_jsonl_line_is_named_by_its_line_number(tmp_path):
    lines = [json.dumps({"text": f"t {i}", "label": "a"}) for i in range(6)]
    lines[4] = '{"text": "oops", "label": }'
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(EmbedlabError, match=r"t.jsonl: line 5 is not valid JSON"):
        read_table(tmp_path / "t.jsonl", None)
    lines[4] = "[1, 2]"
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(EmbedlabError, match=r"line 5 is not a JSON object"):
        read_table(tmp_path / "t.jsonl", None)


def test_the_schema_is_unchanged_by_the_name_check():
    cfg = compose([])
    check(cfg)
    assert OmegaConf.select(cfg, "task.name") == "sst2"
