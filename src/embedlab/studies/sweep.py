"""Hydra callbacks for sweeps: progress while it runs, and the results table, figures and report when it ends.

Progress (runs done / total, failures, time left) is counted in marker files, one per finished job, under
`<sweep dir>/.progress/<sweep id>/`, so jobs running in other processes (joblib workers, cluster nodes sharing the
folder) are counted too and two sweeps sharing one study folder count their own runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from embedlab.core.config import typed
from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import write_json
from embedlab.core.rundir import (
    INTERRUPTED,
    REFUSALS,
    STATUS_FILE,
    RunDir,
    locked_elsewhere,
    read_status,
    remove_partial,
)
from embedlab.studies.tracking import experiment_name, prepare_store

log = logging.getLogger("embedlab")

SWEEP_ID = "EMBEDLAB_SWEEP_ID"  # set by the sweep's process; launchers pass the environment on to their jobs
TABLE_COLUMNS = ["task", "embedding", "mode", "model", "seed", "status", "test_accuracy", "train_seconds", "run_dir"]


def count_jobs(config: DictConfig) -> int | None:
    """How many jobs the basic sweeper will launch: its params and the command line, expanded as Hydra does."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if "basic_sweeper" not in str(config.hydra.sweeper.get("_target_", "")):
        return None  # another sweeper (e.g. Optuna) decides its own number of trials
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()] + list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(arguments)
    return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))


def _progress_dir(sweep_dir: Path) -> Path:
    return sweep_dir / ".progress" / os.environ.get(SWEEP_ID, "default")


def _sweep_started(progress: Path) -> float | None:
    """When this sweep began (its start marker), or None outside a sweep."""
    start = progress / "start.json"
    return float(json.loads(start.read_text())["time"]) if start.exists() else None


def _record_job(progress: Path, num: int, record: dict[str, Any]) -> None:
    """One finished (or lost) job's marker, then the progress line counting it."""
    write_json(progress / f"job-{int(num):05d}.json", record)
    print(progress_line(progress), file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


def progress_line(progress: Path, now: float | None = None) -> str:
    """'sweep: 12/54 runs done (3 already complete, skipped), 1 failed; 6m10s elapsed, about 15m40s left'."""
    now = time.time() if now is None else now
    start = json.loads((progress / "start.json").read_text())
    finished = [json.loads(p.read_text()) for p in sorted(progress.glob("job-*.json"))]
    total = start.get("total")
    done = len(finished)
    skipped = sum(1 for f in finished if f["status"] == "skipped")
    failed = sum(1 for f in finished if f["status"] in ("failed", "broken", "incomplete"))
    elapsed = now - float(start["time"])
    line = f"sweep: {done}/{total if total is not None else '?'} runs done"
    if skipped:
        line += f" ({skipped} already complete, skipped)"
    line += f", {failed} failed; {_duration(elapsed)} elapsed"
    ran = done - skipped
    if total is not None and ran > 0 and done < total:
        line += f", about {_duration(elapsed / ran * (total - done))} left"
    return line


def job_status(run_dir: Path, job_started: float, payload: dict[str, Any] | None = None) -> str:
    """completed | skipped (completed before this job began) | failed | elsewhere | incomplete | broken."""
    payload = payload if payload is not None else read_status(run_dir)
    status = payload.get("status") if payload is not None else None
    if status == "completed":
        return "skipped" if (run_dir / STATUS_FILE).stat().st_mtime < job_started else "completed"
    # Another sweep's live run holds the directory: left to it, whatever its status file says so far. It may not
    # have written one yet (it takes the lock, then checks the config and earlier attempts, then writes "running"),
    # or hold an earlier attempt's "failed" it is about to retry.
    if locked_elsewhere(run_dir):
        return "elsewhere"
    if payload is None:
        return "broken"
    return status if status == "failed" else "incomplete"


def last_error(run_dir: Path) -> str | None:
    """The last ERROR line the run logged to its run.log (the message after the level), if any."""
    try:
        lines = RunDir(run_dir).log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    errors = [line.split("[ERROR] - ", 1)[-1] for line in lines if "[ERROR]" in line]
    return errors[-1] if errors else None


def job_outcome(run_dir: Path, job_started: float, job_return: Any) -> tuple[str, str | None]:
    """A finished job's status and error, read from what its run wrote (status file, run.log) and returned.

    The run returns NaN when it failed or was refused (e.g. a completed run with another config in its folder); the
    status file then still says why, or run.log's last error does.
    """
    from hydra.core.utils import JobStatus

    payload = read_status(run_dir)
    status = job_status(run_dir, job_started, payload)
    raised = getattr(job_return, "status", None) == JobStatus.FAILED
    value = None if raised else getattr(job_return, "_return_value", None)
    returned_nan = isinstance(value, float) and math.isnan(value)
    # Refused before running (e.g. another config's completed run in the folder): the record predates this job.
    # Not a record completed during it: that is another sweep finishing a run this job found locked ("elsewhere",
    # also NaN), which counts as completed.
    if (raised or returned_nan) and status == "skipped":
        status = "failed"
    if status not in ("failed", "broken", "incomplete"):
        return status, None
    error = REFUSALS.pop(str(run_dir), None) or (payload.get("error") if payload else None)
    if raised:
        error = error or f"{type(job_return._return_value).__name__}: {job_return._return_value}"
    return status, error or last_error(run_dir) or f"{run_dir}: no record of why, see its run.log"


def lost_job(sweep_config: DictConfig, why: str) -> Any:
    """A job its launcher lost (a Ray worker or node that died, a SLURM job cancelled or out of time): recorded as the
    sweep's callback records a job that ended, so the sweep goes on, lists it as failed and exits 1 at its end."""
    from hydra.core.utils import JobReturn, JobStatus

    sweep_dir = Path(str(sweep_config.hydra.sweep.dir))
    try:
        run_dir = sweep_dir / str(sweep_config.hydra.sweep.subdir)
    except Exception:  # a subdir that only resolves on the node (e.g. from the scheduler's environment)
        run_dir = sweep_dir
    log.error("%s: %s", run_dir, why)
    progress = _progress_dir(sweep_dir)
    started = _sweep_started(progress)
    if started is not None:
        status = job_status(run_dir, started) if run_dir != sweep_dir else "incomplete"
        record = {"status": status, "run_dir": str(run_dir)}
        if status not in ("completed", "skipped"):  # lost after its run completed (e.g. in a callback): counted
            record.update(status="incomplete" if status == "elsewhere" else status, error=f"{run_dir}: {why}")
        _record_job(progress, int(sweep_config.hydra.job.num), record)
    overrides = list(OmegaConf.select(sweep_config, "hydra.overrides.task", default=[]) or [])
    return JobReturn(overrides=overrides, cfg=sweep_config, status=JobStatus.COMPLETED, _return_value=math.nan)


ACTIVE_SWEEPS: list[Path] = []  # this process' sweep folders (for Ctrl-C); Hydra runs one sweep per process
INTERRUPT_GRACE = 10.0  # seconds for the jobs to write their own records after Ctrl-C


def interrupted_sweep(grace: float = INTERRUPT_GRACE) -> str:
    """After Ctrl-C: every run of this process' sweep still marked running whose process is gone (its lock free)
    is recorded as interrupted, its partial files removed; returns the one line to print."""
    if not ACTIVE_SWEEPS:
        return "interrupted (Ctrl-C) before any run started"
    folder = ACTIVE_SWEEPS[-1]
    deadline = time.time() + grace
    counts = {"completed": 0, "interrupted": 0, "left to another process": 0}
    for status_path in sorted(folder.rglob(STATUS_FILE)):
        run_dir = status_path.parent
        payload = read_status(run_dir)
        while payload and payload.get("status") == "running" and locked_elsewhere(run_dir) and time.time() < deadline:
            time.sleep(0.2)  # a job still writing its own record
            payload = read_status(run_dir)
        status = payload.get("status") if payload else None
        if status == "running" and locked_elsewhere(run_dir):
            counts["left to another process"] += 1
        elif status == "running":
            remove_partial(run_dir)
            write_json(status_path, {**payload, "status": "interrupted", "error": INTERRUPTED})
            counts["interrupted"] += 1
        elif status in ("completed", "interrupted"):
            counts[status] += 1
    shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    return (
        f"sweep interrupted (Ctrl-C) in {folder}: {shown or 'no run started'}; "
        "rerun the same command with resume=true to finish it"
    )


class SweepCallbacks(Callback):
    """Progress per finished job; at the end the results table, projection comparisons and report of the folder."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ.setdefault(SWEEP_ID, time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")
        progress = _progress_dir(Path(config.hydra.sweep.dir))
        progress.mkdir(parents=True, exist_ok=True)
        ACTIVE_SWEEPS.append(Path(config.hydra.sweep.dir))
        total = count_jobs(config)
        self._prepare_tracking(config)
        write_json(progress / "start.json", {"time": time.time(), "total": total, "pid": os.getpid()})
        if total is not None:
            print(f"sweep: {total} runs into {config.hydra.sweep.dir}", file=sys.stderr, flush=True)

    @staticmethod
    def _prepare_tracking(config: DictConfig) -> None:

        tracking = OmegaConf.select(config, "tracking")
        if tracking is None:
            return
        try:
            settings = typed(tracking)
            name = experiment_name(settings, OmegaConf.select(config, "study"))
            warning = prepare_store(settings, Path(config.paths.results_dir), name)
            if warning:
                print(f"embedlab: warning: {warning}", file=sys.stderr, flush=True)
        except Exception as exc:  # tracking never stops a sweep; each run warns again if it cannot log
            log.warning("MLflow store not prepared: %s", exc)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._job_started = time.time()  # a run completed before this (by an earlier or another sweep) was skipped

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        progress = _progress_dir(Path(config.hydra.sweep.dir))
        started = _sweep_started(progress)
        if started is None:
            return  # a single run, not a sweep
        run_dir = Path(config.hydra.runtime.output_dir)
        status, error = job_outcome(run_dir, getattr(self, "_job_started", started), job_return)
        record = {"status": status, "run_dir": str(run_dir), **({"error": error} if error else {})}
        _record_job(progress, config.hydra.job.num, record)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The table and report; an error here exits 1 (Hydra would only warn about a callback that raised)."""
        try:
            self._finish(config)
        except Exception as exc:
            log.exception("the sweep's results table or report failed")
            print_error(f"results table / report not written: {type(exc).__name__}: {exc}")
            sys.exit(1)

    @staticmethod
    def _finish(config: DictConfig) -> None:
        from embedlab.studies.report import publish  # lazy: +448 ms at import

        folder = Path(config.hydra.sweep.dir)
        progress = _progress_dir(folder)
        mine = [json.loads(p.read_text()) for p in sorted(progress.glob("job-*.json"))]
        cache_dir = OmegaConf.select(config, "paths.cache_dir")
        try:
            written, frame = publish(
                folder, cache_dir=Path(cache_dir) if cache_dir else None, title=OmegaConf.select(config, "study")
            )
        except EmbedlabError as exc:
            print(f"embedlab: no results table: {exc}", file=sys.stderr, flush=True)
            return
        shown = frame.reindex(columns=[c for c in TABLE_COLUMNS if c in frame.columns]).copy()
        shown["run_dir"] = shown["run_dir"].map(lambda p: os.path.relpath(p, folder))
        print(f"\nRuns in {folder}:\n{shown.to_string(index=False)}", flush=True)
        for name, path in written.items():
            if name.startswith("projection_"):
                print(f"sentence projections compared: {path}", flush=True)
        print(f"results table: {written['runs.parquet']} (+ runs.csv, cells.csv, paired.csv)", flush=True)
        print(f"report: {written['report.md']} and {written['report.html']}", flush=True)
        failed = [m for m in mine if m["status"] in ("failed", "broken", "incomplete")]
        if failed:
            print_error(
                f"{len(failed)} of {len(mine)} runs of this sweep failed, not counted; first: "
                f"{failed[0].get('error') or failed[0]['run_dir']} (rerun with resume=true retries failed runs)"
            )
            sys.exit(1)
