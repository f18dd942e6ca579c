"""Seeded Keras training on tf.data with early stopping on the dev metric, and test-set evaluation."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.core.choices import Optimizer
from embedlab.data.text import PAD_ID

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Trainer

log = logging.getLogger(__name__)


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


def _slices(x: np.ndarray, y: np.ndarray, lengths: np.ndarray, batches: list[np.ndarray], min_len: int) -> Any:
    """A function from a batch number to that batch, padded to its own longest text (at least min_len): a slice
    of one index array gathered from x and y inside TensorFlow, so no Python runs per batch."""
    import tensorflow as tf

    order = np.concatenate(batches).astype(np.int64) if batches else np.zeros(0, np.int64)
    sizes = np.array([len(batch) for batch in batches], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    widths = np.array([max(int(lengths[batch].max()), min_len) for batch in batches], np.int64)
    xs, ys, rows = tf.constant(x, tf.int32), tf.constant(y), tf.constant(order)
    starts, sizes, widths = tf.constant(starts), tf.constant(sizes), tf.constant(widths)

    def batch(number: Any) -> tuple[Any, Any]:
        picked = rows[starts[number] : starts[number] + sizes[number]]
        return tf.gather(xs, picked)[:, : widths[number]], tf.gather(ys, picked)

    return batch


def _pipeline(ds: Any) -> Any:
    """Prefetch two batches, with tf.data's autotuning off.

    Autotuning runs a background model thread per iterator; with it on, destroying an iterator (Keras makes a new
    one each epoch, for every dev pass, and drops the last when fit returns) stalled training by ~1.2 s in about
    one epoch in three and delayed fit's return by ~4 s in three runs of four (CNN on SST-2, 2 cores).
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


def train_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, min_len: int, epochs: int) -> Any:
    """Each new iterator yields the next epoch's seeded batches: epoch e gets batch_plan(..., e).

    All epochs' plans are made up front and each batch is gathered inside TensorFlow, so no Python runs per batch
    (the first version ran the plan through `Dataset.from_generator`). Keras starts a new iterator each epoch; one
    iterator over all epochs with steps_per_epoch is not an option, since Keras then runs whole chunks of
    steps_per_execution and an epoch of 139 batches would take 140.
    """
    import tensorflow as tf

    lengths = text_lengths(x)
    plans = [batch_plan(lengths, batch_size, seed, epoch) for epoch in range(epochs)]
    per_epoch = len(plans[0])
    batch = _slices(x, y, lengths, [b for plan in plans for b in plan], min_len)
    counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_started")
    started = tf.data.Dataset.range(1).map(lambda _: counter.assign_add(1) - 1)  # once per new iterator
    ds = started.flat_map(lambda epoch: tf.data.Dataset.range(per_epoch).map(lambda i: batch(epoch * per_epoch + i)))
    return _pipeline(ds.apply(tf.data.experimental.assert_cardinality(per_epoch)))


def eval_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, min_len: int) -> Any:
    """Length-sorted batches in order, the same each time it is iterated (dev pass, test, predictions)."""
    import tensorflow as tf

    lengths = text_lengths(x)
    batches = batch_plan(lengths, batch_size, None, 0)
    return _pipeline(tf.data.Dataset.range(len(batches)).map(_slices(x, y, lengths, batches, min_len)))


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


def _build_state(model: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Create the loss', metrics' and optimizer's variables before fit, from two training rows.

    Without a distribution strategy Keras creates them while it traces the training function, and a
    `tf.function` that creates variables on its first trace is traced a second time: each run's train_step was
    traced twice (0.66 s each for the CNN on SST-2). Nothing trains here and fit resets the metrics, so the
    numbers are unchanged; only the second trace goes.
    """
    y_pred = model(x, training=False)
    model.compute_loss(x=x, y=y, y_pred=y_pred)
    model.compute_metrics(x, y, y_pred, sample_weight=None)
    model.optimizer.build(model.trainable_variables)


def train(
    model: Any,
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    trainer: Trainer,
    seed: int,
    log_dir: Path | None = None,
    min_len: int = 1,
) -> TrainResult:
    """Fit with early stopping on the dev metric; log_dir: Keras TensorBoard logs (scalars per epoch) go there.

    Batches are padded to their own longest text (at least min_len, the model's shortest input).
    """
    import keras

    from embedlab.training.optimizers import catch_up_callback, make_optimizer  # lazy: +6.2 s at import (TensorFlow)

    name = Optimizer(trainer.optimizer).value
    adadelta = {"rho": trainer.rho, "epsilon": trainer.epsilon} if name == "adadelta" else {}
    options = {k: v for k, v in adadelta.items() if v is not None}
    optimizer = make_optimizer(name, trainer.learning_rate, trainer.sparse_updates, **options)
    x_train, y_train = data["train"]
    batch_size, epochs = trainer.batch_size, trainer.epochs
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=trainer.jit_compile,
        steps_per_execution=trainer.steps_per_execution,
    )
    _build_state(model, x_train[:2], y_train[:2])
    monitor, mode = f"val_{trainer.monitor}", "min" if trainer.monitor == "loss" else "max"
    keep = _keep_best_weights(monitor, mode)
    callbacks = [catch_up_callback(), keep, _epoch_clock()]  # rows catch up before the dev pass and KeepBest
    if trainer.patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=trainer.patience))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0))
    started = time.perf_counter()
    history = model.fit(
        train_dataset(x_train, y_train, batch_size, seed, min_len, epochs),
        validation_data=eval_dataset(*data["dev"], batch_size * 4, min_len),
        epochs=epochs,
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
    """Class probabilities in the rows' order, predicted in length-sorted batches.

    One batch per call into TensorFlow: a test set is a few batches, and tracing a one-step predict function
    takes half as long as a loop of `steps_per_execution` steps (CNN on SST-2: 0.35 s vs 0.72 s, same numbers).
    """
    if getattr(model, "steps_per_execution", 1) != 1:
        model.steps_per_execution = 1
        model.predict_function = None  # traced again, for one step
    order = np.concatenate(batch_plan(text_lengths(x), batch_size, None, 0)) if len(x) else np.zeros(0, int)
    probs = model.predict(eval_dataset(x, np.zeros(len(x), np.int64), batch_size, min_len), verbose=0)
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
