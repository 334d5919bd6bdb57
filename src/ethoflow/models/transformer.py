"""Transformer-encoder per-frame classifier with a learned position embedding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from ethoflow.models import dropout_hp, frame_head, frame_input, int_hp

MIN_KEY_DIM = 4


@keras.saving.register_keras_serializable(package="ethoflow")
class PositionEmbedding(keras.layers.Layer):
    """Add a trainable vector per position to a ``(batch, window, d_model)`` input.

    The same as ``Embedding(window, d_model)`` looked up at ``0 .. window - 1``; without it
    attention cannot tell frames apart by position.
    """

    def __init__(self, window: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window = window

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embeddings = self.add_weight(
            shape=(self.window, input_shape[-1]), initializer="glorot_uniform", name="embeddings"
        )

    def call(self, inputs: Any) -> Any:
        return inputs + keras.ops.cast(self.embeddings, inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "window": self.window}


def build(hp: Mapping[str, Any], n_features: int) -> keras.Model:
    """Build ``layers`` post-norm encoder blocks of width ``units`` and a sigmoid head per frame.

    hp keys: ``window, layers, units, dropout, heads``. Attention spans the whole window in both
    directions; each head has ``max(4, units // heads)`` dimensions.
    """
    window, layers, units, heads = int_hp(hp, "window", "layers", "units", "heads")
    dropout = dropout_hp(hp)
    inputs = frame_input(window, n_features)
    x = keras.layers.Dense(units, name="projection")(inputs)
    x = PositionEmbedding(window, name="position_embedding")(x)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(layers):
        attention = keras.layers.MultiHeadAttention(
            num_heads=heads,
            key_dim=max(MIN_KEY_DIM, units // heads),
            dropout=dropout,
            name=f"attention_{i}",
        )(x, x)
        attention = keras.layers.Dropout(dropout, name=f"attention_dropout_{i}")(attention)
        x = keras.layers.LayerNormalization(name=f"attention_norm_{i}")(x + attention)
        ff = keras.layers.Dense(2 * units, activation="relu", name=f"ff_in_{i}")(x)
        ff = keras.layers.Dense(units, name=f"ff_out_{i}")(ff)
        ff = keras.layers.Dropout(dropout, name=f"ff_dropout_{i}")(ff)
        x = keras.layers.LayerNormalization(name=f"ff_norm_{i}")(x + ff)
    return keras.Model(inputs, frame_head(x), name="transformer")
