"""Set-up drift: numbers measured per recording, profiles, and scoring a new recording."""

import json

import numpy as np
import pandas as pd
import pytest

from ethoflow.features.drift import (
    SETUP_MEASURES,
    DriftLimits,
    drift_summary,
    feature_distance,
    feature_summary,
    measure_setup,
    recording_profile,
    score_recording,
    training_profile,
)

LIMITS = DriftLimits(max_camera_ratio=1.25, max_look_ratio=1.5, max_feature_sigma=3.0)


def _setup(**changes: float) -> dict[str, float]:
    base = {
        "fps": 10.0,
        "frame_width_px": 320.0,
        "frame_height_px": 240.0,
        "arena_side_px": 230.0,
        "floor_brightness": 200.0,
        "floor_contrast": 10.0,
        "mouse_area_px": 1000.0,
        "mouse_length_px": 50.0,
        "mouse_contrast": 120.0,
    }
    return base | changes


LABELS = pd.DataFrame({"grooming": [0, 1, 1, 0, 1], "rearing": [0, 0, 0, 0, 0]})


def _recording(video_id: str, condition: str, setup: dict, features: np.ndarray) -> dict:
    return recording_profile(video_id, condition, setup, features, split="train", labels=LABELS)


def _features(mean: float, seed: int, frames: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(mean, 1.0, (frames, 3)).astype(np.float32)


@pytest.fixture
def profile() -> dict:
    """Two set-ups, two recordings each, with slightly different mice and feature means."""
    recordings = [
        _recording("a1", "set_a", _setup(mouse_area_px=900.0), _features(0.0, 1)),
        _recording("a2", "set_a", _setup(mouse_area_px=1100.0), _features(0.2, 2)),
        _recording(
            "b1",
            "set_b",
            _setup(fps=30.0, frame_width_px=480.0, frame_height_px=360.0),
            _features(0.1, 3),
        ),
        _recording(
            "b2",
            "set_b",
            _setup(fps=30.0, frame_width_px=480.0, frame_height_px=360.0),
            _features(-0.1, 4),
        ),
    ]
    return {"feature_count": 3, "recordings": recordings}


def test_measure_setup_reads_floor_mouse_and_frame():
    background = np.full((20, 30), 50, np.uint8)
    background[5:15, 5:25] = 200  # the arena floor
    background[5:10, 5:25] = 210
    arena = np.zeros_like(background)
    arena[5:15, 5:25] = 255
    track = pd.DataFrame(
        {"found": [True, True, False], "area": [100.0, 120.0, np.nan], "length": [20, 22, np.nan]}
    )
    setup = measure_setup(
        fps=25.0,
        background=background,
        arena=arena,
        arena_side_px=10.0,
        track=track,
        mouse_contrast=np.array([np.nan, 90.0, 110.0]),
    )
    assert set(setup) == set(SETUP_MEASURES)
    assert setup["fps"] == 25.0
    assert (setup["frame_width_px"], setup["frame_height_px"]) == (30.0, 20.0)
    assert setup["floor_brightness"] == pytest.approx(205.0)
    assert setup["floor_contrast"] == pytest.approx(10.0)
    assert (setup["mouse_area_px"], setup["mouse_length_px"]) == (110.0, 21.0)
    assert setup["mouse_contrast"] == 100.0


def test_measure_setup_without_a_mouse_leaves_its_numbers_out():
    background = np.full((8, 8), 100, np.uint8)
    track = pd.DataFrame({"found": [False], "area": [np.nan], "length": [np.nan]})
    setup = measure_setup(
        fps=10.0,
        background=background,
        arena=np.full_like(background, 255),
        arena_side_px=None,
        track=track,
        mouse_contrast=np.array([np.nan]),
    )
    assert setup["mouse_area_px"] is None and setup["mouse_contrast"] is None


def test_measure_setup_refuses_mismatched_arena():
    with pytest.raises(ValueError, match="one grey image shape"):
        measure_setup(
            fps=10.0,
            background=np.zeros((8, 8), np.uint8),
            arena=np.zeros((8, 9), np.uint8),
            arena_side_px=None,
            track=pd.DataFrame({"found": [], "area": [], "length": []}),
            mouse_contrast=np.array([]),
        )


def test_a_recording_profile_counts_each_behaviours_frames_and_bouts():
    entry = _recording("a1", "set_a", _setup(), _features(0.0, 1))
    assert entry["behaviours"] == {
        "grooming": {"labelled": 5, "frames": 3, "bouts": 2},
        "rearing": {"labelled": 5, "frames": 0, "bouts": 0},
    }
    assert entry["split"] == "train" and entry["frames"] == 50


def test_a_recording_profile_counts_labelled_frames_only():
    # As ingest's per-video CSV reads back: unknown frames are NaN. Grooming 1 1 ? 1 0 ? ? 1:
    # the unknown frame splits the first run, and the last 1 is a bout of its own stretch.
    labels = pd.DataFrame(
        {
            "grooming": [1, 1, np.nan, 1, 0, np.nan, np.nan, 1],
            "rearing": [np.nan] * 6 + [0, 0],
        }
    )
    entry = recording_profile(
        "a1", "set_a", _setup(), _features(0.0, 1), split="train", labels=labels
    )
    assert entry["behaviours"] == {
        "grooming": {"labelled": 5, "frames": 4, "bouts": 3},
        "rearing": {"labelled": 2, "frames": 0, "bouts": 0},
    }


def test_feature_summary_per_column():
    features = np.arange(10, dtype=np.float32).reshape(5, 2)  # columns 0,2,…,8 and 1,3,…,9
    summary = feature_summary(features)
    assert summary["mean"] == [4.0, 5.0]
    assert summary["q50"] == [4.0, 5.0]
    assert summary["q05"][0] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="frames > 0"):
        feature_summary(np.zeros((0, 2)))


def test_a_recording_of_a_trained_set_up_is_not_flagged(profile):
    drift = score_recording(_setup(mouse_area_px=1200.0), _features(0.05, 9), profile, LIMITS)
    assert not drift.flagged and drift.reasons == []
    assert drift.nearest_setup == "set_a" and drift.camera_ratio == 1.0
    assert drift.score < 1


def test_a_new_camera_is_flagged_against_the_nearest_set_up(profile):
    # 25 fps, 400×400: within the range of all training recordings, but like neither set-up.
    setup = _setup(fps=25.0, frame_width_px=400.0, frame_height_px=400.0)
    drift = score_recording(setup, _features(0.0, 9), profile, LIMITS)
    assert drift.flagged and drift.nearest_setup == "set_b"
    assert drift.camera_ratio == pytest.approx(30 / 25 * 480 / 400 * 400 / 360, rel=1e-3)
    [reason] = drift.reasons
    assert reason.startswith("camera set-up unlike any trained on: 1.60× from the nearest, set_b")
    assert "frame rate 1.20× lower than in set_b (25 vs 30 fps)" in reason
    assert "frame height 1.11× larger than in set_b (400 vs 360 px)" in reason


def test_a_larger_mouse_is_flagged_with_its_ratio(profile):
    drift = score_recording(_setup(mouse_area_px=2530.0), _features(0.0, 9), profile, LIMITS)
    assert drift.flagged
    assert drift.reasons == ["mouse area 2.30× larger than in training (2530 vs 900–1100 px²)"]
    assert drift.score == pytest.approx(2.3 / 1.5, rel=1e-3)


def test_dim_grey_levels_are_not_compared_below_noise(profile):
    # 2 vs 10 grey levels of floor texture is 5×, but both are close to sensor noise.
    drift = score_recording(_setup(floor_contrast=2.0), _features(0.0, 9), profile, LIMITS)
    assert drift.look_ratio == pytest.approx(10 / 8)
    assert not drift.flagged


def test_shifted_features_are_flagged_in_sigma(profile):
    drift = score_recording(_setup(), _features(3.0, 9), profile, LIMITS)
    assert drift.feature_sigma > 3
    assert drift.reasons == [
        f"feature distance {drift.feature_sigma:.1f} σ from the training recordings (limit 3 σ)"
    ]


def test_feature_distance_refuses_other_features(profile):
    with pytest.raises(ValueError, match=r"\(frames > 0, 3\)"):
        feature_distance(np.zeros((5, 4)), profile)


def test_drift_summary_gives_shared_reasons_once_and_names_unprofiled_heads(profile):
    setup = _setup(mouse_area_px=2530.0)
    both = drift_summary(
        setup, _features(0.0, 9), {"grooming": profile, "rearing": profile}, LIMITS
    )
    assert both["flagged"] and len(both["reasons"]) == 1
    assert set(both["heads"]) == {"grooming", "rearing"} and both["setup"] == setup

    one = drift_summary(setup, _features(0.0, 9), {"grooming": profile, "rearing": None}, LIMITS)
    assert one["flagged"] and set(one["heads"]) == {"grooming"}
    assert one["reasons"][-1].startswith("not measured for rearing")

    none = drift_summary(setup, _features(0.0, 9), {"grooming": None}, LIMITS)
    assert not none["flagged"] and none["score"] is None


def test_training_profile_reads_every_original_recording_of_ingest(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    manifest = pd.DataFrame(
        {
            "video_id": ["a1", "a1__aug", "b1"],
            "condition": ["set_a", "set_a", "set_b"],
            "split": ["train", "train", "validation"],
            "features": ["a1.npy", "a1__aug.npy", "b1.npy"],
            "labels": ["a1.csv", "a1.csv", "b1.csv"],
            "augmented": [False, True, False],
        }
    )
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    for video_id, seed in (("a1", 1), ("a1__aug", 2), ("b1", 3)):
        np.save(videos / f"{video_id}.npy", _features(0.0, seed, frames=5))
    for video_id in ("a1", "b1"):
        labels = LABELS.assign(frame=range(5), time_s=0.0, x=1.0, y=2.0)
        labels.to_csv(videos / f"{video_id}.csv", index=False)
        (videos / f"{video_id}.json").write_text(json.dumps({"setup": _setup()}))
    profile = training_profile(tmp_path)
    assert profile["feature_count"] == 3
    assert [(r["video_id"], r["split"]) for r in profile["recordings"]] == [
        ("a1", "train"),
        ("b1", "validation"),
    ]
    assert set(profile["recordings"][0]["behaviours"]) == {"grooming", "rearing"}

    (videos / "b1.json").write_text(json.dumps({"key": "old"}))
    with pytest.raises(ValueError, match="b1.json has no set-up numbers"):
        training_profile(tmp_path)
