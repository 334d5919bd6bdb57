import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.config import Settings
from ethoflow.features.featurization import Featurization
from ethoflow.features.motion import MOTION_FEATURES, BodyMotion, motion_features
from ethoflow.features.posture import POSTURE_FEATURES
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording

FLOOR, MOUSE = 200.0, 50.0


def _mouse_frame(paw_offset: float = 0.0, gain: float = 1.0) -> np.ndarray:
    """A dark body (long axis along x) on a light floor, with a light paw near its +x end."""
    frame = np.full((120, 160), FLOOR, np.float32)
    cv2.ellipse(frame, ((80, 60), (60, 30), 0), MOUSE, -1)
    cv2.circle(frame, (int(95 + paw_offset), 60), 4, 150.0, -1)
    return np.clip(frame * gain, 0, 255).astype(np.uint8)


def _furred_frame(paw_offset: float = 0.0) -> np.ndarray:
    """:func:`_mouse_frame` with a coat: fixed grey-level texture over the body."""
    frame = _mouse_frame(paw_offset).astype(np.float32)
    coat = cv2.GaussianBlur(np.random.default_rng(0).normal(0, 40, frame.shape), (0, 0), 1.5)
    body = np.zeros(frame.shape, np.uint8)
    cv2.ellipse(body, ((80, 60), (60, 30), 0), 1, -1)
    return np.clip(frame + coat * body, 0, 255).astype(np.uint8)


def _measure(frames, detection=(80.0, 60.0, 60.0, 30.0, 0.0), wobble=(0.0, 0.0)):
    """BodyMotion over ``frames``; every other frame's detected centre is off by ``wobble``."""
    motion = BodyMotion()
    x, y, *shape = detection
    return [
        motion(frame, x + wobble[0] * (i % 2), y + wobble[1] * (i % 2), *shape)
        for i, frame in enumerate(frames)
    ]


def test_a_still_mouse_does_not_move_and_its_contrast_is_measured():
    first, second = _measure([_mouse_frame(), _mouse_frame()])
    assert math.isnan(first[0]) and math.isnan(first[1])  # nothing to compare with yet
    assert second[0] == pytest.approx(0.0, abs=1e-3) and second[1] == pytest.approx(0.0, abs=1e-3)
    assert second[2] == pytest.approx(FLOOR - MOUSE, rel=0.1)


def test_strokes_at_one_end_show_in_the_busy_half_only():
    busy, still, _ = _measure([_mouse_frame(0.0), _mouse_frame(8.0)])[1]
    assert busy > 5.0
    assert still == pytest.approx(0.0, abs=0.5)


def test_a_tracker_wobble_is_not_motion_and_strokes_still_are():
    # A breathing mouse's outline moves its detected centre by a pixel or two: the coat, cut out
    # a pixel off, would change everywhere inside the body.
    # Measured without the realignment: 5-13 grey levels for a 1-2 px wobble.
    wobble, _, _ = _measure([_furred_frame(), _furred_frame()], wobble=(1.0, 1.0))[1]
    stroke, still, _ = _measure([_furred_frame(0.0), _furred_frame(8.0)], wobble=(1.0, 1.0))[1]
    assert wobble < 2.0 and stroke > 10 * wobble and still < 1.5


def test_flicker_is_divided_out():
    busy, still, _ = _measure([_mouse_frame(gain=1.0), _mouse_frame(gain=1.08)])[1]
    assert busy < 1.0 and still < 1.0  # an 8 % lamp beat without compensation: ~4 grey levels


def test_a_lost_mouse_restarts_the_comparison():
    lost = (math.nan, math.nan, math.nan, math.nan, math.nan)
    motion = BodyMotion()
    motion(_mouse_frame(), 80.0, 60.0, 60.0, 30.0, 0.0)
    assert all(math.isnan(v) for v in motion(_mouse_frame(), *lost))
    after = motion(_mouse_frame(8.0), 80.0, 60.0, 60.0, 30.0, 0.0)
    assert math.isnan(after[0]) and after[2] > 0  # the frame before had no mouse to compare


def test_features_are_per_recording_in_contrast_units():
    raw = np.array([[np.nan, np.nan, 150.0], [30.0, 3.0, 150.0], [3.0, 3.0, 140.0], [9, 6, 160]])
    features = motion_features(raw)
    assert features.shape == (4, len(MOTION_FEATURES)) and features.dtype == np.float32
    np.testing.assert_allclose(features[0], 0.0)  # no measure: no motion
    # Noise floor: the median still-half change (3), removed in quadrature; scale: the median
    # contrast (150).
    np.testing.assert_allclose(features[1], [np.sqrt(30**2 - 3**2) / 150, 0.0], atol=1e-6)
    # The same mouse under a dimmer lamp (every grey level × 0.6) gives the same features.
    np.testing.assert_allclose(motion_features(raw * 0.6), features, atol=1e-6)
    assert motion_features(np.zeros((0, 3))).shape == (0, 2)


@pytest.fixture(scope="module")
def groomed(tmp_path_factory):
    """A minute of condition_1 featurised with silhouette and motion, and its truth."""
    folder = tmp_path_factory.mktemp("motion")
    paths = [folder / name for name in ("v.mp4", "v.csv", "t.csv")]
    write_recording(*paths, condition=CONDITIONS[0], seconds=60, seed=4)
    settings = Settings.model_validate({"features": {"cnn": False}})
    featurization = Featurization.from_settings(settings)
    result = featurization.featurize_video(paths[0], None)
    truth = pd.read_csv(paths[2]).iloc[result.track.frame.to_numpy()].reset_index(drop=True)
    table = pd.DataFrame(result.features, columns=[*POSTURE_FEATURES, *MOTION_FEATURES])
    return featurization, table.assign(activity=truth.activity)


def test_resting_and_grooming_look_alike_in_silhouette_but_not_in_motion(groomed):
    featurization, table = groomed
    assert "+motion" in featurization.id
    medians = table.groupby("activity").median()
    grooming = table[table.activity.isin(["paw_licking", "face_washing"])].median(numeric_only=True)
    resting = medians.loc["resting"]
    # The same hunched blob, nearly still on the floor ...
    assert grooming.elongation == pytest.approx(resting.elongation, rel=0.15)
    assert grooming.area == pytest.approx(resting.area, rel=0.15)
    assert medians.loc["walking"].speed > 3 * grooming.speed
    # ... told apart by the strokes inside it.
    assert grooming.motion_busy_half > 3 * max(resting.motion_busy_half, 0.005)
