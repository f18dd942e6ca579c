"""Check a composed config against the shipped config files before anything is read: typos and wrong types stop.

Hydra merges a misspelt key (`trainer.epocs=3`, `analysis: {neighbors_k: 4}` in an experiment file) silently and a
run then ignores it; `trainer.epochs=ten` failed only after data loading. The schema of each group is the union of
the keys of its shipped options (configs/<group>/*.yaml; configs/config.yaml for top-level keys), each with the
type its shipped values have, so a value of another type, a fraction where a count is meant, or a key no option
has fails here in one line that names the key and the closest valid one.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from embedlab.core.errors import EmbedlabError

SKIPPED = ("hydra",)  # Hydra's own node, checked by Hydra
OPEN = {"analysis.pair_sets", "analysis.analogy_sets"}  # user-named entries


@cache
def schema(config_dir: Path) -> dict[str, set[type]]:
    """Dotted key -> the types its shipped values have (NoneType alone: any type is accepted)."""
    out: dict[str, set[type]] = {}
    top = yaml.safe_load((config_dir / "config.yaml").read_text()) or {}
    _walk("", {k: v for k, v in top.items() if k not in ("defaults", *SKIPPED)}, out)
    for group in sorted(p for p in config_dir.iterdir() if p.is_dir() and p.name not in SKIPPED):
        for option in sorted(group.glob("*.yaml")):
            text = option.read_text()
            if text.lstrip().startswith("# @package _global_"):
                continue  # arms and layouts set keys of other groups; those groups' files define them
            _walk(group.name, yaml.safe_load(text) or {}, out)
    return out


def _walk(prefix: str, node: Any, out: dict[str, set[type]]) -> None:
    if isinstance(node, dict) and (node or prefix in OPEN):
        out.setdefault(prefix, set()).add(dict)
        for key, value in node.items():
            if key != "defaults":
                _walk(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif prefix:
        out.setdefault(prefix, set()).add(type(node))


# Ranges a type cannot say: (lowest, highest) allowed, None for no bound. Checked after the types.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "seed": (0, 2**32 - 1),  # NumPy and TensorFlow seeds
    "trainer.epochs": (1, None),
    "trainer.batch_size": (1, None),
    "trainer.patience": (0, None),
    "trainer.steps_per_execution": (1, None),
    "trainer.learning_rate": (0, None),
    "model.filters": (1, None),
    "model.units": (1, None),
    "model.dropout": (0, 0.99),
    "task.cv_folds": (2, None),
    "analysis.neighbours_k": (1, None),
    "analysis.frequent_probes": (0, None),
    "analysis.unseen_probes": (0, None),
}
POSITIVE_LISTS = ("model.filter_widths",)  # non-empty lists of whole numbers >= 1


def check(config: dict[str, Any], config_dir: Path) -> None:
    """Raise EmbedlabError for the first key no shipped option has, a value of the wrong type, or out of range."""
    known = schema(Path(config_dir))
    _check("", config, known)
    for path, (low, high) in BOUNDS.items():
        value = _get(config, path)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"between {low} and {high}"
            raise EmbedlabError(f"{path}={value} must be {allowed}")
    for path in POSITIVE_LISTS:
        value = _get(config, path)
        if value is not None and (
            not isinstance(value, list) or not value or not all(isinstance(v, int) and v >= 1 for v in value)
        ):
            raise EmbedlabError(
                f"{path}={value} must be a non-empty list of whole numbers of at least 1, like [3, 4, 5]"
            )


def unknown_key(key: str, config_dir: Path) -> str:
    """The one line for an override of a key no shipped option has, naming the closest valid key."""
    known = schema(Path(config_dir))
    parent, _, name = key.rpartition(".")
    siblings = sorted(k.rpartition(".")[2] for k in known if k and k.rpartition(".")[0] == parent)
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    if close:
        return f"{key} is not a config key; did you mean {parent + '.' if parent else ''}{close[0]}?"
    where = f"of {parent} " if parent else ""
    return f"{key} is not a config key {where}(keys: {', '.join(siblings[:12])}{' ...' if len(siblings) > 12 else ''})"


def _get(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _check(prefix: str, node: Any, known: dict[str, set[type]]) -> None:
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path in SKIPPED:
            continue
        if path not in known:
            if prefix in OPEN:
                continue
            siblings = [k.rsplit(".", 1)[-1] for k in known if k.rsplit(".", 1)[0] == prefix and "." in k] or [
                k for k in known if "." not in k
            ]
            close = difflib.get_close_matches(str(key), siblings, n=1, cutoff=0.6)
            hint = f"; did you mean {prefix + '.' if prefix else ''}{close[0]}?" if close else ""
            where = f" (keys of {prefix}: {', '.join(sorted(set(siblings)))})" if prefix and not close else ""
            raise EmbedlabError(f"{path} is not a config key{hint}{where}")
        _check_type(path, value, known[path])
        if isinstance(value, dict):
            _check(path, value, known)


def _check_type(path: str, value: Any, types: set[type]) -> None:
    wanted = types - {type(None)}
    if value is None or not wanted:
        return
    if dict in wanted and isinstance(value, dict):
        return
    if list in wanted and isinstance(value, list):
        return
    if bool in wanted and isinstance(value, bool):
        return
    if isinstance(value, bool):
        raise EmbedlabError(f"{path}={value} must be {_names(wanted)}, not true/false")
    if int in wanted and isinstance(value, int):
        return
    if float in wanted and isinstance(value, int | float):
        return
    if int in wanted and isinstance(value, float) and float not in wanted:
        raise EmbedlabError(f"{path}={value} must be a whole number; it is not rounded for you")
    if str in wanted and isinstance(value, str):
        return
    raise EmbedlabError(f"{path}={value!r} must be {_names(wanted)}")


def _names(types: set[type]) -> str:
    names = {
        int: "a whole number",
        float: "a number",
        str: "text",
        bool: "true or false",
        list: "a list",
        dict: "a mapping",
    }
    return " or ".join(names.get(t, t.__name__) for t in sorted(types, key=lambda t: t.__name__))
