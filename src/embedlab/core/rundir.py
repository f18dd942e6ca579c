"""The run directory's contract, shared by the run, the sweep and the results table: which file says a run's
status, and the lock a live run holds on its directory. The bottom layer: imports nothing of embedlab."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STATUS_FILE = "metrics.json"  # {"status": "running" | "failed" | "completed", ...}, written last on success
LOCK_FILE = ".lock"


@contextmanager
def run_lock(out_dir: Path) -> Iterator[bool]:
    """Hold the run directory's lock for as long as the run goes; yields False when another process holds it.

    An flock is released by the kernel when its process dies, so a killed run's directory is free again while a
    live one (another sweep into the same study folder) is never entered twice.
    """
    with open(out_dir / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def locked_elsewhere(out_dir: Path) -> bool:
    """Whether a live process is running in out_dir now."""
    if not (out_dir / LOCK_FILE).exists():
        return False
    with run_lock(out_dir) as held:
        return not held
