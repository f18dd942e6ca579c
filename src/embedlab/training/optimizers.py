"""Adam and Adadelta that touch only the embedding rows a batch uses, yet move every row as the dense update would.

Keras 3's optimizers turn an embedding's sparse gradient (tf.IndexedSlices) into a dense V x d tensor and update
every row's moments and value at every step: a step costs O(V d) though a batch of 50 sentences touches a few
hundred rows (time per epoch grew as V^0.60 on IMDB). A plainly lazy update (TensorFlow 1's LazyAdamOptimizer:
rows without a gradient keep their moments and do not move) is cheap but not the same optimizer: under dense
Adam a row keeps moving with its decaying momentum for tens of steps after its word left the batch, about ten
times the step it got while in the batch, so rare words learned far less (avg on SST-2, 2 seeds: 0.779 / 0.800
lazy vs 0.815 / 0.820 dense).

These optimizers keep, per row, the step it was last brought up to date, and when a row is next touched (or
before any evaluation, see `CatchUp`) they first apply in closed form the k steps it skipped:

- Adadelta: a zero gradient decays both accumulators by rho and moves nothing, so k skipped steps are exactly
  acc *= rho^k; the weights equal the dense update's (up to float rounding).
- Adam: m and v decay by beta1^k and beta2^k, and the row moves by alpha * m / sqrt(v) * sum_{j=1..k} r^j with
  r = beta1 / sqrt(beta2), the dense steps' geometric sum. Approximations: epsilon is left out of those skipped
  steps (1e-7 against sqrt(v)) and alpha (Adam's bias correction) is taken at the catch-up step rather than
  per skipped step; both matter only in the first few hundred steps, where r^j has decayed within ~50 steps.

Every other weight (and a dense gradient) gets Keras' own update.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def _rows(gradient: tf.IndexedSlices, dtype: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Unique row ids, their summed gradient rows, and the sums of the squared per-occurrence gradients.

    Keras' dense update squares an IndexedSlices gradient occurrence by occurrence before it densifies it
    (`ops.square` keeps the slices), so a word that occurs twice in a batch adds g1^2 + g2^2 to Adam's v and to
    Adadelta's accumulators, not (g1 + g2)^2; the sparse update does the same, so the numbers stay Keras'.
    """
    ids, position = tf.unique(gradient.indices)
    values = tf.cast(gradient.values, dtype)
    count = tf.shape(ids)[0]
    summed = tf.math.unsorted_segment_sum(values, position, count)
    squares = tf.math.unsorted_segment_sum(tf.square(values), position, count)
    return tf.cast(ids, "int64"), summed, squares


SPARSE_WEIGHTS = ("embeddings", "delta")  # keras.layers.Embedding's table; PartlyFrozenEmbedding's trainable rows


class _RowClock:
    """Per embedding table, the optimizer step each row was last brought up to date at."""

    def build(self, variables: list[Any]) -> None:
        super().build(variables)  # type: ignore[misc]  # Keras' Adam / Adadelta: their moments and accumulators
        self._last_step = [
            self.add_variable((v.shape[0],), initializer="zeros", dtype="int64", name="last_step")
            if len(v.shape) == 2 and v.name in SPARSE_WEIGHTS
            else None
            for v in variables
        ]

    def _is_sparse(self, gradient: Any, variable: Any) -> bool:
        """Whether this update is an embedding table's sparse gradient, which the row clock handles."""
        return (
            isinstance(gradient, tf.IndexedSlices) and self._last_step[self._get_variable_index(variable)] is not None
        )

    def _advance(self, clock: Any, ids: tf.Tensor) -> None:
        """These rows are now up to date with the step being applied."""
        self.assign(clock, tf.IndexedSlices(tf.fill(tf.shape(ids), tf.cast(self.iterations, "int64") + 1), ids))

    def _skipped(self, variable: Any, ids: tf.Tensor) -> tuple[tf.Tensor, Any]:
        """Steps each row skipped before this one, and the clock to advance."""
        clock = self._last_step[self._get_variable_index(variable)]
        now = tf.cast(self.iterations, "int64")  # steps already applied; this one is now + 1
        return now - tf.gather(clock.value, ids), clock

    def catch_up_all(self) -> None:
        """Bring every row of every sparse variable up to the current step (before evaluating the model)."""
        for variable, clock in zip(self._trainable_variables, self._last_step, strict=True):
            if clock is None:
                continue
            ids = tf.range(variable.shape[0], dtype="int64")
            skipped = tf.cast(self.iterations, "int64") - clock.value
            self._catch_up(variable, ids, skipped)
            clock.assign(tf.fill(clock.shape, tf.cast(self.iterations, "int64")))


@keras.saving.register_keras_serializable(package="embedlab")
class SparseAdam(_RowClock, keras.optimizers.Adam):
    def _catch_up(self, variable: Any, ids: tf.Tensor, skipped: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        k = tf.cast(skipped, dtype)[:, None]
        m_rows, v_rows = tf.gather(m.value, ids), tf.gather(v.value, ids)
        r = beta_1 / tf.sqrt(beta_2)
        step = tf.cast(self.iterations, dtype) + 1
        alpha = tf.cast(self.learning_rate, dtype) * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        drift = alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon) * (r * (1 - r**k) / (1 - r))
        self.assign_sub(variable, tf.IndexedSlices(drift, ids))
        m_rows, v_rows = m_rows * beta_1**k, v_rows * beta_2**k
        self.assign(m, tf.IndexedSlices(m_rows, ids))
        self.assign(v, tf.IndexedSlices(v_rows, ids))
        return m_rows, v_rows

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if self.amsgrad or not self._is_sparse(gradient, variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        ids, g, g2 = _rows(gradient, dtype)
        skipped, clock = self._skipped(variable, ids)
        m_rows, v_rows = self._catch_up(variable, ids, skipped)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = tf.cast(learning_rate, dtype) * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        index = self._get_variable_index(variable)
        m_rows = beta_1 * m_rows + (1 - beta_1) * g
        v_rows = beta_2 * v_rows + (1 - beta_2) * g2
        self.assign(self._momentums[index], tf.IndexedSlices(m_rows, ids))
        self.assign(self._velocities[index], tf.IndexedSlices(v_rows, ids))
        self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), ids))
        self._advance(clock, ids)


@keras.saving.register_keras_serializable(package="embedlab")
class SparseAdadelta(_RowClock, keras.optimizers.Adadelta):
    def _catch_up(self, variable: Any, ids: tf.Tensor, skipped: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        acc_grad, acc_delta = self._accumulated_grads[index], self._accumulated_delta_vars[index]
        decay = tf.cast(self.rho, dtype) ** tf.cast(skipped, dtype)[:, None]
        grad_rows, delta_rows = tf.gather(acc_grad.value, ids) * decay, tf.gather(acc_delta.value, ids) * decay
        self.assign(acc_grad, tf.IndexedSlices(grad_rows, ids))
        self.assign(acc_delta, tf.IndexedSlices(delta_rows, ids))
        return grad_rows, delta_rows

    def update_step(self, grad: Any, variable: Any, learning_rate: Any) -> None:
        if not self._is_sparse(grad, variable):
            return super().update_step(grad, variable, learning_rate)
        dtype = variable.dtype
        ids, g, g2 = _rows(grad, dtype)
        skipped, clock = self._skipped(variable, ids)
        grad_rows, delta_rows = self._catch_up(variable, ids, skipped)
        rho, eps = tf.cast(self.rho, dtype), tf.cast(self.epsilon, dtype)
        index = self._get_variable_index(variable)
        grad_rows = rho * grad_rows + (1 - rho) * g2
        ratio = tf.sqrt(delta_rows + eps) / tf.sqrt(grad_rows + eps)  # Keras squares each occurrence's step
        delta_rows = rho * delta_rows + (1 - rho) * tf.square(ratio) * g2
        self.assign(self._accumulated_grads[index], tf.IndexedSlices(grad_rows, ids))
        self.assign(self._accumulated_delta_vars[index], tf.IndexedSlices(delta_rows, ids))
        self.assign_sub(variable, tf.IndexedSlices(tf.cast(learning_rate, dtype) * ratio * g, ids))
        self._advance(clock, ids)


def catch_up_callback() -> keras.callbacks.Callback:
    """Before the model is evaluated (dev pass, end of training), every row takes the steps it skipped."""

    class CatchUp(keras.callbacks.Callback):
        def _catch_up(self) -> None:
            optimizer = getattr(self.model, "optimizer", None)
            if isinstance(optimizer, _RowClock) and getattr(optimizer, "built", False):
                optimizer.catch_up_all()

        def on_test_begin(self, logs: dict[str, float] | None = None) -> None:
            self._catch_up()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self._catch_up()

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            self._catch_up()

    return CatchUp()


SPARSE = {"adam": SparseAdam, "adadelta": SparseAdadelta}


def make_optimizer(name: str, learning_rate: float, sparse_updates: bool, **options: Any) -> keras.optimizers.Optimizer:
    """Keras' optimizer by name; with sparse_updates, the row-sparse variant where there is one."""
    if sparse_updates and name in SPARSE:
        return SPARSE[name](learning_rate=learning_rate, **options)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate, **options}})
