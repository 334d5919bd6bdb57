"""Distance travelled without the tracker's jitter: real footage shrunk, and synthetic walks."""

import json

import numpy as np
import pandas as pd
import pytest

from ethoflow.labelling.track_outputs import SUMMARY_FILE, track_recording
from ethoflow.vision.distance import position_noise, travelled
from ethoflow.vision.quality import MIN_BODY_PIXELS
from helpers.real import REAL, WALK_FRAMES, WALK_SIZES, WALK_START


@pytest.fixture(scope="module")
def summaries(real_walk_clips, tmp_path_factory) -> dict[tuple[int, int], dict]:
    """``ethoflow track``'s summary.json of the real walk at each size."""
    folder = tmp_path_factory.mktemp("tracked")
    result = {}
    for size, path in real_walk_clips.items():
        outcome = track_recording(
            path, folder / path.stem, arena_side_cm=None, max_missing_share=0.1
        )
        assert outcome.status == "tracked", outcome.reason
        result[size] = json.loads((outcome.outputs / SUMMARY_FILE).read_text())
    return result


def test_same_walk_same_distance_at_640_320_and_160_px(summaries):
    """In 640x480 pixels, within 10 %; each track's own jitter is measured and reported."""
    distances = {size: summaries[size]["distance_px"] * 640 / size[0] for size in WALK_SIZES[:3]}
    base = distances[(640, 480)]
    for size, distance in distances.items():
        assert distance == pytest.approx(base, rel=0.1), (size, distances)
        assert summaries[size]["position_noise_px"] > 0
        assert (
            summaries[size]["track_quality"]["distance_reliable"]
            and "warning" not in summaries[size]
        )
    # idtracker's track of the same frames, measured the same way: the true path, nearly.
    reference = pd.read_csv(REAL / "tracktor_mouse_video.idtracker_track.txt", sep="\t")
    reference = reference.iloc[WALK_START : WALK_START + WALK_FRAMES]
    reference = reference.rename(columns={"X1": "x", "Y1": "y"})
    assert base == pytest.approx(travelled(reference).distance, rel=0.1)


def test_too_few_pixels_on_the_mouse_is_warned_with_the_number(summaries):
    summary = summaries[(64, 48)]
    assert summary["track_quality"]["body_area_px"] < MIN_BODY_PIXELS
    assert summary["track_quality"]["distance_reliable"] is False
    assert (
        f"the mouse covers only {summary['track_quality']['body_area_px']:.0f} px"
        in summary["warning"]
    )
    assert f"unreliable below ~{MIN_BODY_PIXELS} px" in summary["warning"]


def _walk(start, end, frames: int) -> pd.DataFrame:
    xy = np.linspace(start, end, frames)
    return pd.DataFrame({"frame": np.arange(frames), "x": xy[:, 0], "y": xy[:, 1]})


@pytest.mark.parametrize(("pixels_per_frame", "jitter"), [(1.0, 0.5), (1.0, 1.0), (3.0, 2.0)])
def test_straight_walk_with_known_jitter_gives_its_length(pixels_per_frame, jitter):
    """300 frames along a diagonal, Gaussian jitter of known SD on each axis."""
    rng = np.random.default_rng(7)
    length = pixels_per_frame * 299
    track = _walk((20, 30), (20 + 0.6 * length, 30 + 0.8 * length), 300)
    plain = track[["x", "y"]].to_numpy()
    track[["x", "y"]] += rng.normal(0, jitter, (300, 2))
    summed = np.hypot(*np.diff(track[["x", "y"]].to_numpy(), axis=0).T).sum()
    travel = travelled(track)
    assert travel.distance == pytest.approx(length, rel=0.05)
    assert summed > 1.1 * length  # what summing every step gave
    assert travel.noise_px == pytest.approx(jitter, rel=0.15)
    assert position_noise(plain) < 1e-9  # a walk at constant speed has no jitter


@pytest.mark.parametrize("jitter", [0.5, 1.0, 2.0])
def test_still_mouse_with_jitter_travels_nearly_nothing(jitter):
    rng = np.random.default_rng(11)
    track = _walk((100, 80), (100, 80), 600)
    track[["x", "y"]] += rng.normal(0, jitter, (600, 2))
    summed = np.hypot(*np.diff(track[["x", "y"]].to_numpy(), axis=0).T).sum()
    assert travelled(track).distance < 0.01 * summed


def test_repeated_and_missing_frames_are_no_steps():
    """A slow camera's frames repeated on the clock and frames without a mouse add nothing."""
    track = _walk((0, 0), (60, 80), 50)
    once = travelled(track).distance
    twice = travelled(track.loc[track.index.repeat(2)].reset_index(drop=True))
    assert twice.distance == pytest.approx(once)
    gaps = track.copy()
    gaps.loc[10:14, ["x", "y"]] = np.nan
    missing = travelled(gaps)
    assert missing.steps[10:15].eq(0).all()
    assert missing.distance == pytest.approx(once, rel=0.01)
