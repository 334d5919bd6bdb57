"""Frame features: ResNet50 cut at a configurable layer and average-pooled (512-d at conv3).

The network runs in Keras, or in OpenVINO (converted from the same Keras model; faster on Intel
CPUs). TensorFlow and OpenVINO are imported inside the functions that need them, so importing this
module stays cheap.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ethoflow.io.digest import file_digest

if TYPE_CHECKING:
    import keras
    import openvino

log = logging.getLogger(__name__)

Backend = Literal["keras", "openvino"]
Precision = Literal["fp32", "bf16"]

IMAGENET_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
# The per-channel means that keras' "caffe" preprocess_input subtracts, in BGR order.
_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
# Batches the network runs at once. Keras' threads wait for each other between layers, and a
# second batch fills those waits: 8-12 % more frames/s on 2 cores (OpenVINO: the same either way).
BATCHES_IN_FLIGHT = 2
# ResNet50 downsamples by 32: smaller inputs have no spatial extent left at conv5.
_MIN_INPUT_SIZE = 32


class WeightsError(RuntimeError):
    """The configured backbone weights cannot be loaded; says what to do."""


def _build_backbone(weights: str | None, input_size: int, seed: int) -> keras.Model:
    import keras

    shape = (input_size, input_size, 3)
    if weights is None:
        backbone = keras.applications.ResNet50(include_top=False, weights=None, input_shape=shape)
        _seeded_init(backbone, seed)
        return backbone
    if weights == "imagenet":
        try:
            return keras.applications.ResNet50(
                include_top=False, weights="imagenet", input_shape=shape
            )
        except Exception as exc:  # keras raises a bare Exception when the download fails
            raise WeightsError(
                f"ImageNet weights could not be loaded ({exc}). Keras looks for "
                f"{IMAGENET_NOTOP_FILE} in ~/.keras/models (or $KERAS_HOME/models) and downloads "
                "it when missing. Without internet: download that file on a machine with internet, "
                "copy it here, and set features.weights in params.yaml to its local path."
            ) from exc
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"weights file not found: {path}. Set features.weights in params.yaml to an existing "
            f"file (e.g. {IMAGENET_NOTOP_FILE}), to 'imagenet', or to null for random weights."
        )
    try:
        return keras.applications.ResNet50(include_top=False, weights=str(path), input_shape=shape)
    except Exception as exc:
        raise WeightsError(
            f"weights file {path} could not be loaded into ResNet50 (include_top=False): {exc}"
        ) from exc


def _seeded_init(model: keras.Model, seed: int) -> None:
    """Give ``model`` random weights drawn from NumPy's generator for ``seed`` alone.

    Random features must be identical in training and in labelling (another process, or the
    same one later). Keras' own initialisers draw from state that earlier work in the process
    can move, so the weights are drawn here instead: Glorot-uniform kernels (Keras' default for
    these layers), batch normalisation as freshly built (scale 1, shift 0, statistics 0 and 1).
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        name, shape = variable.path, tuple(variable.shape)
        if name.endswith("kernel"):
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
            limit = np.sqrt(6 / (fan_in + fan_out))
            value = rng.uniform(-limit, limit, shape)
        elif name.endswith(("gamma", "moving_variance")):
            value = np.ones(shape)
        else:  # biases, beta, moving_mean
            value = np.zeros(shape)
        variable.assign(value.astype(np.float32))


def _build_model(layer: str, weights: str | None, input_size: int, seed: int) -> keras.Model:
    """ResNet50 cut at ``layer`` and average-pooled: ImageNet-preprocessed float input."""
    import keras

    backbone = _build_backbone(weights, input_size, seed)
    names = [item.name for item in backbone.layers]
    if layer not in names:
        outputs = [name for name in names if name.endswith("_out")]
        raise ValueError(f"unknown ResNet50 layer {layer!r}; block outputs are: {outputs}")
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(backbone.get_layer(layer).output)
    return keras.Model(backbone.input, pooled, name=f"resnet50_{layer}")


def _crops_model(model: keras.Model, input_size: int) -> keras.Model:
    """``model`` taking uint8 BGR crops, so both backends run the very same preprocessing."""
    import keras

    crops = keras.Input((input_size, input_size, 3), dtype="uint8", name="crops")
    # Crops arrive in BGR, which is the channel order "caffe" preprocessing converts RGB into:
    # only the mean subtraction is left to do.
    mean = np.array(_IMAGENET_MEAN_BGR, dtype=np.float32)
    centred = keras.ops.subtract(keras.ops.cast(crops, "float32"), mean)
    return keras.Model(crops, model(centred), name=f"{model.name}_crops")


def _keras_infer(crops_model: keras.Model, input_size: int) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    # A fixed signature traces once for any batch size. (TensorFlow ships no types.)
    @tf.function(  # type: ignore[untyped-decorator]
        input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)]
    )
    def infer(crops: tf.Tensor) -> tf.Tensor:
        return crops_model(crops, training=False)

    return lambda crops: np.asarray(infer(crops), dtype=np.float32)


def _openvino_infer(
    build_crops_model: Callable[[], keras.Model], precision: Precision, cache: Path | None
) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The crops model converted to OpenVINO and compiled for the CPU in ``precision``.

    Returns the inference function and the number of features. ``build_crops_model`` is called
    only when there is no converted copy in ``cache``: building the Keras ResNet takes seconds.
    """
    import openvino

    core = openvino.Core()
    if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        raise ValueError(
            "features.precision bf16 needs a CPU with bfloat16 instructions (AVX512_BF16 or AMX), "
            "which OpenVINO does not find on this one: set features.precision to fp32"
        )
    if cache is None:
        model = convert_to_openvino(build_crops_model())
    else:
        xml = cached_openvino_model(lambda: convert_to_openvino(build_crops_model()), cache)
        model = core.read_model(xml)
    compiled = core.compile_model(
        model,
        "CPU",
        {
            # LATENCY measured faster with one batch at a time, and as fast with two in flight.
            "PERFORMANCE_HINT": "LATENCY",
            # Always explicit: on CPUs with AMX, OpenVINO's default is bf16, not f32.
            "INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[precision],
        },
    )
    # An infer request must not run two batches at once: one per thread (videos featurise on
    # several threads sharing this extractor).
    requests = threading.local()

    def infer(crops: np.ndarray) -> np.ndarray:
        if not hasattr(requests, "request"):
            requests.request = compiled.create_infer_request()
        return np.asarray(requests.request.infer([crops])[0], dtype=np.float32)

    return infer, compiled.output(0).get_partial_shape()[-1].get_length()


def convert_to_openvino(model: keras.Model) -> openvino.Model:
    """``model`` (any Keras model) as an OpenVINO model, in memory."""
    import openvino

    with tempfile.TemporaryDirectory(prefix="ethoflow-savedmodel-") as saved_model:
        # OpenVINO converts the exported SavedModel, not the Keras model object directly.
        model.export(saved_model, format="tf_saved_model", verbose=False)
        return openvino.convert_model(saved_model)


# A conversion takes seconds; a staging folder this old was left by a process that was killed.
_STALE_STAGING_SECONDS = 3600


def cached_openvino_model(convert: Callable[[], openvino.Model], cache: Path) -> Path:
    """``cache``/model.xml, saving ``convert()``'s model into it first when it is not there.

    The folder appears in one rename, complete: a concurrent process either finds it whole or
    converts its own copy, and the first rename wins.
    """
    import openvino

    xml = cache / "model.xml"
    if xml.is_file():
        return xml
    log.info("converting to OpenVINO into %s (once; takes seconds)", cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    for stale in cache.parent.glob(f".{cache.name}.*"):
        if time.time() - stale.stat().st_mtime > _STALE_STAGING_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}.", dir=cache.parent))
    try:
        # mkdtemp's folder is private (0700); the cache is shared by whoever shares paths.runs.
        staging.chmod(0o755)
        # FP32 weights: save_model would otherwise halve them to FP16 and change the features.
        openvino.save_model(convert(), staging / "model.xml", compress_to_fp16=False)
        try:
            os.rename(staging, cache)
        except OSError:
            if not xml.is_file():  # not another process's finished copy: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return xml


def extractor_identity(
    layer: str, weights: str | None, input_size: int, seed: int, precision: Precision = "fp32"
) -> str:
    """What determines an extractor's features, as a string for cache keys and model tags.

    The backend is not part of it: Keras and OpenVINO in FP32 give the same features (within
    1e-4), so models trained on either fit both. BF16 features differ (~2e-3 relative): their own.
    """
    if weights is None:
        source = f"glorot-seed{seed}"  # see _seeded_init
    elif weights == "imagenet":
        source = "imagenet"
    else:
        path = Path(weights).expanduser()
        source = f"file-{file_digest([path])[:12]}" if path.is_file() else f"missing-{path}"
    # Features depend on the input size too, so it belongs in the identity.
    identity = f"resnet50-{layer}-{input_size}px-{source}"
    return identity if precision == "fp32" else f"{identity}-{precision}"


class FeatureExtractor:
    """ResNet50 cut at `layer`, global-average-pooled, ImageNet preprocessing.

    `weights` is None (random, deterministic for `seed`), "imagenet", or a local weights file.
    `backend` "openvino" runs the same network converted to OpenVINO, in `precision` "fp32"
    (features equal Keras's) or "bf16" (faster, on CPUs with bfloat16; other features). The
    converted network is kept in `cache_dir`/<identity>/ when given, else converted every time.
    """

    def __init__(
        self,
        *,
        layer: str = "conv3_block4_out",
        weights: str | None = None,
        input_size: int = 160,
        seed: int = 0,
        backend: Backend = "keras",
        precision: Precision = "fp32",
        cache_dir: str | Path | None = None,
    ) -> None:
        if input_size < _MIN_INPUT_SIZE:
            raise ValueError(f"input_size must be at least {_MIN_INPUT_SIZE}, got {input_size}")
        if backend not in ("keras", "openvino"):
            raise ValueError(f"backend must be 'keras' or 'openvino', got {backend!r}")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        if precision == "bf16" and backend != "openvino":
            raise ValueError("precision 'bf16' needs backend 'openvino'")
        self.layer = layer
        self.weights = weights
        self.input_size = input_size
        self.backend: Backend = backend
        self.precision: Precision = precision
        self.identity: str = extractor_identity(layer, weights, input_size, seed, precision)

        def build_crops_model() -> keras.Model:
            return _crops_model(_build_model(layer, weights, input_size, seed), input_size)

        if backend == "keras":
            crops_model = build_crops_model()
            self._infer = _keras_infer(crops_model, input_size)
            self.n_features: int = int(crops_model.output_shape[-1])
        else:
            # The converted network is FP32 whatever the precision: both share one cache entry.
            fp32_identity = extractor_identity(layer, weights, input_size, seed)
            cache = None if cache_dir is None else Path(cache_dir) / fp32_identity
            self._infer, self.n_features = _openvino_infer(build_crops_model, precision, cache)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(B, input_size, input_size, 3) uint8 BGR crops (OpenCV order) -> (B, n_features)."""
        size = self.input_size
        if (
            not isinstance(crops, np.ndarray)
            or crops.ndim != 4
            or crops.shape[1:] != (size, size, 3)
            or crops.dtype != np.uint8
        ):
            got = f"{getattr(crops, 'dtype', type(crops).__name__)} {getattr(crops, 'shape', '')}"
            raise ValueError(f"crops must be uint8 of shape (B, {size}, {size}, 3), got {got}")
        if len(crops) == 0:
            return np.empty((0, self.n_features), dtype=np.float32)
        return self._infer(crops)

    def __repr__(self) -> str:
        return (
            f"FeatureExtractor({self.identity!r}, n_features={self.n_features}, "
            f"backend={self.backend!r})"
        )


def extract_features(
    crops: Iterable[np.ndarray],
    extractor: FeatureExtractor,
    *,
    batch_size: int = 32,
    in_flight: int = BATCHES_IN_FLIGHT,
) -> Iterator[np.ndarray]:
    """Stream single crops through `extractor`, yielding (b, n_features) float32 per batch, in
    order, with up to ``in_flight`` batches running at once.

    Memory stays bounded by ``in_flight`` + 1 batches of crops, whatever the length of `crops`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if in_flight < 1:
        raise ValueError(f"in_flight must be positive, got {in_flight}")
    with ThreadPoolExecutor(in_flight, thread_name_prefix="ethoflow-cnn") as pool:
        running: deque[Future[np.ndarray]] = deque()
        for batch in _batches(crops, extractor.input_size, batch_size):
            running.append(pool.submit(extractor, batch))
            if len(running) == in_flight:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()


def _batches(crops: Iterable[np.ndarray], size: int, batch_size: int) -> Iterator[np.ndarray]:
    """``crops`` (each checked) stacked into batches of ``batch_size``, the last one shorter."""
    batch = np.empty((batch_size, size, size, 3), dtype=np.uint8)
    filled = 0
    for index, crop in enumerate(crops):
        if crop.shape != (size, size, 3) or crop.dtype != np.uint8:
            raise ValueError(
                f"crop {index} must be uint8 of shape ({size}, {size}, 3), "
                f"got {crop.dtype} {crop.shape}"
            )
        batch[filled] = crop
        filled += 1
        if filled == batch_size:
            yield batch
            # A new buffer: the batch just yielded may still be running.
            batch = np.empty_like(batch)
            filled = 0
    if filled:
        yield batch[:filled]
