"""A saved model run by OpenVINO's runtime: labelling without importing TensorFlow.

Importing TensorFlow (and Keras on it) takes 10-20 s on a lab PC's two cores, OpenVINO's runtime
under one (bench/results/startup.md). A Keras model is converted once, and its copy kept only
when its outputs equal the Keras model's within :data:`TOLERANCE`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ethoflow.features.cnn import cached_openvino_model, convert_to_openvino
from ethoflow.models.windows import make_windows

if TYPE_CHECKING:
    import keras
    import openvino

log = logging.getLogger(__name__)

# Largest difference of a probability allowed between the converted model and Keras.
TOLERANCE = 1e-5
# Windows of the check: a predict batch's worth (ethoflow.models.prediction).
_CHECK_WINDOWS = 64


class OpenVinoModel:
    """What labelling uses of a Keras model (``input_shape``, ``predict_on_batch``), run by
    OpenVINO on the CPU in FP32; safe to call from several threads."""

    def __init__(self, model: openvino.Model | Path) -> None:
        import openvino

        core = openvino.Core()
        if isinstance(model, Path):
            model = core.read_model(model)
        # Always explicit: on CPUs with AMX, OpenVINO's default is bf16, not f32.
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        self._compiled = core.compile_model(model, "CPU", config)
        shape = self._compiled.input(0).get_partial_shape()
        self.input_shape = tuple(None if d.is_dynamic else d.get_length() for d in shape)
        self._requests = threading.local()  # an infer request runs one batch at a time

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self._requests, "request"):
            self._requests.request = self._compiled.create_infer_request()
        return np.asarray(self._requests.request.infer([x])[0], dtype=np.float32)


def check_windows(
    input_shape: tuple, recordings: Sequence[np.ndarray] = (), seed: int = 0
) -> np.ndarray:
    """The windows a copy is checked on: up to a batch of windows spread evenly over
    ``recordings``' features, else seeded random ones (standard normal, as standardised features
    are)."""
    window = int(input_shape[1])
    if recordings:
        x = make_windows(recordings, window=window).x
        return x[np.linspace(0, len(x) - 1, min(len(x), _CHECK_WINDOWS)).astype(int)]
    shape = (_CHECK_WINDOWS, *input_shape[1:])
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def max_difference(model: keras.Model, converted: OpenVinoModel, x: np.ndarray) -> float:
    """Largest difference between the two models' outputs on the windows ``x``."""
    expected = np.asarray(model.predict_on_batch(x), dtype=np.float32)
    return float(np.abs(converted.predict_on_batch(x) - expected).max())


def openvino_copy(
    model: keras.Model, cache: Path, recordings: Sequence[np.ndarray] = ()
) -> OpenVinoModel | None:
    """``model`` converted to OpenVINO and kept in ``cache`` (``model.xml``), if its outputs
    equal Keras' within :data:`TOLERANCE` on windows of ``recordings`` (the evaluation
    recordings' features; random windows without them); else None (nothing kept: Keras labels)."""
    try:
        converted = convert_to_openvino(model)
        x = check_windows(model.input_shape, recordings)
        difference = max_difference(model, OpenVinoModel(converted), x)
    except Exception as exc:  # noqa: BLE001 - an unconvertible model is labelled with Keras
        log.warning("%s: not converted to OpenVINO (%s); Keras labels with it", cache, exc)
        return None
    if difference > TOLERANCE:
        log.warning(
            "%s: OpenVINO's outputs differ from Keras' by %.2g (> %g); Keras labels with it",
            cache,
            difference,
            TOLERANCE,
        )
        return None
    return OpenVinoModel(cached_openvino_model(lambda: converted, cache))
