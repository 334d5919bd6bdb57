"""Frame features: ResNet50 cut at a configurable layer and average-pooled (512-d at conv3).

TensorFlow is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ethoflow.io.digest import file_digest

IMAGENET_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
# The per-channel means that keras' "caffe" preprocess_input subtracts, in BGR order.
_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
# ResNet50 downsamples by 32: smaller inputs have no spatial extent left at conv5.
_MIN_INPUT_SIZE = 32


class WeightsError(RuntimeError):
    """The configured backbone weights cannot be loaded; says what to do."""


def _build_backbone(weights: str | None, input_size: int, seed: int):
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


def _seeded_init(model, seed: int) -> None:
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


def extractor_identity(layer: str, weights: str | None, input_size: int, seed: int) -> str:
    """What determines an extractor's features, as a string for cache keys and model tags."""
    if weights is None:
        source = f"glorot-seed{seed}"  # see _seeded_init
    elif weights == "imagenet":
        source = "imagenet"
    else:
        path = Path(weights).expanduser()
        source = f"file-{file_digest([path])[:12]}" if path.is_file() else f"missing-{path}"
    # Features depend on the input size too, so it belongs in the identity.
    return f"resnet50-{layer}-{input_size}px-{source}"


class FeatureExtractor:
    """ResNet50 cut at `layer`, global-average-pooled, ImageNet preprocessing.

    `weights` is None (random, deterministic for `seed`), "imagenet", or a local weights file.
    """

    def __init__(
        self,
        *,
        layer: str = "conv3_block4_out",
        weights: str | None = None,
        input_size: int = 160,
        seed: int = 0,
    ) -> None:
        if input_size < _MIN_INPUT_SIZE:
            raise ValueError(f"input_size must be at least {_MIN_INPUT_SIZE}, got {input_size}")
        import keras
        import tensorflow as tf

        backbone = _build_backbone(weights, input_size, seed)
        names = [item.name for item in backbone.layers]
        if layer not in names:
            outputs = [name for name in names if name.endswith("_out")]
            raise ValueError(f"unknown ResNet50 layer {layer!r}; block outputs are: {outputs}")
        pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(
            backbone.get_layer(layer).output
        )
        self.model = keras.Model(backbone.input, pooled, name=f"resnet50_{layer}")
        self.layer = layer
        self.weights = weights
        self.input_size = input_size
        self.n_features: int = int(self.model.output_shape[-1])
        self.identity: str = extractor_identity(layer, weights, input_size, seed)

        model = self.model
        mean = tf.constant(_IMAGENET_MEAN_BGR, dtype=tf.float32)

        # Crops arrive in BGR, which is the channel order "caffe" preprocessing converts RGB into:
        # only the mean subtraction is left to do. A fixed signature traces once for any batch size.
        @tf.function(input_signature=[tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)])
        def infer(crops):
            return model(tf.cast(crops, tf.float32) - mean, training=False)

        self._infer = infer

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
        return np.asarray(self._infer(crops), dtype=np.float32)

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.identity!r}, n_features={self.n_features})"


def extract_features(
    crops: Iterable[np.ndarray], extractor: FeatureExtractor, *, batch_size: int = 32
) -> Iterator[np.ndarray]:
    """Stream single crops through `extractor`, yielding (b, n_features) float32 per batch.

    Memory stays bounded by one batch of crops, whatever the length of `crops`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    size = extractor.input_size
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
            yield extractor(batch)
            filled = 0
    if filled:
        yield extractor(batch[:filled])
