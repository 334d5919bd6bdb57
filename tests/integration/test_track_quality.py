"""Is the track a mouse: short clips of real footage, noise, ghosts, glitches (issue: say so when
the track is wrong). Real clips are cut from tests/data/real (licences beside them)."""

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ethoflow.cli import app
from ethoflow.io.video import open_recording
from ethoflow.vision.openfield import track_frames
from ethoflow.vision.quality import check_track
from ethoflow.vision.track import MouseTracker, estimate_background
from helpers.real import REAL

TRACKTOR = REAL / "tracktor_mouse_video.mp4"


def _cut(source: Path, target: Path, frames: int, start: int = 0) -> Path:
    """The first ``frames`` frames of ``source`` from ``start``, streamed into an MJPEG AVI."""
    capture = cv2.VideoCapture(str(source))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        writer.write(frame)
    writer.release()
    capture.release()
    return target


def _tracked(path: Path):
    source = open_recording(path)
    tracker = MouseTracker.for_recording(source)
    return check_track(track_frames(source, tracker=tracker), tracker, fps=source.fps)


@pytest.mark.parametrize("frames", [90, 150, 300])
def test_short_clip_from_the_start_of_a_real_recording_is_tracked_on_the_mouse(tmp_path, frames):
    """The camera's exposure hunts in these first seconds (+28 grey levels on the floor in some
    frames): the floor once read as a light mouse passing and the background took in dark
    patches, and the track sat on them 27-68 px from the mouse."""
    track, quality = _tracked(_cut(TRACKTOR, tmp_path / "start.avi", frames))
    reference = pd.read_csv(REAL / "tracktor_mouse_video.idtracker_track.txt", sep="\t")
    reference = reference.iloc[:frames]
    assert quality.verdict == "good", quality.summary()
    assert track.found.all()
    distance = np.hypot(track.x - reference.X1, track.y - reference.Y1)
    assert np.median(distance) <= 3
    assert (distance <= 10).mean() >= 0.97


@pytest.mark.slow  # clips of the real round-arena video tracked
@pytest.mark.parametrize("frames", [90, 120])
def test_short_clips_of_the_white_mouse_on_bedding(tmp_path, frames):
    track, quality = _tracked(_cut(REAL / "sleap_minimal_top.mp4", tmp_path / "s.avi", frames))
    assert quality.verdict == "good", quality.summary()
    inside = track.x.between(520, 600) & track.y.between(620, 700)  # drawn by hand
    assert inside.all()


def _noise(path: Path, frames: int = 90, size: tuple[int, int] = (640, 480)) -> Path:
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def test_noise_is_not_a_mouse(tmp_path):
    track, quality = _tracked(_noise(tmp_path / "noise.avi"))
    assert not quality.usable and quality.verdict == "unusable"
    assert quality.evidence["background_change_share"] > 0.2
    assert "differs from the recording's background" in quality.warnings[0]
    # Each frame's "mouse" is a blob of noise somewhere else: no piece of track is a mouse's.
    assert track.found.mean() < 0.3


def test_track_command_quarantines_noise_with_its_evidence(tmp_path):
    noise = _noise(tmp_path / "noise.avi")
    good = _cut(TRACKTOR, tmp_path / "mouse.avi", 90, start=1000)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["track", str(noise), str(good), "--out", str(out)])
    assert result.exit_code == 1, result.output
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    assert report.status.to_dict() == {"mouse": "tracked", "noise": "quarantined"}
    assert "differs from the recording's background" in report.reason["noise"]
    assert not (out / "noise" / "track.csv").exists()
    summary = json.loads((out / "mouse" / "summary.json").read_text())
    assert summary["track_quality"]["verdict"] == "good"
    assert summary["track_quality"]["background_change_share"] < 0.05


def test_a_ghost_in_the_background_is_not_reported_as_the_mouse(tmp_path):
    """A background that holds the mouse where it sat: where it has gone, the frame differs from
    the background by a mouse's contrast, lighter, but shows nothing but floor."""
    clip = open_recording(_cut(TRACKTOR, tmp_path / "clip.avi", 251))
    frames = [frame for i, frame in enumerate(clip) if i in (0, 250)]
    tracker = MouseTracker(frames[0], polarity="light_on_dark")
    seen = tracker(frames[1])
    assert tracker.ghost_frames == 1
    start = (254, 221)  # idtracker's centre in frame 0, where the ghost is
    assert not seen.found or math.dist((seen.x, seen.y), start) > 50


def _walk(frames: int = 60, step: float = 2.0) -> pd.DataFrame:
    """A mouse walking right, 30 px long, ``step`` px per frame."""
    x = 100 + step * np.arange(frames)
    return pd.DataFrame(
        {
            "x": x,
            "y": np.full(frames, 100.0),
            "found": True,
            "confidence": 1.0,
            "area": 300.0,
            "length": 30.0,
            "width": 12.0,
            "angle": 0.0,
        }
    )


def _tracker_for(shape=(200, 400)) -> MouseTracker:
    tracker = MouseTracker(np.full(shape, 200, np.uint8))
    tracker.background_change = 0.01
    return tracker


def test_a_one_frame_jump_across_the_arena_is_marked_not_found():
    track = _walk()
    track.loc[30, ["x", "y"]] = (380.0, 190.0)  # a reflection on the far wall, for one frame
    checked, quality = check_track(track, _tracker_for(), fps=30)
    assert not checked.found[30] and math.isnan(checked.x[30])
    assert checked.found.drop(index=30).all()
    assert quality.evidence["jump_frames"] == 1 and quality.verdict == "good"


def test_a_fast_but_possible_run_is_kept():
    # 15 px per frame at 30 fps: 15 body lengths a second, about 1.5 m/s for a 10 cm mouse.
    checked, quality = check_track(_walk(step=15.0), _tracker_for((200, 2000)), fps=30)
    assert checked.found.all() and quality.evidence["jump_frames"] == 0


def test_a_blob_unlike_the_mouse_in_size_is_marked_not_found():
    track = _walk()
    track.loc[10:14, "area"] = 3000.0  # a hand reaching in
    checked, quality = check_track(track, _tracker_for(), fps=30)
    assert not checked.found[10:14].any() and checked.found.sum() == 55
    assert quality.evidence["wrong_size_frames"] == 5
    assert quality.verdict == "doubtful"
    assert "unlike the recording's mouse in size" in quality.warnings[0]


def test_a_clip_of_a_few_frames_is_not_rejected_for_being_short():
    checked, quality = check_track(_walk(frames=5), _tracker_for(), fps=30)
    assert checked.found.all() and quality.verdict == "good"


def test_images_without_a_frame_rate_are_not_judged_by_speed():
    track = _walk(frames=6)
    track.loc[::2, "x"] = 380.0  # frames of a folder may be minutes apart
    checked, _ = check_track(track, _tracker_for(), fps=None)
    assert checked.found.all()


def test_a_camera_whose_exposure_hunts_gives_a_clean_background():
    """Frames brightened or darkened as a whole must not leave patches in the background."""
    floor = np.full((120, 160), 150, np.uint8)
    frames = []
    for i in range(32):
        frame = floor.copy()
        cv2.circle(frame, (20 + 4 * i, 60), 8, 30, -1)  # a dark mouse crossing
        gain = 1.25 if i in (3, 9, 17, 25) else 1.0  # as briefly as a mouse passes a pixel
        frames.append(np.clip(frame * gain, 0, 255).astype(np.uint8))
    background = estimate_background(frames)
    assert np.abs(background.astype(int) - 150).max() <= 30
    assert np.percentile(np.abs(background.astype(int) - 150), 99) <= 5


def test_the_manual_viewer_carries_the_verdict_with_the_track(tmp_path):
    from ethoflow.ui.recording import load_recording

    recording = load_recording(_noise(tmp_path / "noise.avi"))
    assert recording.quality.verdict == "unusable"
    assert "differs from the recording's background" in recording.quality.warnings[0]
