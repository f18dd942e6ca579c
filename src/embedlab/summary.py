"""Print a comparison table at the end of a sweep: one line per run, read back from the run directories."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

COLUMNS = [
    "task",
    "embedding",
    "mode",
    "model",
    "seed",
    "status",
    "test_accuracy",
    "test_macro_f1",
    "coverage_tokens",
    "train_seconds",
    "run_dir",
]


def collect(folder: Path) -> pd.DataFrame:
    """One row per run directory under folder (any depth) that has a metrics.json."""
    rows = []
    for status in sorted(Path(folder).rglob("metrics.json")):
        record = json.loads(status.read_text())
        record["run_dir"] = str(status.parent)
        rows.append(record)
    frame = pd.DataFrame(rows)
    return frame.reindex(
        columns=[c for c in COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in COLUMNS]
    )


def format_table(frame: pd.DataFrame, relative_to: Path | None = None) -> str:
    shown = frame.reindex(columns=[c for c in COLUMNS if c in frame.columns]).copy()
    if relative_to is not None and "run_dir" in shown:
        shown["run_dir"] = shown["run_dir"].map(lambda p: str(Path(p).relative_to(relative_to)))
    for column in ("test_accuracy", "test_macro_f1", "coverage_tokens"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    if "train_seconds" in shown:
        shown["train_seconds"] = shown["train_seconds"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    return shown.to_string(index=False)


class SweepSummary(Callback):
    """Hydra callback: after a multirun, show how the runs compare and where each one is."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(config.hydra.sweep.dir)
        frame = collect(folder)
        if frame.empty:
            return
        table = format_table(frame, relative_to=folder)
        frame.to_csv(folder / "summary.csv", index=False)
        print(f"\nRuns in {folder}:\n{table}\n(summary.csv written beside them)", flush=True)
        cache_dir = config.get("paths", {}).get("cache_dir")
        for figure in projection_figures(frame, folder, Path(cache_dir) if cache_dir else None):
            print(f"sentence projections compared: {figure}", flush=True)


def projection_figures(frame: pd.DataFrame, folder: Path, cache_dir: Path | None = None) -> list[Path]:
    """One comparison figure per task of the completed runs that drew sentence projections."""
    from embedlab.errors import EmbedlabError
    from embedlab.projection import SAMPLE_FILE, compare_projections

    written = []
    if "status" not in frame or "task" not in frame:
        return written
    done = frame[frame["status"] == "completed"]
    for task, runs in done.groupby("task"):
        dirs = [Path(d) for d in runs["run_dir"] if (Path(d) / SAMPLE_FILE).exists()]
        if len(dirs) < 2:
            continue
        out = folder / f"projection_{task}.png"
        try:
            written.append(compare_projections(dirs, out, cache_dir=cache_dir))
        except EmbedlabError as exc:  # e.g. runs that drew other sentences: say so, keep the table
            log.warning("no projection comparison for %s: %s", task, exc)
    return written
