import sys
import threading

import numpy as np
import pytest

from ethoflow.features.cnn import FeatureExtractor, WeightsError, extract_features

# The output width does not depend on the input size: small inputs keep the tests fast.
SIZE = 64


def _crops(n: int, seed: int = 0, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def conv3() -> FeatureExtractor:
    return FeatureExtractor(layer="conv3_block4_out", input_size=SIZE, seed=0)


def test_import_does_not_load_tensorflow():
    import subprocess

    code = "import sys, ethoflow.features.cnn; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_conv3_output_width(conv3):
    features = conv3(_crops(3))
    assert conv3.n_features == 512
    assert features.shape == (3, 512)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_conv5_output_width():
    extractor = FeatureExtractor(layer="conv5_block3_out", input_size=SIZE)
    assert extractor.n_features == 2048
    assert extractor(_crops(2)).shape == (2, 2048)
    assert "conv5_block3_out" in extractor.identity


def test_same_seed_same_features_and_other_seed_differs(conv3):
    crops = _crops(4)
    same = FeatureExtractor(input_size=SIZE, seed=0)
    other = FeatureExtractor(input_size=SIZE, seed=1)
    np.testing.assert_array_equal(same(crops), conv3(crops))
    assert not np.allclose(other(crops), conv3(crops))
    assert same.identity == conv3.identity
    assert other.identity != conv3.identity


def test_bgr_crops_equal_keras_preprocessing_of_rgb(conv3):
    import keras

    from ethoflow.features.cnn import _build_model

    bgr = _crops(3, seed=1)
    rgb = bgr[..., ::-1].astype(np.float32)
    # The same network, built apart (same seed, same weights), fed Keras' own preprocessing.
    network = _build_model("conv3_block4_out", None, SIZE, seed=0)
    reference = network(keras.applications.resnet50.preprocess_input(rgb), training=False)
    np.testing.assert_allclose(conv3(bgr), np.asarray(reference), rtol=1e-5, atol=1e-4)


def test_empty_batch(conv3):
    assert conv3(_crops(0)).shape == (0, 512)


@pytest.mark.parametrize(
    "crops",
    [
        _crops(2, size=SIZE + 1),
        _crops(2)[..., 0],
        _crops(2)[0],
        _crops(2).astype(np.float32),
        _crops(2).tolist(),
    ],
    ids=["size", "channels", "no-batch", "float", "list"],
)
def test_bad_input_raises(conv3, crops):
    with pytest.raises(ValueError, match=rf"\(B, {SIZE}, {SIZE}, 3\)"):
        conv3(crops)


@pytest.mark.parametrize(("n", "batch_size", "sizes"), [(7, 3, [3, 3, 1]), (6, 3, [3, 3])])
def test_extract_features_streams_batches(conv3, n, batch_size, sizes):
    crops = _crops(n, seed=2)
    batches = list(extract_features((crop for crop in crops), conv3, batch_size=batch_size))
    assert [len(batch) for batch in batches] == sizes
    assert all(batch.dtype == np.float32 for batch in batches)
    np.testing.assert_allclose(np.concatenate(batches), conv3(crops), rtol=1e-5, atol=1e-5)


def test_batches_in_flight_keep_their_order(conv3):
    crops = _crops(23, seed=3)
    one = np.concatenate(list(extract_features(iter(crops), conv3, batch_size=4, in_flight=1)))
    for in_flight in (2, 3):
        batches = list(extract_features(iter(crops), conv3, batch_size=4, in_flight=in_flight))
        assert [len(b) for b in batches] == [4] * 5 + [3]
        np.testing.assert_array_equal(np.concatenate(batches), one)


def test_batches_in_flight_stop_with_the_consumer_and_report_failures(conv3, monkeypatch):
    before = {t.name for t in threading.enumerate()}
    stream = extract_features(iter(_crops(40, seed=4)), conv3, batch_size=4, in_flight=2)
    next(stream)
    stream.close()  # the consumer leaves early: the running batches finish, the threads end
    assert {t.name for t in threading.enumerate()} - before == set()

    calls = []
    infer = conv3._infer

    def fails_on_the_second_batch(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return infer(batch)

    monkeypatch.setattr(conv3, "_infer", fails_on_the_second_batch)
    with pytest.raises(RuntimeError, match="out of memory"):
        list(extract_features(iter(_crops(20, seed=5)), conv3, batch_size=4, in_flight=2))
    assert {t.name for t in threading.enumerate()} - before == set()


def test_extract_features_empty_and_bad_crop(conv3):
    assert list(extract_features([], conv3)) == []
    with pytest.raises(ValueError, match="crop 1 must be uint8"):
        list(extract_features([_crops(1)[0], _crops(1, size=32)[0]], conv3))
    with pytest.raises(ValueError, match="batch_size"):
        list(extract_features([], conv3, batch_size=0))
    with pytest.raises(ValueError, match="in_flight"):
        list(extract_features([], conv3, in_flight=0))


def test_unknown_layer_lists_block_outputs():
    with pytest.raises(ValueError, match=r"unknown ResNet50 layer 'conv9'.*conv3_block4_out"):
        FeatureExtractor(layer="conv9", input_size=SIZE)


def test_missing_weights_file_names_path(tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(WeightsError, match=str(missing)):
        FeatureExtractor(weights=str(missing), input_size=SIZE)


def test_imagenet_unavailable_says_what_to_do(tmp_path, monkeypatch):
    import keras.src.backend.config as keras_config

    # Keras reads KERAS_HOME once at import, so point its cache at an empty folder directly.
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    # A refusing proxy makes the download fail at once, offline or not: never 94 MB in a test.
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(WeightsError) as caught:
        FeatureExtractor(weights="imagenet", input_size=SIZE)
    message = str(caught.value)
    assert "ImageNet weights could not be loaded" in message
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "features.weights" in message
    assert not list(tmp_path.rglob("*.h5"))


def _save_legacy_h5(model, path) -> None:
    # The ImageNet file is in Keras 2's HDF5 layout, which Keras 3 reads but no longer writes.
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, model)


# Keras 3.15's own save_weights trips NumPy 2's copy-keyword deprecation once per variable.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_local_weights_file_loads(tmp_path, suffix):
    import keras

    source = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)
    )
    path = tmp_path / f"backbone{suffix}"
    if suffix == ".weights.h5":
        source.save_weights(path)
    else:
        _save_legacy_h5(source, path)

    extractor = FeatureExtractor(weights=str(path), input_size=SIZE)
    pooled = keras.layers.GlobalAveragePooling2D()(source.get_layer("conv3_block4_out").output)
    reference = keras.Model(source.input, pooled)
    bgr = _crops(2, seed=3)
    expected = reference(keras.applications.resnet50.preprocess_input(bgr[..., ::-1].astype("f4")))
    np.testing.assert_allclose(extractor(bgr), np.asarray(expected), rtol=1e-5, atol=1e-4)
    assert extractor.identity.startswith("resnet50-conv3_block4_out-64px-file-")


def test_corrupt_weights_file_raises(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(WeightsError, match="could not be loaded"):
        FeatureExtractor(weights=str(path), input_size=SIZE)
