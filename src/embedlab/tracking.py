"""Each run logged to MLflow (a local SQLite store by default, so `mlflow ui` shows every run) with its params,
metrics and key artifacts. The run directory stays the record: the table and report are rebuilt from it alone,
and a tracking store that cannot be written costs a warning, never the run.

    mlflow ui --backend-store-uri sqlite:///results/mlflow.db
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("embedlab")

ARTIFACTS = [
    "metrics.json",
    "config.yaml",
    "history.csv",
    "analysis.md",
    "neighbours.md",
    "spaces.csv",
    "drift_by_frequency.csv",
    "projection.png",
]
RETRIES = 5  # SQLite allows one writer at a time; parallel sweep jobs wait their turn


def experiment_name(cfg: dict[str, Any], study: str | None) -> str:
    """tracking.experiment, else the study's name, else "embedlab"."""
    return str(cfg.get("experiment") or study or "embedlab")


def tracking_uri(cfg: dict[str, Any], results_dir: Path) -> str:
    return str(cfg.get("uri") or f"sqlite:///{Path(results_dir).resolve() / 'mlflow.db'}")


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


def prepare_store(cfg: dict[str, Any], results_dir: Path, experiment: str) -> None:
    """Create the store and experiment once, before a sweep's jobs start (parallel first writes can collide)."""
    if cfg.get("mlflow"):
        _client(tracking_uri(cfg, results_dir), experiment, results_dir)


def log_run(
    cfg: dict[str, Any], results_dir: Path, experiment: str, run_name: str, config: dict[str, Any], out_dir: Path
) -> str | None:
    """One MLflow run from a finished run directory; returns its run id, or None (with a warning) on failure."""
    if not cfg.get("mlflow"):
        return None
    uri = tracking_uri(cfg, results_dir)
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

    from embedlab.results import flatten

    client, experiment_id = _client(uri, experiment, results_dir)
    payload = json.loads((out_dir / "metrics.json").read_text())
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
    history = out_dir / "history.csv"
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
        if (out_dir / name).exists():
            client.log_artifact(run.info.run_id, str(out_dir / name))
    client.set_terminated(run.info.run_id, "FINISHED" if status == "completed" else "FAILED")
    return str(run.info.run_id)
