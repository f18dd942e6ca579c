"""What a composed config must also satisfy beyond its types: no key added with `+` that no schema has, numbers in
range and finite, names that are names (not paths); each failure one EmbedlabError line."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from embedlab.core.errors import EmbedlabError
from embedlab.core.messages import unknown_key
from embedlab.core.schema import fields_of, get_path, range_problem, ranges

# Ranges a type cannot say live on the schema's fields (core.schema._in): a dataclass refuses a value outside its
# range when made, and check() applies the same ranges to the composed config, before any data is read.
POSITIVE_LISTS = ("model.filter_widths",)  # non-empty lists of whole numbers >= 1
# names that become folder names (run directories, study folders, caches): a name, never a path
NAME_KEYS = ("task.name", "embedding.name", "model.name", "corpus.name", "study")


def name_problem(path: str, value: Any) -> str | None:
    """One line if a name could leave the folder it names something in (a separator, `..`, a leading dot)."""
    if value is None or not isinstance(value, str):
        return None
    if (
        not value.strip()
        or "/" in value
        or "\\" in value
        or value.startswith(".")
        or any(ord(c) < 32 for c in value)
        or len(value.encode()) > 200
    ):
        return (
            f"{path}={value!r} must be a name, not a path: no '/' or '\\', not starting with '.', no control "
            "characters, at most 200 bytes (it names a folder inside the results folder)"
        )
    return None


def _non_finite(node: Any, prefix: str) -> str | None:
    """The first key holding NaN or an infinity (Hydra reads `nan` and `inf` as numbers; no setting wants one)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if prefix == "" and key == "hydra":
                continue
            if found := _non_finite(value, f"{prefix}.{key}" if prefix else str(key)):
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if found := _non_finite(value, f"{prefix}[{i}]"):
                return found
    elif isinstance(node, float) and not math.isfinite(node):
        return f"{prefix}={node} must be a finite number"
    return None


def check(cfg: Any) -> None:
    """Raise EmbedlabError for a key added with `+key=value` that no schema has, or a value out of its range.

    `cfg` is a composed DictConfig. Types and plain overrides were checked while composing; Hydra's `+` opens the
    config for one key, so added keys are checked here against the schema each node was composed with.
    """
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=False)
    if extra := _extra_key(cfg, ""):
        raise EmbedlabError(unknown_key(extra, config))  # type: ignore[arg-type]
    if found := _non_finite(config, ""):
        raise EmbedlabError(found)
    for path in NAME_KEYS:
        if found := name_problem(path, get_path(config, path)):  # type: ignore[arg-type]
            raise EmbedlabError(found)
    for path, bounds in ranges().items():
        if found := range_problem(path, get_path(config, path), bounds):  # type: ignore[arg-type]
            raise EmbedlabError(found)
    for path in POSITIVE_LISTS:
        value = get_path(config, path)  # type: ignore[arg-type]
        if value is not None and (
            not isinstance(value, list) or not value or not all(isinstance(v, int) and v >= 1 for v in value)
        ):
            raise EmbedlabError(
                f"{path}={value} must be a non-empty list of whole numbers of at least 1, like [3, 4, 5]"
            )
    value = get_path(config, "model.C")  # type: ignore[arg-type]
    drawn = isinstance(value, list) and any(isinstance(v, str) and v.startswith("${") for v in value)  # a search
    if (
        value is not None
        and not drawn
        and (not isinstance(value, list) or not value or not all(isinstance(v, int | float) and v > 0 for v in value))
    ):
        raise EmbedlabError(f"model.C={value} must be a non-empty list of positive numbers, like [0.1, 1, 10]")


def _extra_key(node: Any, prefix: str) -> str | None:
    """The first key of a schema-typed node that its schema lacks (only `+key=` can put one there)."""
    from omegaconf import DictConfig, OmegaConf

    kind = OmegaConf.get_type(node)
    declared = fields_of(kind) if kind is not None and dataclasses.is_dataclass(kind) else None
    for key in node.keys():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path == "hydra":
            continue
        if declared is not None and key not in declared:
            return path
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            if found := _extra_key(child, path):
                return found
    return None
