"""A command line's overrides checked before Hydra starts: a group option that does not exist, a value the schema
refuses, a run folder that cannot be one, each in one line (Hydra would report them in 5-20 lines or a traceback).
A sweep's values are each composed once (SWEEP_CHECKS at most)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from embedlab.core.checks import check
from embedlab.core.config import CONFIG_DIR, EXPERIMENTS_DIR, compose
from embedlab.core.errors import EmbedlabError
from embedlab.core.messages import problem, schema_problem


def unknown_choice(args: list[str]) -> str | None:
    """The one-line error for a `group=option` override naming no shipped option (before Hydra's long message)."""
    experiments = Path(os.environ.get("EMBEDLAB_EXPERIMENTS_DIR", EXPERIMENTS_DIR))
    for arg in args:
        key, eq, value = arg.lstrip("+~").partition("=")
        if not eq or "." in key or "/" in key or value.startswith(("range(", "choice(", "glob(")):
            continue
        folder = experiments / key if key == "experiment" else CONFIG_DIR / key
        if key == "hydra" or not folder.is_dir():
            continue
        options = sorted(p.stem for p in folder.glob("*.yaml"))
        for name in (v.strip() for v in value.split(",")):
            if name not in options and name != "null":
                return f"{key}={name} is not known; use one of {', '.join(options)}"
    return None


def _composable(args: list[str]) -> dict[str, Any] | None:
    """The config these overrides choose, without the value overrides (so the options that failed name their keys)."""
    groups = [a for a in args if "=" in a and "." not in a.split("=", 1)[0]]
    try:
        return OmegaConf.to_container(compose(groups))  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - a group choice is what failed: the message names no option then
        return None


SWEEP_CHECKS = 60  # compositions at most to check a sweep's values before Hydra starts it


def sweep_problem(args: list[str]) -> str | None:
    """One line for a sweep value Hydra cannot compose (a typo in any value of a list), before any job starts.

    Each value of each swept override is composed once, the other sweeps at their first value (glob() sweeps,
    which need Hydra's config loader, are left to Hydra).
    """
    try:
        overrides = OverridesParser.create().parse_overrides(args)
    except HydraException:
        return None  # Hydra's grammar error is Hydra's to report
    options: list[list[str]] = []
    for override in overrides:
        key = override.get_key_element()
        try:  # Hydra's own parser: lists in brackets stay one value, range() expands, glob() needs the options
            values = list(override.sweep_string_iterator()) if override.is_sweep_override() else None
        except HydraException:
            continue
        options.append([override.input_line] if values is None else [f"{key}={v}" for v in values])
    trials = [[o[0] for o in options if o]]
    for i, values in enumerate(options):
        trials += [[*(o[0] for o in options[:i] if o), v, *(o[0] for o in options[i + 1 :] if o)] for v in values[1:]]
    for trial in trials[:SWEEP_CHECKS]:
        try:
            check(compose(trial))
        except (HydraException, OmegaConfBaseException, ValueError) as exc:
            if found := schema_problem(exc, _composable(trial)):  # only what the schema says; the rest is Hydra's
                return found
        except EmbedlabError as exc:
            return str(exc)
    return None


def composition_problem(args: list[str]) -> str | None:
    """One line for an override Hydra cannot compose, or a run directory that cannot be one, before Hydra starts.

    Hydra reports these in 5-20 lines (or a traceback when the run directory is a file); a single run's overrides
    are composed here first (a sweep's lists are Hydra's to expand, so a sweep is left to it).
    """
    flags = [a for a in args if a.startswith("-")]
    if flags and set(flags) <= {"-m", "--multirun"}:
        return sweep_problem([a for a in args if a not in flags])
    if flags:  # --cfg, --help, --info ...: Hydra's own modes
        return None
    try:
        cfg = compose(args)
        check(cfg)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        return problem(exc, _composable(args))
    except EmbedlabError as exc:
        return str(exc)
    folders = [("paths.results_dir", OmegaConf.select(cfg, "paths.results_dir", throw_on_resolution_failure=False))]
    folders += [(a.split("=", 1)[0], a.split("=", 1)[1]) for a in args if a.startswith("hydra.run.dir=")]
    for key, value in folders:
        if not value:
            continue
        path = Path(str(value)).expanduser()
        if path.exists() and not path.is_dir():
            return f"{key}={path} is a file; give a folder for the run (it is created if missing)"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create {key}={path}: {exc.strerror}; choose a writable folder"
    return None
