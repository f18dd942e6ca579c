"""Length-bucketed batches: a text's prediction does not depend on its batch; plans are seeded; lazy updates."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.embeddings import EmbeddingInit
from embedlab.models import build_model, min_length
from embedlab.optimizers import LazyAdadelta, LazyAdam, make_optimizer
from embedlab.train import batch_plan, predict, seed_everything, text_lengths
from test_models import DIM, VOCAB, model_cfg, pretrained


def right_padded(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    x = np.zeros((n, width), dtype=np.int32)
    for row, length in enumerate(rng.integers(1, width + 1, size=n)):
        x[row, :length] = rng.integers(1, VOCAB, size=length)
    return x


def test_a_training_plan_covers_every_example_once_and_depends_only_on_seed_and_epoch():
    lengths = np.random.default_rng(0).integers(1, 60, size=1003)
    plan = batch_plan(lengths, 50, seed=3, epoch=0, pool=4)
    assert sorted(np.concatenate(plan).tolist()) == list(range(1003))
    assert all(len(b) <= 50 for b in plan)
    again = batch_plan(lengths, 50, seed=3, epoch=0, pool=4)
    assert all(np.array_equal(a, b) for a, b in zip(plan, again, strict=True))
    other = np.concatenate(batch_plan(lengths, 50, seed=3, epoch=1, pool=4))
    assert not np.array_equal(np.concatenate(plan), other)


def test_bucketing_pads_less_than_the_longest_text():
    lengths = np.random.default_rng(1).integers(1, 60, size=5000)
    plan = batch_plan(lengths, 50, seed=1, epoch=0)
    padded = sum(len(b) * lengths[b].max() for b in plan)
    assert padded < 0.6 * len(lengths) * lengths.max()
    assert padded < 1.1 * lengths.sum()


def test_evaluation_plan_is_sorted_by_length():
    lengths = np.array([5, 1, 3, 3, 9])
    assert np.concatenate(batch_plan(lengths, 2, None, 0)).tolist() == [1, 2, 3, 0, 4]


@pytest.mark.parametrize("name", ["avg", "cnn", "bilstm"])
def test_a_texts_prediction_does_not_depend_on_how_far_its_batch_is_padded(name):
    seed_everything(0, None)
    cfg = model_cfg(name)
    model = build_model(cfg, pretrained("finetune"), VOCAB, 2, seed=0)
    x = right_padded(np.random.default_rng(2), 40, 12)
    x[0, 2:] = 0  # shorter than the CNN's widest window
    tight = np.zeros((40, 2))
    for row in range(40):
        width = max(int(text_lengths(x[row : row + 1])[0]), min_length(cfg))
        tight[row] = model.predict(x[row : row + 1, :width], verbose=0)[0]
    wide = model.predict(np.pad(x, ((0, 0), (0, 30))), verbose=0)
    np.testing.assert_allclose(wide, tight, atol=1e-5)
    np.testing.assert_allclose(predict(model, x, batch_size=7, min_len=min_length(cfg)), tight, atol=1e-5)


@pytest.mark.parametrize("cls", [LazyAdam, LazyAdadelta])
def test_lazy_updates_move_only_the_rows_a_batch_uses(cls):
    seed_everything(0, None)
    emb = EmbeddingInit("s", "scratch", DIM, None)
    model = build_model(model_cfg("avg"), emb, VOCAB, 2, seed=0)
    model.compile(optimizer=cls(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    before = model.get_layer("embedding").get_weights()[0].copy()
    x = np.array([[3, 4, 0], [4, 7, 7]], dtype=np.int32)
    model.fit(x, np.array([0, 1]), epochs=3, batch_size=2, verbose=0)
    after = model.get_layer("embedding").get_weights()[0]
    moved = set(np.flatnonzero(np.any(after != before, axis=1)).tolist())
    assert moved == {3, 4, 7}


def test_dense_optimizer_is_kept_unless_sparse_updates_is_asked_for():
    assert type(make_optimizer("adam", 0.1, False)).__name__ == "Adam"
    assert isinstance(make_optimizer("adam", 0.1, True), LazyAdam)
    assert type(make_optimizer("sgd", 0.1, True)).__name__ == "SGD"
