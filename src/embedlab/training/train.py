"""Seeded Keras training on tf.data with early stopping on the dev metric, and test-set evaluation."""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.core.errors import EmbedlabError
from embedlab.data.text import PAD_ID

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


def batch_plan(lengths: np.ndarray, batch_size: int, seed: int | None, epoch: int, pool: int = 50) -> list[np.ndarray]:
    """The example indices of each batch, grouped by length so that a batch pads to little more than its texts.

    Training (seed given): shuffled with (seed, epoch), sorted by length within pools of `pool` batches, then the
    batches in a shuffled order (a bucket iterator). Evaluation (seed None): sorted by length, in order.
    """
    if seed is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    for start in range(0, len(order), batch_size * pool):
        chunk = order[start : start + batch_size * pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def text_lengths(x: np.ndarray) -> np.ndarray:
    """Tokens per row of a right-padded id matrix (padding is id 0, which no word has)."""
    return (x != PAD_ID).sum(axis=1)


def _dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None, min_len: int) -> Any:
    """Batches padded to their own longest text (at least min_len), a new seeded plan each time it is iterated."""
    import tensorflow as tf

    lengths = text_lengths(x)
    epochs = itertools.count()
    n_batches = -(-len(x) // batch_size)

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for idx in batch_plan(lengths, batch_size, seed, next(epochs)):
            width = max(int(lengths[idx].max()), min_len)
            yield x[idx, :width], y[idx]

    ds = tf.data.Dataset.from_generator(
        batches,
        output_signature=(tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.as_dtype(y.dtype))),
    )
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)


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


def _epoch_clock() -> Any:
    """Wall seconds of each epoch (training and the dev pass), for history.csv: the first one includes tracing."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if logs is not None:
                logs["epoch_seconds"] = time.perf_counter() - self.started

    return EpochClock()


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
    min_len: int = 1,
) -> TrainResult:
    """Fit with early stopping on the dev metric; log_dir: Keras TensorBoard logs (scalars per epoch) go there.

    Batches are padded to their own longest text (at least min_len, the model's shortest input).
    """
    import keras

    from embedlab.training.optimizers import catch_up_callback, make_optimizer

    name = str(cfg["optimizer"]).lower()
    if name not in OPTIMIZERS:
        raise EmbedlabError(f"trainer.optimizer={cfg['optimizer']!r} is not known; use one of {OPTIMIZERS}")
    if int(cfg["epochs"]) < 1 or int(cfg["batch_size"]) < 1:
        raise EmbedlabError("trainer.epochs and trainer.batch_size must be at least 1")
    options = {k: cfg[k] for k in ("rho", "epsilon") if cfg[k] is not None and name == "adadelta"}
    optimizer = make_optimizer(name, float(cfg["learning_rate"]), bool(cfg["sparse_updates"]), **options)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=bool(cfg["jit_compile"]),
        steps_per_execution=int(cfg["steps_per_execution"]),
    )
    monitor, mode = f"val_{cfg['monitor']}", "min" if cfg["monitor"] == "loss" else "max"
    keep = _keep_best_weights(monitor, mode)
    callbacks = [catch_up_callback(), keep, _epoch_clock()]  # rows catch up before the dev pass and KeepBest
    if cfg["patience"]:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=int(cfg["patience"])))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0))
    x_train, y_train = data["train"]
    started = time.perf_counter()
    history = model.fit(
        _dataset(x_train, y_train, int(cfg["batch_size"]), seed, min_len),
        validation_data=_dataset(*data["dev"], int(cfg["batch_size"]) * 4, None, min_len),
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


def predict(model: Any, x: np.ndarray, batch_size: int, min_len: int = 1) -> np.ndarray:
    """Class probabilities in the rows' order, predicted in length-sorted batches."""
    order = np.concatenate(batch_plan(text_lengths(x), batch_size, None, 0)) if len(x) else np.zeros(0, int)
    probs = model.predict(_dataset(x, np.zeros(len(x), np.int64), batch_size, None, min_len), verbose=0)
    out = np.empty_like(probs)
    out[order] = probs
    return out


def evaluate(
    model: Any, x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int, min_len: int = 1
) -> tuple[dict[str, Any], np.ndarray]:
    """Test metrics and the predicted class probabilities."""
    probs = predict(model, x, batch_size, min_len)
    return test_metrics(y, probs, n_classes), probs


def test_metrics(y: np.ndarray, probs: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss, confusion matrix (and ROC-AUC for two classes) of class probabilities."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, roc_auc_score

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
    return metrics
