"""Stacked LSTM per-frame classifier; the recurrent stack is shared with ``bilstm``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from ethoflow.models import dropout_hp, frame_head, frame_input, int_hp

MIN_UNITS = 4


def build(hp: Mapping[str, Any], n_features: int) -> keras.Model:
    """Build a ``layers``-deep LSTM stack; hp keys: ``window, layers, units, dropout``."""
    return _build_recurrent(hp, n_features, bidirectional=False)


def _build_recurrent(hp: Mapping[str, Any], n_features: int, *, bidirectional: bool) -> keras.Model:
    """LSTM layers with units halving per layer (``units``, ``units // 2``, ..., at least 4).

    Dropout is applied to the input and between layers, then a sigmoid head per frame.
    """
    window, layers, units = int_hp(hp, "window", "layers", "units")
    dropout = dropout_hp(hp)
    inputs = frame_input(window, n_features)
    x = keras.layers.Dropout(dropout, name="input_dropout")(inputs)
    for i in range(layers):
        lstm = keras.layers.LSTM(
            max(MIN_UNITS, units // 2**i), return_sequences=True, name=f"lstm_{i}"
        )
        x = keras.layers.Bidirectional(lstm, name=f"bilstm_{i}")(x) if bidirectional else lstm(x)
        if i < layers - 1:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return keras.Model(inputs, frame_head(x), name="bilstm" if bidirectional else "lstm")
