"""Where the project's configs live, and composing them outside the CLI (tests, notebooks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from embedlab.core import (
    schema,  # noqa: F401  (registers the config schemas in Hydra's ConfigStore)
    search,  # noqa: F401  (registers the ${draw:...} resolvers of search spaces)
)

PACKAGE = Path(__file__).resolve().parents[1]  # embedlab/
CONFIG_DIR = PACKAGE / "configs"  # shipped inside the package: a wheel install has them too
EXPERIMENTS_DIR = PACKAGE / "experiments"
CHECKOUT = PACKAGE.parents[1] if (PACKAGE.parents[1] / "pyproject.toml").is_file() else None  # src/ layout checkout


def default_root() -> Path:
    """Where data/, .cache/ and results/ go unless EMBEDLAB_*_DIR say otherwise: the checkout embedlab runs from,
    or, for an installed package, the folder it is started in."""
    return CHECKOUT or Path.cwd()


def export_locations() -> None:
    """Configs interpolate these, so runs find their folders wherever they are started from."""
    os.environ.setdefault("EMBEDLAB_ROOT", str(default_root()))
    os.environ.setdefault("EMBEDLAB_EXPERIMENTS_DIR", str(EXPERIMENTS_DIR))


def forwarded_environment() -> dict[str, str]:
    """This process's EMBEDLAB_* (and TensorFlow log level) variables: what a job on another node needs to resolve
    the same paths and count itself in the same sweep. `${embedlab_env:}` in a launcher config hands it over (Ray
    workers started by `ray start` have that shell's environment, not the sweep's)."""
    export_locations()
    return {k: v for k, v in os.environ.items() if k.startswith("EMBEDLAB_") or k == "TF_CPP_MIN_LOG_LEVEL"}


if not OmegaConf.has_resolver("embedlab_env"):
    OmegaConf.register_new_resolver("embedlab_env", forwarded_environment, use_cache=False)


def option_config(group: str, name: str) -> Any:
    """A shipped option of one group on its own, as the stages take it: its schema's dataclass with the option
    file's values.

    Read without Hydra (which may be running this very process), from the schema the file names in its defaults.
    """
    values = OmegaConf.load(CONFIG_DIR / group / f"{name}.yaml")
    bases = [d for d in values.pop("defaults", []) if isinstance(d, str) and d.startswith("base_")]
    node = schema.SCHEMAS[(group, bases[0])] if bases else dict
    return typed(OmegaConf.merge(OmegaConf.structured(node), values))


def compose(overrides: list[str] | None = None, return_hydra_config: bool = False) -> DictConfig:
    """The config a `python -m embedlab.run` with these overrides would get."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    export_locations()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=overrides or [], return_hydra_config=return_hydra_config)


def typed(node: Any) -> Any:
    """A composed config node as the schema's dataclass instance (Enum fields as Enums, interpolations resolved):
    what the stages take. With plain(), the one place a config leaves OmegaConf."""
    return OmegaConf.to_object(node)


def plain(node: Any) -> dict[str, Any]:
    """A composed config node as a plain, resolved dict (Enums as strings): a record of the config, for MLflow's
    params and JSON; the stages take typed() instead. With typed(), the one place a config leaves OmegaConf."""
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)  # type: ignore[return-value]
