"""Content-addressed memo of expensive pure computations (t-SNE coordinates, intrinsic scores of a space).

Reference spaces restricted to a task vocabulary are the same matrix in every run of that task, so their
projections and scores are computed once and read back after; a run's own spaces differ and are computed afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.core.jsonio import atomic_write

VERSION = "v1"
log = logging.getLogger(__name__)


def key(*parts: Any) -> str:
    """A digest of arrays (by shape, dtype and bytes) and of JSON-able parameters."""
    digest = hashlib.sha256(VERSION.encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.shape}|{part.dtype}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]


def array(cache_dir: Path | None, kind: str, digest: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / "memo" / f"{kind}-{digest}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # corrupt entry: named, discarded, recomputed
            log.warning("discarding the corrupt cache entry %s (%s)", path, exc)
            path.unlink(missing_ok=True)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: np.save(tmp, value), suffix=".tmp.npy")
    return value


def record(cache_dir: Path | None, kind: str, digest: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / "memo" / f"{kind}-{digest}.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("discarding the corrupt cache entry %s (%s)", path, exc)
            path.unlink(missing_ok=True)
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, default=float)
    atomic_write(path, lambda tmp: tmp.write_text(text))
    return value
