"""Per-frame sequence classifiers: one builder per architecture, one loader for saved models; the
windows they read (:mod:`.windows`) and their per-frame predictions (:mod:`.prediction`).

Every builder has the signature ``build(hp, n_features) -> keras.Model``: input ``(window,
n_features)`` float32, output ``(window, 1)`` sigmoid probabilities, not compiled. Submodules are
imported on first use so that importing this package (e.g. for ``NAMES``) does not load TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

# Each name is also its submodule's name.
NAMES = ("lstm", "bilstm", "tcn", "transformer")


def require_hp(hp: Mapping[str, Any], *keys: str) -> list[Any]:
    """Return ``hp[key]`` for each key, raising ``ValueError`` naming the missing ones."""
    missing = [key for key in keys if key not in hp]
    if missing:
        raise ValueError(f"missing hyper-parameter(s) {missing}; got {sorted(hp)}")
    return [hp[key] for key in keys]


def int_hp(hp: Mapping[str, Any], *keys: str) -> list[int]:
    """Return each ``hp[key]`` as an int, checked to be a whole number >= 1."""
    values = require_hp(hp, *keys)
    for key, value in zip(keys, values, strict=True):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"hyper-parameter {key} must be an integer >= 1, got {value!r}")
    return [int(value) for value in values]


def dropout_hp(hp: Mapping[str, Any]) -> float:
    """Return ``hp["dropout"]``, checked to lie in [0, 0.9]."""
    (dropout,) = require_hp(hp, "dropout")
    if not 0.0 <= dropout <= 0.9:
        raise ValueError(f"hyper-parameter dropout must be in [0, 0.9], got {dropout!r}")
    return float(dropout)


def frame_input(window: int, n_features: int) -> keras.KerasTensor:
    """The input every model takes: a window of ``window`` frames of ``n_features`` float32."""
    import keras

    if n_features < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}")
    return keras.Input((window, n_features), dtype="float32", name="features")


def frame_head(x: keras.KerasTensor) -> keras.KerasTensor:
    """The output every model gives: one sigmoid probability per frame, shape ``(window, 1)``."""
    import keras

    head = keras.layers.Dense(1, activation="sigmoid")
    return keras.layers.TimeDistributed(head, name="frame_probability")(x)


def __getattr__(name: str) -> Any:
    # ``ARCHITECTURES`` (name -> builder) is built on access: it imports Keras and keras-tcn.
    if name == "ARCHITECTURES":
        return {arch: importlib.import_module(f"{__name__}.{arch}").build for arch in NAMES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    ARCHITECTURES: dict[str, Callable[[Mapping[str, Any], int], keras.Model]]


def build_model(architecture: str, hp: Mapping[str, Any], n_features: int) -> keras.Model:
    """Build the uncompiled model ``architecture`` (one of ``NAMES``) from ``hp``."""
    if architecture not in NAMES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{architecture}").build(hp, n_features)


def load_model(path: str | Path) -> keras.Model:
    """Load a ``.keras`` model saved from any builder here, in safe mode and without compiling.

    Not compiling keeps loading independent of the trainer's optimizer and loss (which may be
    custom objects); a loaded model is for ``predict``.
    """
    import keras
    from tcn import TCN

    from ethoflow.models.transformer import PositionEmbedding

    custom_objects = {"TCN": TCN, "PositionEmbedding": PositionEmbedding}
    return keras.saving.load_model(
        path, custom_objects=custom_objects, compile=False, safe_mode=True
    )
