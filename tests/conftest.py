"""Shared fixtures: the real data directory (fail, not skip, when CI requires it) and tiny generated files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from embedlab.core.config import export_locations
from helpers import environment_in

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


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    return environment_in(tmp_path)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
