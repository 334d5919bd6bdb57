"""Stacked bidirectional LSTM per-frame classifier: each frame sees the past and the future."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from ethoflow.models.lstm import _build_recurrent


def build(hp: Mapping[str, Any], n_features: int) -> keras.Model:
    """Build a ``layers``-deep BiLSTM stack; hp keys: ``window, layers, units, dropout``."""
    return _build_recurrent(hp, n_features, bidirectional=True)
