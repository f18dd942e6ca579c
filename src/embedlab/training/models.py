"""Classifiers over an Embedding layer: avg (fastText-like), cnn (Kim 2014, with multichannel) and bilstm."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import layers, ops

from embedlab.core.errors import EmbedlabError
from embedlab.data.text import PAD_ID
from embedlab.vectors.embeddings import EmbeddingInit

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Avg, Bilstm, Cnn, Model

EMBEDDING_LAYER = "embedding"
STATIC_LAYER = "embedding_static"


@keras.saving.register_keras_serializable(package="embedlab")
class PartlyFrozenEmbedding(layers.Layer):
    """Pretrained rows fixed, rows the pretrained file lacked trainable: `frozen` with embedding.train_missing.

    Output = base[i] + delta[i] * missing[i]; the gradient reaches delta only for missing rows, so every row
    the file supplied keeps its pretrained value exactly.
    """

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

    def build(self, input_shape: Any) -> None:
        shape = (self.input_dim, self.output_dim)
        self.base = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="base")
        self.delta = self.add_weight(shape=shape, initializer="zeros", trainable=True, name="delta")
        self.missing = self.add_weight(shape=(self.input_dim, 1), initializer="zeros", trainable=False, name="missing")

    def call(self, ids: Any) -> Any:
        ids = ops.cast(ids, "int32")
        return ops.take(self.base, ids, axis=0) + ops.take(self.delta, ids, axis=0) * ops.take(
            self.missing, ids, axis=0
        )

    def compute_mask(self, ids: Any, mask: Any = None) -> Any:
        return ops.not_equal(ids, 0) if self.mask_zero else None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "mask_zero": self.mask_zero,
        }


def embedding_matrix(layer: layers.Layer) -> np.ndarray:
    """The table a layer looks words up in, whichever embedding layer type it is."""
    if isinstance(layer, PartlyFrozenEmbedding):
        base, delta, missing = (np.asarray(w) for w in (layer.base, layer.delta, layer.missing))
        return base + delta * missing
    return np.asarray(layer.get_weights()[0]).copy()


def _embedding(emb: EmbeddingInit, vocab_size: int, name: str, trainable: bool, mask: bool, seed: int) -> layers.Layer:
    if emb.mode == "frozen" and emb.train_missing and trainable is False and name == EMBEDDING_LAYER:
        return PartlyFrozenEmbedding(vocab_size, emb.dim, mask_zero=mask, name=name)
    return layers.Embedding(
        vocab_size,
        emb.dim,
        mask_zero=mask,
        trainable=trainable,
        embeddings_initializer=keras.initializers.RandomUniform(-emb.init_limit, emb.init_limit, seed=seed),
        name=name,
    )


def _avg(tokens: Any, embedded: Any, model: Avg, seed: int) -> Any:
    pooled = layers.GlobalAveragePooling1D(name="mean_pool")(embedded)
    return layers.Dropout(model.dropout, seed=seed)(pooled)


@keras.saving.register_keras_serializable(package="embedlab")
class MaskedMaxPool(layers.Layer):
    """Max over the windows of a width that lie inside the sentence (at least the first), whatever the padding.

    A sentence of n tokens has max(n - width + 1, 1) windows; the ReLU outputs of later windows (over padding)
    are set to 0, which never exceeds the max of the valid ones (ReLU >= 0). So a sentence's features do not
    depend on how far its batch was padded, and batches can be padded to their own longest sentence.
    """

    def __init__(self, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width = width

    def call(self, conv: Any, tokens: Any) -> Any:
        lengths = ops.sum(ops.cast(ops.not_equal(tokens, PAD_ID), "int32"), axis=1, keepdims=True)
        windows = ops.maximum(lengths - self.width + 1, 1)
        positions = ops.expand_dims(ops.arange(ops.shape(conv)[1], dtype="int32"), 0)
        valid = ops.cast(ops.less(positions, windows), conv.dtype)
        return ops.max(conv * ops.expand_dims(valid, -1), axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "width": self.width}


@keras.saving.register_keras_serializable(package="embedlab")
class ZeroPadding(layers.Layer):
    """Padding positions embed to the zero vector (Kim 2014 keeps row 0 at zero), whatever row 0 holds."""

    def call(self, embedded: Any, tokens: Any) -> Any:
        keep = ops.cast(ops.not_equal(tokens, PAD_ID), embedded.dtype)
        return embedded * ops.expand_dims(keep, -1)


def min_length(model: Model) -> int:
    """The shortest padded batch a model accepts: a CNN needs its widest window."""
    return max(model.filter_widths) if model.name == "cnn" else 1  # type: ignore[attr-defined]


def _cnn(tokens: Any, embedded: Any, model: Cnn, seed: int) -> Any:
    embedded = ZeroPadding(name="zero_padding")(embedded, tokens)
    pooled = []
    for width in model.filter_widths:
        conv = layers.Conv1D(
            model.filters,
            width,
            activation="relu",
            name=f"conv{width}",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + width),
        )(embedded)
        pooled.append(MaskedMaxPool(width, name=f"maxpool{width}")(conv, tokens))
    features = layers.Concatenate(name="features")(pooled) if len(pooled) > 1 else pooled[0]
    return layers.Dropout(model.dropout, seed=seed)(features)


def _bilstm(tokens: Any, embedded: Any, model: Bilstm, seed: int) -> Any:
    encoded = layers.Bidirectional(
        layers.LSTM(model.units, seed=seed, kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        name="bilstm",
    )(embedded)
    return layers.Dropout(model.dropout, seed=seed)(encoded)


# name -> (body, whether the embedding should carry a padding mask into the body)
ARCHITECTURES: dict[str, tuple[Callable[..., Any], bool]] = {
    "avg": (_avg, True),
    "cnn": (_cnn, False),
    "bilstm": (_bilstm, True),
}


def build_model(config: Model, emb: EmbeddingInit, vocab_size: int, n_classes: int, seed: int) -> keras.Model:
    """The classifier, with the embedding rows set from the pretrained matrix when there is one.

    It takes token ids of any length: padding (id 0) is masked, so batches are padded to their own longest text.
    """
    if config.name not in ARCHITECTURES:
        raise EmbedlabError(f"model.name={config.name!r} is not known; use one of {sorted(ARCHITECTURES)}")
    body, mask = ARCHITECTURES[config.name]
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    main = _embedding(emb, vocab_size, EMBEDDING_LAYER, emb.trainable, mask, seed)
    embedded = main(tokens)
    static = None
    if config.name == "cnn" and config.multichannel:  # type: ignore[attr-defined]
        if emb.matrix is None:
            raise EmbedlabError("model.multichannel=true needs pretrained vectors; pick embedding=glove6b or file")
        if emb.mode != "finetune":
            raise EmbedlabError(
                "model.multichannel=true keeps one frozen and one fine-tuned copy: use embedding.mode=finetune"
            )
        static = _embedding(emb, vocab_size, STATIC_LAYER, False, mask, seed)
        # Kim's two channels: each filter sees both copies (concatenating features = summing per-channel convolutions).
        embedded = layers.Concatenate(name="channels")([embedded, static(tokens)])
    features = body(tokens, embedded, config, seed)
    constraint = keras.constraints.MaxNorm(config.max_norm) if config.max_norm else None
    outputs = layers.Dense(
        n_classes,
        activation="softmax",
        kernel_constraint=constraint,
        name="classifier",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )(features)
    model = keras.Model(tokens, outputs, name=config.name)
    if isinstance(main, PartlyFrozenEmbedding):
        main.base.assign(emb.matrix)  # by name: Keras orders get_weights() trainable-first
        main.missing.assign(emb.missing_rows.astype("float32")[:, None])
    elif emb.matrix is not None:
        main.set_weights([emb.matrix])
        if static is not None:
            static.set_weights([emb.matrix])
    return model
