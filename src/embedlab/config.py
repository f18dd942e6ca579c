"""Where the project's configs live, and composing them outside the CLI (tests, notebooks)."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "configs"
EXPERIMENTS_DIR = ROOT / "experiments"


def export_locations() -> None:
    """Configs interpolate these, so runs find the repository wherever they are started from."""
    os.environ.setdefault("EMBEDLAB_ROOT", str(ROOT))
    os.environ.setdefault("EMBEDLAB_EXPERIMENTS_DIR", str(EXPERIMENTS_DIR))


def compose(overrides: list[str] | None = None, return_hydra_config: bool = False) -> DictConfig:
    """The config a `python -m embedlab.run` with these overrides would get."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    export_locations()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=overrides or [], return_hydra_config=return_hydra_config)
