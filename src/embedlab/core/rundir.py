"""The run directory's contract, shared by the run, the sweep and the results table: which file says a run's
status, the lock a live run holds on its directory, and what an earlier attempt in the directory means for a new
one (skipped when it completed with the same config and resume is on, kept as attempt-<n> when it did not finish,
an error otherwise). Imports only the bottom layer."""

from __future__ import annotations

import fcntl
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedlab.core.errors import EmbedlabError

log = logging.getLogger("embedlab")

STATUS_FILE = "metrics.json"  # {"status": "running" | "failed" | "interrupted" | "completed", ...}, last on success
LOCK_FILE = ".lock"
CONFIG_FILE = "config.yaml"
LOG_FILE = "run.log"  # Hydra's job log (configs/hydra/default.yaml names it too)
# what a failed or interrupted attempt keeps: its record, config and log; everything else it wrote is partial
KEPT_ON_FAILURE = (STATUS_FILE, LOCK_FILE, CONFIG_FILE, LOG_FILE, ".hydra")


@dataclass(frozen=True)
class RunDir:
    """A run directory's contract: every file a run writes, named here once; every module reads and writes them
    through this object (`RunDir(path).model`, `RunDir(path).space("trained")`)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def _file(self, name: str) -> Path:
        return self.path / name

    status = property(lambda self: self._file(STATUS_FILE))  # the record: running, failed, interrupted, completed
    config = property(lambda self: self._file(CONFIG_FILE))  # the resolved config
    log = property(lambda self: self._file(LOG_FILE))
    lock = property(lambda self: self._file(LOCK_FILE))
    history = property(lambda self: self._file("history.csv"))  # per epoch
    predictions = property(lambda self: self._file("predictions.csv"))  # every test example
    model = property(lambda self: self._file("model.keras"))  # the classifier (save_model=true)
    classifier = property(lambda self: self._file("classifier.json"))  # what turns text into its input
    vocab = property(lambda self: self._file("vocab.txt"))
    pretrain = property(lambda self: self._file("pretrain.json"))  # how the vectors were pretrained
    tracking = property(lambda self: self._file("tracking.json"))  # the MLflow run id
    analysis = property(lambda self: self._file("analysis.md"))
    spaces = property(lambda self: self._file("spaces.csv"))
    drift = property(lambda self: self._file("drift_by_frequency.csv"))
    neighbours = property(lambda self: self._file("neighbours.csv"))
    neighbours_md = property(lambda self: self._file("neighbours.md"))
    neighbours_html = property(lambda self: self._file("neighbours.html"))
    sentences = property(lambda self: self._file("sentences.npz"))  # the projected test sentences
    projection = property(lambda self: self._file("projection.png"))
    projector = property(lambda self: self._file("projector"))  # TensorBoard's embedding projector
    projector_metadata = property(lambda self: self._file("projector/metadata.tsv"))

    def space(self, name: str) -> Path:
        """The embedding before (initial) or after (trained) training, word2vec binary format."""
        return self._file(f"embedding_{name}.w2v.bin")


class RunRefused(EmbedlabError):
    """The run may not enter its directory (a completed run or an unfinished one without resume is there): nothing
    in the directory is written, its run.log included."""


INTERRUPTED = "interrupted (Ctrl-C or SIGINT) before it finished; rerun with resume=true to redo it"
# run directory -> why the run refused it, for the sweep's on_job_end, which Hydra calls in the job's own process
REFUSALS: dict[str, str] = {}


def remove_partial(out_dir: Path) -> list[str]:
    """Delete what a failed or interrupted attempt wrote besides its record (a truncated model.keras on a full disk
    would otherwise look like a result and hold the room the failed record needs); returns the names removed."""
    import shutil

    removed = []
    for entry in sorted(out_dir.iterdir()):
        if entry.name in KEPT_ON_FAILURE or entry.name.startswith("attempt-"):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
        except OSError as exc:
            log.warning("could not remove the partial %s: %s", entry, exc.strerror)
    return removed


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


# Keys that do not decide a run's numbers: where the checkout, data, cache and results live, what the report puts
# beside the runs, whether they are logged. A study folder resumes after the checkout moves or the folder is copied.
NOT_COMPARED = ("resume", "paths", "paper_table", "tracking", "save_model")


def _comparable(config_text: str) -> dict[str, Any]:
    """The config that decides a run's numbers (without NOT_COMPARED)."""
    import yaml

    config = yaml.safe_load(config_text) or {}
    for key in NOT_COMPARED:
        config.pop(key, None)
    return config


def same_config(stored: dict[str, Any], current: dict[str, Any], prefix: str = "") -> bool:
    """Whether a stored run's config is this one. A key the stored config lacks was added to the schema after that
    run; the run used the key's default then, so it matches when this config has the default too."""
    from embedlab.core.schema import MISSING, default_of  # lazy: +310 ms at import (Hydra, OmegaConf)

    for key in set(stored) | set(current):
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in current:
            return False
        if key not in stored:
            default = default_of(path, current)
            if default is MISSING or default != current[key]:
                return False
        elif isinstance(stored[key], dict) and isinstance(current[key], dict):
            if not same_config(stored[key], current[key], path):
                return False
        elif stored[key] != current[key]:
            return False
    return True


def earlier_attempt(out_dir: Path, config_text: str, resume: bool) -> dict[str, Any] | None:
    """What an earlier run left in out_dir: its payload when it completed with the same config and resume is on.

    A completed run is never overwritten: without resume, or with another config, this is an error. An attempt
    that failed or was killed is retried with resume; its metrics.json is kept as attempt-<n>.metrics.json.
    """
    status_path = out_dir / STATUS_FILE
    if not status_path.exists():
        return None
    try:
        payload = json.loads(status_path.read_text())
    except json.JSONDecodeError:
        payload = {"status": "broken"}
    if payload.get("status") == "completed":
        if not resume:
            raise RunRefused(
                f"{out_dir} already holds a completed run; refusing to overwrite it "
                "(resume=true skips runs completed with the same config)"
            )
        stored = out_dir / CONFIG_FILE
        if not stored.exists() or not same_config(_comparable(stored.read_text()), _comparable(config_text)):
            raise RunRefused(
                f"{out_dir} holds a completed run of another config; give this sweep its own hydra.sweep.dir"
            )
        return payload
    if not resume:
        raise RunRefused(
            f"{out_dir} holds an unfinished run (status {payload.get('status')!r}); pass resume=true to retry it"
        )
    attempt = 1 + len(list(out_dir.glob("attempt-*.metrics.json")))
    status_path.rename(out_dir / f"attempt-{attempt}.metrics.json")
    log.info("retrying the unfinished run in %s (earlier attempt kept as attempt-%d.metrics.json)", out_dir, attempt)
    return None


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The run's status record, or None when it is missing or unreadable (not JSON, not UTF-8, not a record)."""
    try:
        payload = json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):  # ValueError: json.JSONDecodeError and UnicodeDecodeError
        return None
    return payload if isinstance(payload, dict) else None


def finished_run(run_dir: Path) -> Path:
    """A run directory whose record says it completed; anything else is one line saying what it is."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EmbedlabError(f"{run_dir} is not a folder; give the directory of a finished run")
    record = read_status(run_dir)
    if record is not None:
        status = record.get("status")
    else:
        status = "unreadable" if (run_dir / STATUS_FILE).exists() else "missing"
    if status == "missing":
        raise EmbedlabError(
            f"{run_dir} is not a run directory (no {STATUS_FILE}); give the directory of a finished run"
        )
    if status != "completed":
        raise EmbedlabError(
            f"{run_dir}: its {STATUS_FILE} says {status!r}, not 'completed'; give the directory of a finished run "
            "(an unfinished or failed run's files are partial)"
        )
    return run_dir
