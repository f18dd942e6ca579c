"""Shared fixtures: the real data directory (fail, not skip, when CI requires it) and tiny generated files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embedlab.core.config import export_locations

export_locations()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data directory with the real datasets (EMBEDLAB_DATA_DIR)."""
    value = os.environ.get("EMBEDLAB_DATA_DIR")
    path = Path(value) if value else None
    if path is None or not (path / "kim2014").is_dir():
        message = f"EMBEDLAB_DATA_DIR={value!r} does not hold the datasets (expected kim2014/, imdb/, glove/ ...)"
        if os.environ.get("EMBEDLAB_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def environment_in(root: Path) -> dict[str, str]:
    """Environment for a CLI run whose results and caches land under root."""
    env = dict(os.environ)
    env.update(
        EMBEDLAB_RESULTS_DIR=str(root / "results"),
        EMBEDLAB_CACHE_DIR=str(root / "cache"),
        EMBEDLAB_DATA_DIR=str(root / "data"),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    return environment_in(tmp_path)


def run_cli(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "embedlab.run", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
