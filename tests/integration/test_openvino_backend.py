"""features.backend openvino: the Keras extractor converted to OpenVINO, on the real libraries."""

import logging
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from ethoflow.config import ConfigError, FeaturesConfig, Settings, load_settings
from ethoflow.features import cnn as features
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.io.video import VideoReader
from ethoflow.vision.crop import crop_around

pytestmark = pytest.mark.slow  # converts the ResNet50 extractor

SIZE = 160  # the production crop; conversion time does not depend on it


def _has_bf16() -> bool:
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.fixture(scope="module")
def crops(tiny_recording) -> np.ndarray:
    """Random crops, then crops around the mouse in a synthetic recording's decoded frames."""
    random = np.random.default_rng(0).integers(0, 256, (12, SIZE, SIZE, 3), dtype=np.uint8)
    truth = pd.read_csv(tiny_recording["truth"])
    mouse = [
        crop_around(frame, (truth.x[index], truth.y[index]), SIZE)
        for index, frame in enumerate(VideoReader(tiny_recording["video"]))
        if index % 15 == 0
    ]
    return np.concatenate([random, np.stack(mouse)])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("openvino")


@pytest.fixture(scope="module")
def keras_extractor() -> FeatureExtractor:
    return FeatureExtractor(input_size=SIZE, seed=0)


@pytest.fixture(scope="module")
def openvino_extractor(cache) -> FeatureExtractor:
    return FeatureExtractor(input_size=SIZE, seed=0, backend="openvino", cache_dir=cache)


def test_fp32_features_equal_keras(keras_extractor, openvino_extractor, crops):
    expected, got = keras_extractor(crops), openvino_extractor(crops)
    assert got.shape == expected.shape == (len(crops), 512)
    assert got.dtype == np.float32
    print(
        f"fp32: max |diff| {np.abs(got - expected).max():.2e}, max |feature| {expected.max():.1f}"
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert openvino_extractor(crops[:0]).shape == (0, 512)


def test_fp32_shares_the_keras_identity(keras_extractor, openvino_extractor):
    assert openvino_extractor.identity == keras_extractor.identity
    ids = {
        (backend, precision): Featurization.from_settings(
            Settings(features=FeaturesConfig(cnn=True, backend=backend, precision=precision))
        ).id
        for backend, precision in [("keras", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")]
    }
    assert ids["keras", "fp32"] == ids["openvino", "fp32"]
    assert ids["openvino", "bf16"] != ids["openvino", "fp32"]
    assert "-bf16-" in ids["openvino", "bf16"]


def test_conversion_is_cached(openvino_extractor, cache, crops, caplog):
    xml = cache / openvino_extractor.identity / "model.xml"
    written = xml.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="ethoflow.features.cnn"):
        again = FeatureExtractor(input_size=SIZE, seed=0, backend="openvino", cache_dir=cache)
    assert not [record for record in caplog.records if "converting" in record.message]
    assert xml.stat().st_mtime_ns == written
    # Only the finished folder: no staging copy left behind.
    assert [path.name for path in cache.iterdir()] == [openvino_extractor.identity]
    np.testing.assert_array_equal(again(crops), openvino_extractor(crops))


def test_a_cached_conversion_does_not_build_the_keras_network(
    openvino_extractor, cache, crops, monkeypatch
):
    def refuse(*args, **kwargs):
        raise AssertionError("the Keras ResNet was built although its conversion is cached")

    monkeypatch.setattr(features, "_build_model", refuse)
    again = FeatureExtractor(input_size=SIZE, seed=0, backend="openvino", cache_dir=cache)
    assert again.n_features == openvino_extractor.n_features
    np.testing.assert_array_equal(again(crops), openvino_extractor(crops))


def test_a_killed_conversions_staging_folder_is_cleaned_up_later(tmp_path):
    identity = features.extractor_identity("conv3_block4_out", None, SIZE, 0)
    stale = tmp_path / f".{identity}.killed"
    fresh = tmp_path / f".{identity}.converting-now"  # another process, still at work
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.bin").write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    FeatureExtractor(input_size=SIZE, seed=0, backend="openvino", cache_dir=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([fresh.name, identity])


def test_threads_share_one_extractor(openvino_extractor, crops):
    expected = [openvino_extractor(crops[start : start + 4]) for start in (0, 4, 8, 12)]
    got: dict[int, np.ndarray] = {}

    def featurise(start: int) -> None:
        for _ in range(3):
            got[start] = openvino_extractor(crops[start : start + 4])

    threads = [threading.Thread(target=featurise, args=(start,)) for start in (0, 4, 8, 12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, start in enumerate((0, 4, 8, 12)):
        np.testing.assert_array_equal(got[start], expected[index])


@pytest.mark.skipif(not _has_bf16(), reason="OpenVINO finds no bfloat16 support on this CPU")
def test_bf16_features_are_close_and_their_own(keras_extractor, cache, crops, caplog):
    with caplog.at_level(logging.INFO, logger="ethoflow.features.cnn"):
        bf16 = FeatureExtractor(
            input_size=SIZE, seed=0, backend="openvino", precision="bf16", cache_dir=cache
        )
    # bf16 compiles the same converted network: no second conversion.
    assert not [record for record in caplog.records if "converting" in record.message]
    assert bf16.identity == f"{keras_extractor.identity}-bf16"
    expected, got = keras_extractor(crops), bf16(crops)
    relative = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    print(f"bf16: relative error {relative:.1e}, max |diff| {np.abs(got - expected).max():.2e}")
    assert 0 < relative < 2e-2


def test_bf16_needs_openvino(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("features: {backend: keras, precision: bf16}\n")
    with pytest.raises(ConfigError, match="precision bf16 needs backend openvino"):
        load_settings(params)
    with pytest.raises(ValueError, match="'bf16' needs backend 'openvino'"):
        FeatureExtractor(input_size=SIZE, precision="bf16")


def test_imports_stay_light():
    code = (
        "import sys, ethoflow.features.featurization; "
        "sys.exit(bool({'openvino', 'tensorflow'} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
