"""Seeded Keras training on tf.data with early stopping on the dev metric, and test-set evaluation."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.errors import EmbedlabError

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adadelta", "sgd", "rmsprop")


def seed_everything(seed: int, threads: int | None) -> None:
    """Same config and seed, same numbers on the same machine: seeded RNGs and deterministic TF ops."""
    import keras
    import tensorflow as tf

    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process (tests run several models)
            pass


def _dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _keep_best_weights(monitor: str, mode: str) -> Any:
    """Restore the weights of the best dev epoch at the end, whether or not early stopping fired."""
    import keras

    class KeepBest(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best = -np.inf if mode == "max" else np.inf
            self.best_epoch = -1
            self.weights: list[np.ndarray] | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            value = (logs or {}).get(monitor)
            if value is None:
                return
            better = value > self.best if mode == "max" else value < self.best
            if better:
                self.best, self.best_epoch, self.weights = value, epoch, self.model.get_weights()

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            if self.weights is not None:
                self.model.set_weights(self.weights)

    return KeepBest()


@dataclass(frozen=True)
class TrainResult:
    history: dict[str, list[float]]
    seconds: float
    epochs_run: int
    best_epoch: int
    examples_per_second: float


def train(
    model: Any,
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    cfg: dict[str, Any],
    seed: int,
    log_dir: Path | None = None,
) -> TrainResult:
    """Fit with early stopping on the dev metric; log_dir: Keras TensorBoard logs (scalars per epoch) go there."""
    import keras

    name = str(cfg["optimizer"]).lower()
    if name not in OPTIMIZERS:
        raise EmbedlabError(f"trainer.optimizer={cfg['optimizer']!r} is not known; use one of {OPTIMIZERS}")
    if int(cfg["epochs"]) < 1 or int(cfg["batch_size"]) < 1:
        raise EmbedlabError("trainer.epochs and trainer.batch_size must be at least 1")
    optimizer = keras.optimizers.get({"class_name": name, "config": {"learning_rate": float(cfg["learning_rate"])}})
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=bool(cfg.get("jit_compile", False)),
    )
    monitor, mode = f"val_{cfg['monitor']}", "min" if cfg["monitor"] == "loss" else "max"
    keep = _keep_best_weights(monitor, mode)
    callbacks = [keep]
    if cfg.get("patience"):
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=int(cfg["patience"])))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0))
    x_train, y_train = data["train"]
    started = time.perf_counter()
    history = model.fit(
        _dataset(x_train, y_train, int(cfg["batch_size"]), seed),
        validation_data=_dataset(*data["dev"], int(cfg["batch_size"]) * 4, None),
        epochs=int(cfg["epochs"]),
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles, seeded
        verbose=2,
    )
    seconds = time.perf_counter() - started
    epochs_run = len(history.history["loss"])
    return TrainResult(
        {k: [float(v) for v in vals] for k, vals in history.history.items()},
        seconds,
        epochs_run,
        keep.best_epoch + 1,
        len(x_train) * epochs_run / seconds,
    )


def evaluate(
    model: Any, x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int
) -> tuple[dict[str, Any], np.ndarray]:
    """Test metrics and the predicted class probabilities."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, roc_auc_score

    probs = model.predict(_dataset(x, y, batch_size, None), verbose=0)
    pred = probs.argmax(axis=1)
    labels = list(range(n_classes))
    metrics: dict[str, Any] = {
        "test_accuracy": float(accuracy_score(y, pred)),
        "test_macro_f1": float(f1_score(y, pred, average="macro", labels=labels, zero_division=0)),
        "test_loss": float(log_loss(y, np.clip(probs, 1e-7, 1.0), labels=labels)),
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
    }
    if n_classes == 2 and len(np.unique(y)) == 2:
        metrics["test_roc_auc"] = float(roc_auc_score(y, probs[:, 1]))
    return metrics, probs
