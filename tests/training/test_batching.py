"""Length-bucketed batches: a text's prediction does not depend on its batch; plans are seeded; lazy updates."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.training.models import build_model, min_length
from embedlab.training.optimizers import SparseAdadelta, SparseAdam, catch_up_callback, make_optimizer
from embedlab.training.train import batch_plan, eval_dataset, predict, seed_everything, text_lengths, train_dataset
from embedlab.vectors.embeddings import EmbeddingInit
from helpers import DIM, VOCAB, model_cfg, pretrained


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


def test_each_pass_over_the_training_data_is_the_next_epochs_plan_padded_per_batch():
    x = right_padded(np.random.default_rng(5), 23, 9)
    y = np.arange(23)
    lengths = text_lengths(x)
    ds = train_dataset(x, y, 5, seed=7, min_len=3, epochs=3)
    assert int(ds.cardinality()) == 5
    for epoch in range(3):
        batches = [(np.asarray(a), np.asarray(b)) for a, b in ds]
        plan = batch_plan(lengths, 5, 7, epoch)
        assert [b.tolist() for _, b in batches] == [p.tolist() for p in plan]  # labels are the row numbers
        for (xb, _), rows in zip(batches, plan, strict=True):
            assert xb.shape[1] == max(int(lengths[rows].max()), 3)
            np.testing.assert_array_equal(xb, x[rows, : xb.shape[1]])
    evaluation = [np.asarray(b).tolist() for _, b in eval_dataset(x, y, 4, 1)]
    assert evaluation == [p.tolist() for p in batch_plan(lengths, 4, None, 0)]
    assert evaluation == [np.asarray(b).tolist() for _, b in eval_dataset(x, y, 4, 1)]  # the same each time


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


def train_both(sparse_cls, dense_name: str, lr: float):
    """The same tiny avg model trained with the sparse and the dense optimizer; their final embedding tables."""
    x = np.random.default_rng(3).integers(1, VOCAB, size=(64, 6)).astype(np.int32)
    y = np.random.default_rng(4).integers(0, 2, size=64)
    tables = []
    for optimizer in (sparse_cls(learning_rate=lr), make_optimizer(dense_name, lr, False)):
        seed_everything(0, None)
        model = build_model(model_cfg("avg"), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, seed=0)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        model.fit(x[:, :3], y, epochs=3, batch_size=4, verbose=0, shuffle=False, callbacks=[catch_up_callback()])
        tables.append(model.get_layer("embedding").get_weights()[0])
    return tables


def test_sparse_adadelta_gives_the_dense_update():
    sparse, dense = train_both(SparseAdadelta, "adadelta", 1.0)
    np.testing.assert_allclose(sparse, dense, atol=1e-6)


def test_sparse_adam_follows_the_dense_update_closely_where_lazy_adam_does_not():
    sparse, dense = train_both(SparseAdam, "adam", 0.01)
    initial = build_model(model_cfg("avg"), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, seed=0)
    moved = np.abs(dense - initial.get_layer("embedding").get_weights()[0]).mean()
    assert np.abs(sparse - dense).mean() < 0.05 * moved  # eps and bias correction are approximated


def test_sparse_updates_touch_only_the_batch_rows_until_a_catch_up():
    seed_everything(0, None)
    model = build_model(model_cfg("avg"), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, seed=0)
    optimizer = SparseAdam(learning_rate=0.1)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(np.array([[3, 4], [5, 6]], np.int32), np.array([0, 1]), epochs=1, batch_size=2, verbose=0)
    before = model.get_layer("embedding").get_weights()[0].copy()
    model.fit(np.array([[3, 4]], np.int32), np.array([0]), epochs=1, batch_size=1, verbose=0)
    after = model.get_layer("embedding").get_weights()[0]
    assert set(np.flatnonzero(np.any(after != before, axis=1)).tolist()) == {3, 4}
    optimizer.catch_up_all()  # rows 5 and 6 take the momentum step they skipped
    caught_up = model.get_layer("embedding").get_weights()[0]
    assert set(np.flatnonzero(np.any(caught_up != after, axis=1)).tolist()) == {5, 6}


def test_dense_optimizer_is_kept_unless_sparse_updates_is_asked_for():
    assert type(make_optimizer("adam", 0.1, False)).__name__ == "Adam"
    assert isinstance(make_optimizer("adam", 0.1, True), SparseAdam)
    assert type(make_optimizer("sgd", 0.1, True)).__name__ == "SGD"


@pytest.mark.parametrize("optimizer", ["adadelta", "adam"])
def test_a_run_traces_its_training_step_once(optimizer):
    """Variables made before fit: Keras traced train_step twice per run (its first trace created them)."""
    from embedlab.core.schema import Trainer
    from embedlab.training.train import train

    seed_everything(0, None)
    rng = np.random.default_rng(0)
    x, y = right_padded(rng, 120, 12), rng.integers(0, 2, size=120)
    model = build_model(model_cfg("cnn"), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, seed=0)
    calls = {"train": 0}
    step = model.train_step

    def counted(data):
        calls["train"] += 1  # Python runs only while TensorFlow traces
        return step(data)

    model.train_step = counted
    cfg = Trainer(optimizer=optimizer, epochs=3, patience=None, steps_per_execution=5)
    result = train(model, {"train": (x, y), "dev": (x[:40], y[:40])}, cfg, seed=0, min_len=min_length(model_cfg("cnn")))
    assert result.epochs_run == 3 and calls["train"] == 1
