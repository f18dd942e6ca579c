"""What several test modules share: building configs and fake runs, running the CLI, reading its one error line.

Test modules import from here (never from one another); fixtures live in conftest.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.config import compose, typed
from embedlab.core.schema import TableTask
from embedlab.vectors.embeddings import EmbeddingInit

ROOT = Path(__file__).resolve().parents[1]  # the checkout

# ------------------------------------------------------------------------------------------------- the CLI


def environment_in(root: Path) -> dict[str, str]:
    """Environment for a CLI run whose results and caches land under root."""
    env = dict(os.environ)
    env.update(
        EMBEDLAB_RESULTS_DIR=str(root / "results"),
        EMBEDLAB_CACHE_DIR=str(root / "cache"),
        EMBEDLAB_DATA_DIR=str(root / "data"),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "embedlab.run", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_failure(proc, *fragments: str) -> dict:
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("embedlab: error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------------------------------- data


def task_cfg(**overrides):
    """A task config as the stage gets it: the schema's dataclass (TableTask: every key a loader may read)."""
    return TableTask(**{"name": "t", "loader": "table", "dev_fraction": 0.2, "test_fraction": 0.2, **overrides})


def make_imdb(path: Path, per_class: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for label in ("pos", "neg", *(["unsup"] if split == "train" else [])):
                for i in range(per_class):
                    data = f"{split} {label} review {i}<br />end".encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{i}_7.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        readme = tarfile.TarInfo("aclImdb/README")
        tar.addfile(readme, io.BytesIO(b""))


POSITIVE, NEGATIVE = ["good", "great", "fine"], ["bad", "awful", "poor"]


def separable(n: int, seed: int) -> tuple[list[list[str]], np.ndarray]:
    """Class 1 texts carry a positive word, class 0 a negative one, among shared filler: a linear model's 100%."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    filler = ["the", "a", "movie", "film", "was", "is", "plot", "it"]
    texts = [
        [*rng.choice(filler, 4).tolist(), str(rng.choice(POSITIVE if y else NEGATIVE)), *rng.choice(filler, 2).tolist()]
        for y in labels
    ]
    return texts, labels


# ------------------------------------------------------------------------------------------------- models

VOCAB, DIM, LEN = 30, 8, 12


def model_cfg(name: str, **overrides):
    """The shipped model option as the stage gets it (its schema's dataclass), a CNN with 4 filters per width."""
    narrow = ["model.filters=4"] if name == "cnn" else []
    return typed(compose([f"model={name}", *narrow, *(f"model.{k}={v}" for k, v in overrides.items())]).model)


def pretrained(mode: str, train_missing: bool = False) -> EmbeddingInit:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(VOCAB, DIM)).astype(np.float32)
    matrix[0] = 0
    missing = np.zeros(VOCAB, dtype=bool)
    missing[[1, 5, 6]] = True
    return EmbeddingInit("test", mode, DIM, matrix, missing_rows=missing, train_missing=train_missing)


# ----------------------------------------------------------------------------------------------- studies


def fake_run(root, name, embedding, mode, seed, accuracy, correct=None, status="completed", task="sst2"):
    run = root / name
    run.mkdir(parents=True)
    metrics = {"task": task, "embedding": embedding, "mode": mode, "model": "cnn", "seed": seed, "status": status}
    if status == "completed":
        metrics["test_accuracy"] = accuracy
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.yaml").write_text(
        f"seed: {seed}\ntask:\n  name: {task}\n  train_size: null\ntrainer:\n  epochs: 3\n"
    )
    if correct is not None:
        correct = np.asarray(correct, dtype=bool)
        pd.DataFrame({"index": range(len(correct)), "label": 1, "pred": correct.astype(int)}).to_csv(
            run / "predictions.csv", index=False
        )
    return run


def reported_run(root, name, embedding, mode, seed, accuracy, correct):
    """fake_run with the sizes a real run's metrics.json has, which the report's header reads."""
    folder = fake_run(root, name, embedding, mode, seed, accuracy, correct=correct)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.update(n_train=6920, n_dev=872, n_test=len(correct), wall_seconds=30.0)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder
