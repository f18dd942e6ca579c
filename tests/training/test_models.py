"""Each architecture builds; frozen rows never move; fine-tuned rows do; multichannel keeps a static copy."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.core.errors import EmbedlabError
from embedlab.training.models import EMBEDDING_LAYER, STATIC_LAYER, build_model, embedding_matrix
from embedlab.training.train import seed_everything
from embedlab.vectors.embeddings import EmbeddingInit
from helpers import DIM, LEN, VOCAB, model_cfg, pretrained


def one_step(model) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, VOCAB, size=(16, LEN)).astype("int32")
    x[:, 0] = 5  # make sure a "missing" row is used
    y = rng.integers(0, 2, size=16)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)


@pytest.mark.parametrize("name", ["avg", "cnn", "bilstm"])
def test_every_architecture_builds_and_predicts_class_probabilities(name):
    seed_everything(0, None)
    model = build_model(model_cfg(name), pretrained("finetune"), VOCAB, 3, seed=0)
    probs = model.predict(np.ones((2, LEN), dtype="int32"), verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_initial_weights_are_the_pretrained_matrix():
    emb = pretrained("finetune")
    model = build_model(model_cfg("avg"), emb, VOCAB, 2, seed=0)
    np.testing.assert_array_equal(embedding_matrix(model.get_layer(EMBEDDING_LAYER)), emb.matrix)


def test_frozen_embedding_is_unchanged_by_training():
    emb = pretrained("frozen")
    model = build_model(model_cfg("cnn"), emb, VOCAB, 2, seed=0)
    one_step(model)
    np.testing.assert_array_equal(embedding_matrix(model.get_layer(EMBEDDING_LAYER)), emb.matrix)


def test_finetuned_embedding_changes_with_training():
    emb = pretrained("finetune")
    model = build_model(model_cfg("cnn"), emb, VOCAB, 2, seed=0)
    one_step(model)
    assert not np.array_equal(embedding_matrix(model.get_layer(EMBEDDING_LAYER)), emb.matrix)


def test_frozen_with_train_missing_moves_only_the_missing_rows():
    emb = pretrained("frozen", train_missing=True)
    model = build_model(model_cfg("avg"), emb, VOCAB, 2, seed=0)
    one_step(model)
    after = embedding_matrix(model.get_layer(EMBEDDING_LAYER))
    changed = np.flatnonzero(np.any(after != emb.matrix, axis=1))
    assert 5 in changed and set(changed) <= {1, 5, 6}


def test_multichannel_keeps_a_static_copy_beside_the_tuned_one():
    emb = pretrained("finetune")
    model = build_model(model_cfg("cnn", multichannel=True), emb, VOCAB, 2, seed=0)
    one_step(model)
    np.testing.assert_array_equal(model.get_layer(STATIC_LAYER).get_weights()[0], emb.matrix)
    assert not np.array_equal(embedding_matrix(model.get_layer(EMBEDDING_LAYER)), emb.matrix)


def test_multichannel_needs_pretrained_vectors():
    with pytest.raises(EmbedlabError, match="multichannel"):
        build_model(model_cfg("cnn", multichannel=True), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, 0)


def test_scratch_rows_start_within_init_limit():
    """Keras' default table is U(-0.05, 0.05); embedding.init_limit=0.25 gives Kim's CNN-rand scale, same seed."""
    default = embedding_matrix(
        build_model(model_cfg("avg"), EmbeddingInit("s", "scratch", DIM, None), VOCAB, 2, seed=0).get_layer(
            EMBEDDING_LAYER
        )
    )
    kim = embedding_matrix(
        build_model(
            model_cfg("avg"), EmbeddingInit("s", "scratch", DIM, None, init_limit=0.25), VOCAB, 2, seed=0
        ).get_layer(EMBEDDING_LAYER)
    )
    assert np.abs(default).max() <= 0.05 and np.abs(kim).max() <= 0.25
    assert np.abs(kim).max() > 0.2  # 240 draws from U(-0.25, 0.25): not all inside +-0.2
    np.testing.assert_allclose(kim, default * 5, rtol=1e-5, atol=1e-7)  # the same draws, scaled
