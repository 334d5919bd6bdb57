import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.features.posture import POSTURE_FEATURES, posture_features
from ethoflow.io.video import VideoReader
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.vision.openfield import track_frames
from ethoflow.vision.track import body_ellipse


def test_body_ellipse_measures_an_ellipse():
    mask = np.zeros((200, 200), np.uint8)
    # Full axes 80 × 30, long axis 30° clockwise in the image: 30° below the x axis on a plot.
    cv2.ellipse(mask, ((100, 100), (80, 30), 30), 1, -1)
    x, y, area, length, width, angle = body_ellipse(mask)
    assert (x, y) == pytest.approx((100, 100), abs=0.5)
    assert area == pytest.approx(math.pi * 40 * 15, rel=0.05)  # rasterised edges
    assert length == pytest.approx(80, rel=0.03)
    assert width == pytest.approx(30, rel=0.05)
    assert angle == pytest.approx(-30, abs=1)
    with pytest.raises(ValueError, match="non-empty"):
        body_ellipse(np.zeros((5, 5), np.uint8))


def test_posture_features_are_relative_to_the_video():
    track = pd.DataFrame(
        {
            "x": [10.0, 10.0, 13.0, 13.0],
            "y": [5.0, 5.0, 9.0, 9.0],
            "area": [np.nan, 100.0, 200.0, 100.0],
            "length": [np.nan, 20.0, 20.0, 10.0],
            "width": [np.nan, 10.0, 10.0, 10.0],
        }
    )
    features = posture_features(track, fps=10.0)
    assert features.shape == (4, len(POSTURE_FEATURES)) and features.dtype == np.float32
    area, length, width, elongation, speed = features.T
    # The frame before the first detection takes the first detected shape.
    np.testing.assert_allclose(area, [1, 1, 2, 1])
    np.testing.assert_allclose(length, [1, 1, 1, 0.5])
    np.testing.assert_allclose(width, [1, 1, 1, 1])
    np.testing.assert_allclose(elongation, [2, 2, 2, 1])
    # A 5-pixel step in one frame at 10 fps, body length 20 px: 2.5 body lengths per second.
    np.testing.assert_allclose(speed, [0, 0, 2.5, 0])


def test_posture_features_without_any_detection_are_zero():
    track = pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 1.0]}).assign(
        area=np.nan, length=np.nan, width=np.nan
    )
    assert not posture_features(track, fps=10).any()
    with pytest.raises(ValueError, match="columns"):
        posture_features(track.drop(columns="area"), fps=10)
    with pytest.raises(ValueError, match="fps"):
        posture_features(track, fps=0)


def test_posture_separates_behaviours_on_synthetic_video(tmp_path):
    """Rearing shortens the blob and grooming widens it, relative to walking."""
    paths = [tmp_path / name for name in ("v.mp4", "v.csv", "t.csv")]
    write_recording(*paths, condition=CONDITIONS[0], seconds=40, seed=0)
    track = track_frames(VideoReader(paths[0]))
    features = pd.DataFrame(posture_features(track, fps=10), columns=POSTURE_FEATURES)
    behaviour = pd.read_csv(paths[2]).behaviour
    means = features.groupby(behaviour.str.replace("mid_|wall_", "", regex=True)).mean()
    assert {"neutral", "grooming", "rearing"} <= set(means.index)
    assert means.length["rearing"] < 0.9 * means.length["neutral"]
    assert means.elongation["grooming"] < 0.85 * means.elongation["neutral"]
