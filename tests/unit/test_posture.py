import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.features.posture import POSTURE_FEATURES, floor_unsquash, posture_features
from ethoflow.io.video import VideoReader
from ethoflow.synth.conditions import CONDITIONS, NEW_SETUP
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
            "angle": [np.nan, 0.0, 0.0, 0.0],
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
        area=np.nan, length=np.nan, width=np.nan, angle=np.nan
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


def _seen_through(foreshortening: float, frames: int = 720) -> pd.DataFrame:
    """The track of a mouse 40 × 15 px turning through every heading while it walks, filmed by a
    camera whose image y axis foreshortens the floor by ``foreshortening``."""
    rng = np.random.default_rng(0)
    heading = rng.uniform(0, np.pi, frames)
    axis = np.stack([np.cos(heading), np.sin(heading)], -1) * [1, foreshortening]
    across = np.stack([-np.sin(heading), np.cos(heading)], -1) * [1, foreshortening]
    cov = 40.0**2 * np.einsum("ni,nj->nij", axis, axis) + 15.0**2 * np.einsum(
        "ni,nj->nij", across, across
    )
    values, vectors = np.linalg.eigh(cov)
    long_axis = vectors[:, :, 1]
    angle = -np.degrees(np.arctan2(long_axis[:, 1], long_axis[:, 0]))  # y up, as tracked
    step = np.cumsum(np.stack([np.cos(heading), np.sin(heading) * foreshortening], -1), 0)
    return pd.DataFrame(
        {
            "x": 100 + step[:, 0],
            "y": 100 + step[:, 1],
            "area": np.pi * 20 * 7.5 * foreshortening,
            "length": np.sqrt(values[:, 1]),
            "width": np.sqrt(values[:, 0]),
            "angle": angle,
        }
    )


def test_a_tilted_cameras_foreshortening_is_undone():
    """Seen through a 40° tilt, a mouse facing up the image looks 0.77 as long as one facing
    across; measured from the track, the squash is undone: its length and speed no longer depend
    on where it faces."""
    tilted = _seen_through(0.77)
    ratio = np.linalg.svd(floor_unsquash(tilted), compute_uv=False)
    assert ratio[1] / ratio[0] == pytest.approx(0.77, abs=0.02)
    features = pd.DataFrame(posture_features(tilted, fps=10), columns=POSTURE_FEATURES)
    assert tilted.length.min() / tilted.length.max() < 0.8  # in image pixels
    assert features.length.min() / features.length.max() > 0.97
    assert features.elongation.min() > 0.97 * 40 / 15
    walking = features.speed[1:]  # one pixel of floor per frame, whichever way
    assert walking.std() / walking.mean() < 0.03
    # A camera looking straight down (or nearly): the features are those of image pixels.
    for mild in (1.0, 0.95):
        assert np.array_equal(floor_unsquash(_seen_through(mild)), np.eye(2))
    # Too few frames to see the mouse turn: nothing is guessed.
    assert np.array_equal(floor_unsquash(tilted.head(30)), np.eye(2))


@pytest.mark.slow
def test_the_new_setups_tilt_is_measured_on_its_video(tmp_path):
    """On a rendered recording of the tilted set-up (cos 40° = 0.77), the tracker's blobs give
    the foreshortening; on a top-view set-up, none is found."""
    found = {}
    for condition in (NEW_SETUP, CONDITIONS[0]):
        paths = [tmp_path / f"{condition.name}{s}" for s in (".mp4", ".csv", "_t.csv")]
        write_recording(*paths, condition=condition, seconds=40, seed=3)
        track = track_frames(VideoReader(paths[0]))
        values = np.linalg.svd(floor_unsquash(track), compute_uv=False)
        found[condition.name] = values[1] / values[0]
    assert found[CONDITIONS[0].name] == 1.0
    assert 0.72 < found[NEW_SETUP.name] < 0.9, found
