"""Temporal convolutional network (keras-tcn) per-frame classifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from tcn import TCN

from ethoflow.models import dropout_hp, frame_head, frame_input, int_hp, require_hp


def build(hp: Mapping[str, Any], n_features: int) -> keras.Model:
    """Input dropout, one layer-normalised keras-tcn ``TCN`` layer (``stacks`` stacks), and a
    sigmoid head per frame.

    hp keys: ``window, units, dropout, kernel_size, dilation_depth, stacks, causal``; ``layers``
    is not read (depth comes from ``dilation_depth`` and ``stacks``). Dilations are
    ``1, 2, ..., 2**(dilation_depth - 1)``, so the receptive field (keras-tcn's
    ``TCN.receptive_field``) is

        1 + 2 * (kernel_size - 1) * stacks * sum(dilations)

    frames: ending at the frame with ``causal`` (it never sees the future, as online labelling
    needs), else centred on it.
    """
    window, units, kernel_size, depth, stacks = int_hp(
        hp, "window", "units", "kernel_size", "dilation_depth", "stacks"
    )
    dropout = dropout_hp(hp)
    (causal,) = require_hp(hp, "causal")
    if not isinstance(causal, bool):
        raise ValueError(f"hyper-parameter causal must be a bool, got {causal!r}")
    inputs = frame_input(window, n_features)
    # As in the recurrent models, dropout on the input: hundreds of CNN channels beside a few
    # posture ones are easy to memorise on a few dozen recordings.
    x = keras.layers.Dropout(dropout, name="input_dropout")(inputs)
    x = TCN(
        nb_filters=units,
        kernel_size=kernel_size,
        nb_stacks=stacks,
        dilations=[2**i for i in range(depth)],
        padding="causal" if causal else "same",
        use_skip_connections=True,
        dropout_rate=dropout,
        # Without normalisation the residual sums grow with depth until the sigmoid saturates
        # and training stalls (measured: from lr ≈ 4e-3, or with deep stacks, at chance PR-AUC).
        use_layer_norm=True,
        return_sequences=True,
        name="tcn_layer",
    )(x)
    return keras.Model(inputs, frame_head(x), name="tcn")
