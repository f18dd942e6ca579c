"""Each run logged to MLflow (a local SQLite store by default, so `mlflow ui` shows every run) with its params,
metrics and key artifacts. The run directory stays the record: the table and report are rebuilt from it alone,
and a tracking store that cannot be written costs a warning, never the run.

    mlflow ui --backend-store-uri sqlite:///results/mlflow.db
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedlab.core.rundir import RunDir

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Tracking

log = logging.getLogger("embedlab")

ARTIFACTS = ["status", "config", "history", "analysis", "neighbours_md", "spaces", "drift", "projection"]  # RunDir's
RETRIES = 5  # SQLite allows one writer at a time; parallel sweep jobs wait their turn
PROBE_SECONDS = 3.0  # a tracking server that does not answer /health in this time is taken as down
UNREACHABLE = "EMBEDLAB_TRACKING_UNREACHABLE"  # set by a sweep that found its server down; its jobs then stay quiet


def experiment_name(cfg: Tracking, study: str | None) -> str:
    """tracking.experiment, else the study's name, else "embedlab"."""
    return str(cfg.experiment or study or "embedlab")


def tracking_uri(cfg: Tracking, results_dir: Path) -> str:
    return str(cfg.uri or f"sqlite:///{Path(results_dir).resolve() / 'mlflow.db'}")


def _client(uri: str, experiment: str, results_dir: Path) -> tuple[Any, str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return client, found.experiment_id
    location = None
    if uri.startswith("sqlite:") or "://" not in uri:  # local store: artifacts beside it, not in the working dir
        location = (Path(results_dir).resolve() / "mlflow-artifacts" / experiment).as_uri()
    try:
        return client, client.create_experiment(experiment, artifact_location=location)
    except Exception:  # created by a parallel job in between
        return client, client.get_experiment_by_name(experiment).experiment_id


def unreachable(uri: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why an http(s) tracking server does not answer now, or None (it answers, or the store is not a server).

    MLflow's client retries a refused connection with backoff for minutes per call; one quick probe of the server's
    /health endpoint first turns a server that is down into one warning instead of a sweep that hangs.
    """
    if not uri.startswith(("http://", "https://")):
        return None
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # something answers (e.g. a proxy without /health): let MLflow's client talk to it
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(getattr(reason, "strerror", None) or reason)


def prepare_store(cfg: Tracking, results_dir: Path, experiment: str) -> str | None:
    """Create the store and experiment once, before a sweep's jobs start (parallel first writes can collide).

    Returns the warning to show when the tracking server is down: said once by the sweep, whose jobs (which inherit
    its environment) then skip the server quietly.
    """
    if not cfg.mlflow:
        return None
    uri = tracking_uri(cfg, results_dir)
    if why := unreachable(uri):
        os.environ[UNREACHABLE] = uri
        return (
            f"MLflow tracking server {uri} not reachable ({why}): this sweep's runs are not logged there; each run "
            "directory stays the record"
        )
    _client(uri, experiment, results_dir)
    return None


def log_run(
    cfg: Tracking, results_dir: Path, experiment: str, run_name: str, config: dict[str, Any], out_dir: Path
) -> str | None:
    """One MLflow run from a finished run directory; returns its run id, or None (with a warning) on failure."""
    if not cfg.mlflow:
        return None
    uri = tracking_uri(cfg, results_dir)
    if os.environ.get(UNREACHABLE) == uri:  # the sweep found it down and said so once
        log.info("MLflow tracking server %s was down when the sweep started; run not logged there", uri)
        return None
    if why := unreachable(uri):
        log.warning(
            "MLflow tracking server %s not reachable (%s): run not logged there (the run itself is complete)", uri, why
        )
        return None
    for attempt in range(RETRIES):
        try:
            return _log(uri, experiment, results_dir, run_name, config, out_dir)
        except Exception as exc:  # the store is shared; a locked database is worth waiting for, nothing else is
            if "locked" in str(exc).lower() and attempt < RETRIES - 1:
                time.sleep(1.0 + attempt)
                continue
            log.warning("MLflow logging to %s failed (the run itself is complete): %s", uri, exc)
            return None
    return None


def _log(uri: str, experiment: str, results_dir: Path, run_name: str, config: dict[str, Any], out_dir: Path) -> str:
    from mlflow.entities import Metric, Param

    from embedlab.studies.results import flatten  # lazy: +512 ms at import

    client, experiment_id = _client(uri, experiment, results_dir)
    payload = json.loads(RunDir(out_dir).status.read_text())
    status = payload.get("status")
    flat: dict[str, object] = {}
    flatten("config", config, flat)  # the results table's config.<key> columns, as MLflow params
    params = {key.removeprefix("config."): str(value)[:500] for key, value in flat.items()}
    now = int(time.time() * 1000)
    metrics = [
        Metric(key.replace("+", "plus"), float(value), now, 0)
        for key, value in payload.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    run = client.create_run(experiment_id, run_name=run_name, tags={"run_dir": str(out_dir), "status": str(status)})
    client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()], metrics=metrics)
    history = RunDir(out_dir).history
    if history.exists():
        import pandas as pd

        frame = pd.read_csv(history)
        steps = [
            Metric(f"epoch_{column}", float(value), now, int(epoch))
            for column in frame.columns
            if column != "epoch"
            for epoch, value in zip(frame["epoch"], frame[column], strict=True)
        ]
        client.log_batch(run.info.run_id, metrics=steps)
    for name in ARTIFACTS:
        path = getattr(RunDir(out_dir), name)
        if path.exists():
            client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id, "FINISHED" if status == "completed" else "FAILED")
    return str(run.info.run_id)
