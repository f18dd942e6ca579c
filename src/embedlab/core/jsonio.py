"""Files that appear whole or not at all (atomic_write, used for every file a reader may open while it is written), and
JSON that strict readers accept (NaN becomes null)."""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def atomic_write(path: Path, write: Callable[[Path], object], suffix: str = ".tmp") -> Path:
    """Write a file whole under a temporary name beside it, then rename it into place: a reader sees the old file or
    the new one, never half of one, and a failed write (a full disk) leaves no temporary file behind. `suffix` ends
    the temporary name (NumPy appends .npy / .npz to names without them)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def whole_folder(folder: Path, marker: str, build: Callable[[Path], object]) -> bool:
    """Make a cache folder that appears whole or not at all: build(tmp) fills a temporary folder beside it, which is
    then renamed into place, unless folder/marker exists already. A file lock makes concurrent callers build it once,
    and a temporary folder a killed builder left is removed under it. True when this call built the folder."""
    from filelock import FileLock

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / marker).exists():
            return False
        for stale in folder.parent.glob(f".{folder.name}.*.part"):  # left by a killed builder; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        tmp = folder.parent / f".{folder.name}.{os.getpid()}.part"
        tmp.mkdir()
        try:
            build(tmp)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return True


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Atomic write of strict JSON."""
    text = json.dumps(_plain(payload), indent=2, allow_nan=False) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text))
