"""Per-step cost of the avg model on SST-2-sized batches (50 x 20 token ids, 14,830-word table), optimizer by
optimizer, beside a near-empty Keras model: what bounds an avg epoch against fastText's.

    python benchmarks/step_floor.py        (~1 min on 2 cores; prints s/epoch and ms/step for 139 steps)
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from embedlab.core.schema import Avg
from embedlab.training.models import build_model
from embedlab.training.optimizers import make_optimizer
from embedlab.vectors.embeddings import EmbeddingInit

VOCAB, BATCH, LENGTH, STEPS = 14_830, 50, 20, 139
AVG = Avg(name="avg", dropout=0.5)


def seconds_per_epoch(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> float:
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, size=(STEPS * BATCH, LENGTH)).astype(np.int32)
    y = rng.integers(0, 2, size=STEPS * BATCH)
    model.compile(
        optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=STEPS
    )
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    model.fit(data, epochs=1, verbose=0)  # traced here
    started = time.perf_counter()
    model.fit(data, epochs=3, verbose=0)
    return (time.perf_counter() - started) / 3


def main() -> None:
    keras.utils.set_random_seed(0)
    scratch = EmbeddingInit("scratch", "scratch", 100, None)

    def floor() -> keras.Model:
        tokens = keras.Input((LENGTH,), dtype="int32")
        return keras.Model(
            tokens, keras.layers.Dense(2, activation="softmax")(keras.ops.cast(tokens[:, :1], "float32"))
        )

    cases = [  # each model built just before it is timed
        (
            "avg, sparse Adam (as shipped)",
            lambda: build_model(AVG, scratch, VOCAB, 2, 0),
            lambda: make_optimizer("adam", 1e-3, True),
        ),
        (
            "avg, Keras' dense Adam",
            lambda: build_model(AVG, scratch, VOCAB, 2, 0),
            lambda: make_optimizer("adam", 1e-3, False),
        ),
        ("avg, plain SGD", lambda: build_model(AVG, scratch, VOCAB, 2, 0), lambda: keras.optimizers.SGD(0.1)),
        ("floor: one Dense(2) on one input, SGD", floor, lambda: keras.optimizers.SGD(0.1)),
    ]
    for name, model, optimizer in cases:
        epoch = seconds_per_epoch(model(), optimizer())
        print(f"{name:40s} {epoch:.3f} s/epoch  {epoch / STEPS * 1e3:.2f} ms/step", flush=True)


if __name__ == "__main__":
    main()
