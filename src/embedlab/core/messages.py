"""Hydra's and OmegaConf's error text turned into one line naming the key, the value and the fix (tested against the
pinned hydra-core 1.3 / omegaconf 2.3 messages), and the did-you-mean for a key no schema has."""

from __future__ import annotations

import difflib
import re
from typing import Any

from embedlab.core.schema import fields_of, get_path, subtree


def keys_of(path: str, config: dict[str, Any] | None = None) -> list[str]:
    node = subtree(path, config)
    return sorted(fields_of(node)) if node else []


def unknown_key(key: str, config: dict[str, Any] | None = None) -> str:
    """The one line for a key no schema has, naming the closest valid key."""
    parent, _, name = key.rpartition(".")
    siblings = keys_of(parent, config)
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    if close:
        return f"{key} is not a config key; did you mean {parent + '.' if parent else ''}{close[0]}?"
    option = get_path(config or {}, f"{parent}.name") if parent in ("model", "task") else None
    where = f"of {parent}={option} " if option else f"of {parent} " if parent else ""
    listed = ", ".join(siblings[:14]) + (" ..." if len(siblings) > 14 else "")
    return f"{key} is not a config key {where}(keys: {listed})"


TYPE_WORDS = {
    "Integer": "a whole number",
    "Float": "a number",
    "Boolean": "true or false",
    "bool": "true or false",
    "String": "text",
}


def _chain(exc: BaseException) -> str:
    texts, seen = [], set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        texts.append(str(node))
        node = node.__cause__ or node.__context__
    return "\n".join(texts)


def problem(exc: BaseException, config: dict[str, Any] | None = None) -> str:
    """One line for a Hydra/OmegaConf composition error: the file, the key, what is wrong, the closest valid key."""
    if found := schema_problem(exc, config):
        return found
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    head = lines[0] if lines else type(exc).__name__
    hint = next((line for line in lines if line.startswith("To append")), "")
    return head + (f" ({hint[0].lower() + hint[1:]})" if hint else "")


def schema_problem(exc: BaseException, config: dict[str, Any] | None = None) -> str | None:
    """The line for a key the schema lacks, a value of the wrong type or a null where one is needed; else None."""
    text = _chain(exc)
    origin = re.search(r"In '([^']+)': ", text)
    where = f"{origin.group(1)}.yaml: " if origin else ""
    full_key = re.search(r"full_key: (\S+)", text)
    override = re.search(r"Could not override '([^']+)'", text)
    if re.search(r"Key '([^']+)' not in '", text) or override:
        key = full_key.group(1) if full_key else override.group(1)  # type: ignore[union-attr]
        if not key.startswith("hydra."):
            return where + unknown_key(key, config)
    value = (
        re.search(r"Value '([^']*)' (?:of type '\w+' )?could not be converted to (\w+)", text)
        or re.search(r"Value '([^']*)' of type '\w+' is incompatible with type hint '([^']+)'", text)
        or re.search(r"Value '([^']*)' is not a valid (bool)", text)
    )
    if value and full_key:
        wanted = TYPE_WORDS.get(value.group(2), value.group(2))
        if value.group(2) == "Integer" and re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", value.group(1)):
            return f"{where}{full_key.group(1)}={value.group(1)} must be a whole number; it is not rounded for you"
        return f"{where}{full_key.group(1)}={value.group(1)} must be {wanted}"
    invalid = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\]", text)
    if invalid and full_key:  # a choice field (an Enum in core/schema.py)
        return f"{where}{full_key.group(1)}={invalid.group(1)} is not known; use one of {invalid.group(2)}"
    if "is not Optional" in text and full_key:
        return f"{where}{full_key.group(1)} cannot be null; give it a value"
    if "Missing mandatory value" in text and full_key:
        return f"{where}{full_key.group(1)} has no value; set it (e.g. {full_key.group(1)}=...)"
    return None
