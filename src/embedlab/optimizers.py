"""Adam and Adadelta that update only the embedding rows a batch touches (lazy, sparse updates).

Keras 3's optimizers turn an embedding's sparse gradient (tf.IndexedSlices) into a dense V x d tensor and update
every row's moments and value at every step, so a step costs O(V d) though a batch of 50 sentences touches a few
hundred rows: time per epoch grew as V^0.60 on IMDB. These subclasses keep Keras' dense update for every other
weight and, for a sparse gradient, update the touched rows only (TensorFlow 1's LazyAdamOptimizer rule: rows
without a gradient keep their moments and do not move). For Adadelta the two rules give the same weights (a row
without gradient has a zero step either way) and differ only in how its accumulators decay; for Adam, dense rows
would go on drifting with their momentum after their word left the batch, lazy ones do not.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def _rows(gradient: tf.IndexedSlices, dtype: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Unique row ids and their summed gradient rows (a word seen twice in a batch gets one update)."""
    ids, position = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), position, tf.shape(ids)[0])
    return ids, values


@keras.saving.register_keras_serializable(package="embedlab")
class LazyAdam(keras.optimizers.Adam):
    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if not isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        ids, g = _rows(gradient, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = tf.cast(learning_rate, dtype) * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = beta_1 * tf.gather(m.value, ids) + (1 - beta_1) * g
        v_rows = beta_2 * tf.gather(v.value, ids) + (1 - beta_2) * tf.square(g)
        self.assign(m, tf.IndexedSlices(m_rows, ids))
        self.assign(v, tf.IndexedSlices(v_rows, ids))
        self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), ids))


@keras.saving.register_keras_serializable(package="embedlab")
class LazyAdadelta(keras.optimizers.Adadelta):
    def update_step(self, grad: Any, variable: Any, learning_rate: Any) -> None:
        if not isinstance(grad, tf.IndexedSlices):
            return super().update_step(grad, variable, learning_rate)
        dtype = variable.dtype
        ids, g = _rows(grad, dtype)
        rho, eps = tf.cast(self.rho, dtype), tf.cast(self.epsilon, dtype)
        index = self._get_variable_index(variable)
        acc_grad, acc_delta = self._accumulated_grads[index], self._accumulated_delta_vars[index]
        grad_rows = rho * tf.gather(acc_grad.value, ids) + (1 - rho) * tf.square(g)
        delta_rows = tf.gather(acc_delta.value, ids)
        delta = -tf.sqrt(delta_rows + eps) / tf.sqrt(grad_rows + eps) * g
        self.assign(acc_grad, tf.IndexedSlices(grad_rows, ids))
        self.assign(acc_delta, tf.IndexedSlices(rho * delta_rows + (1 - rho) * tf.square(delta), ids))
        self.assign_add(variable, tf.IndexedSlices(tf.cast(learning_rate, dtype) * delta, ids))


LAZY = {"adam": LazyAdam, "adadelta": LazyAdadelta}


def make_optimizer(name: str, learning_rate: float, sparse_updates: bool, **options: Any) -> keras.optimizers.Optimizer:
    """Keras' optimizer by name; with sparse_updates, the lazy variant where there is one."""
    if sparse_updates and name in LAZY:
        return LAZY[name](learning_rate=learning_rate, **options)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate, **options}})
