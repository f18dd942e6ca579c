"""embedlab installed as a wheel (not an editable checkout) runs from any folder: its configs, presets and Hydra
launchers ship inside the package, and results go under the folder it is started in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow


def test_a_wheel_install_runs_the_smoke_experiment_from_an_unrelated_folder(tmp_path):
    source = tmp_path / "checkout"  # a copy: building in place would leave build/ in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    build.append(str(source))
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("embedlab-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # the dependencies from this environment (the editable embedlab of it is not on that path: its .pth is not read)
    (site / "embedlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBEDLAB_")}
    env.update(EMBEDLAB_CACHE_DIR=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="2")  # keep the user's cache clean
    code = "import embedlab, hydra_plugins.embedlab_launchers as l; print(embedlab.__file__, l.__file__)"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    )
    assert all(str(site) in path for path in where.stdout.split()), where.stdout  # the wheel's, not the checkout's

    proc = subprocess.run(
        [str(venv / "bin" / "embedlab"), "run", "experiment=smoke", "trainer.epochs=1", "analysis.enabled=false"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (status,) = list((elsewhere / "results" / "runs").glob("*/metrics.json"))  # results under the folder it ran in
    assert json.loads(status.read_text())["status"] == "completed"

    proc = subprocess.run(
        [str(venv / "bin" / "embedlab"), "run", "trainer.epocs=3"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "epochs" in errors[0], proc.stderr[-2000:]
