"""The tracker on the synthetic lab (exact truth) and the arena finder; crops."""

import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.io.video import VideoReader
from ethoflow.synth.conditions import CONDITIONS, HELD_OUT_CONDITION, Condition, condition_by_name
from ethoflow.synth.recording import render_recording, write_recording
from ethoflow.vision.arena import find_arena
from ethoflow.vision.openfield import track_frames
from ethoflow.vision.track import (
    MouseTracker,
    _components,
    _label_type,
    estimate_background,
)

POLARITIES = ("dark_on_light", "light_on_dark")
# Seed 1 sends the mouse along the walls (and into corners of the square arenas) in every
# condition, between its rests and grooming bouts.
SEED = 1
SECONDS = 20
NEAR_WALL = 0.12  # share of the arena side
# A mouse's centre cannot come closer to two walls at once than about half its length.
IN_CORNER = 0.16


def _wall_distances(condition: Condition, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance from each centre to the two nearest arena walls, as a share of the side (N×2);
    a round arena has one wall (the second distance is 1)."""
    dx, dy = x - condition.arena_center[0], y - condition.arena_center[1]
    if condition.arena_shape == "round":
        rim = (condition.arena_side / 2 - np.hypot(dx, dy)) / condition.arena_side
        return np.column_stack([rim, np.ones_like(rim)])
    angle = math.radians(condition.arena_angle_deg)
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    half = condition.arena_side / 2
    return np.column_stack([half - np.abs(u), half - np.abs(v)]) / condition.arena_side


@pytest.fixture(
    scope="module",
    params=[(c, p) for c in (*CONDITIONS, HELD_OUT_CONDITION) for p in POLARITIES],
    ids=lambda case: f"{case[0].name}-{case[1]}",
)
def tracked(request, tmp_path_factory):
    """One generated recording per condition × polarity, read back from mp4 and tracked."""
    condition, polarity = request.param
    folder = tmp_path_factory.mktemp(f"{condition.name}_{polarity}")
    video, truth_path = folder / "rec.mp4", folder / "truth.csv"
    write_recording(
        video,
        folder / "labels.csv",
        truth_path,
        condition=condition,
        seconds=SECONDS,
        seed=SEED,
        polarity=polarity,
    )
    truth = pd.read_csv(truth_path)
    track = track_frames(VideoReader(video))
    assert len(track) == len(truth)
    error = np.hypot(track.x - truth.x, track.y - truth.y).to_numpy()
    walls = _wall_distances(condition, truth.x.to_numpy(), truth.y.to_numpy())
    return condition, track, error, walls


# Behind a wide-angle lens and MJPEG compression (condition_5), a dark mouse at the dark rim is
# sometimes lost to the wall for a frame or two, as on real round arenas.
def _outliers(condition: Condition) -> float:
    return 0.03 if condition.lens else 0.02


@pytest.mark.slow  # 20 s per condition and polarity, drawn and tracked
def test_tracker_follows_the_mouse(tracked):
    condition, track, error, _ = tracked
    assert track.found.all()
    assert np.median(error) <= 1
    assert np.mean(error <= 5) >= 1 - _outliers(condition)


@pytest.mark.slow
def test_mouse_against_walls_and_in_corners_is_found(tracked):
    condition, _, error, walls = tracked
    near_wall = walls.min(axis=1) < NEAR_WALL
    in_corner = walls.max(axis=1) < IN_CORNER
    # The recording must exercise the case: many wall frames, some corner frames.
    assert near_wall.mean() >= 0.08
    assert condition.arena_shape == "round" or in_corner.sum() >= 5
    assert np.median(error[near_wall]) <= 1.5
    if not condition.lens:  # behind the lens, see _outliers: a few frames lost to the rim
        assert error[near_wall].max() <= 10


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_an_empty_frame_is_reported_not_found(condition):
    # A clip in which the mouse does not rest: a mouse that sat for half of it is the background.
    seed = {"condition_2": 1}.get(condition.name, 5)
    frames, truth = zip(*render_recording(condition, seconds=8, seed=seed), strict=True)
    background = estimate_background(frames[::4])
    tracker = MouseTracker(background)
    seen = tracker(frames[0])
    assert seen.found and math.dist((seen.x, seen.y), (truth[0].x, truth[0].y)) <= 2
    empty = tracker(background)  # the arena without the mouse
    assert not empty.found and math.isnan(empty.x) and empty.confidence == 0
    assert tracker.position == (seen.x, seen.y)  # crops stay where the mouse was last seen


def _hand_made(polarity: str, extra: str) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """A floor, and the same with one rotated ellipse ("mouse") plus a tail or a shadow."""
    floor, mouse = (235, 40) if polarity == "dark_on_light" else (30, 210)
    background = np.full((160, 200), floor, np.uint8)
    frame = background.copy()
    shadow = (3 * floor + 40) // 4  # darker than the floor, whatever the mouse's colour
    if extra == "tail":
        cv2.line(frame, (70, 58), (20, 20), mouse, 2)
    elif extra == "shadow":  # a soft dark copy beside the mouse, as a lamp casts it
        cv2.ellipse(frame, ((104, 80), (60, 28), 30), shadow, -1)
    centre = (90, 70)
    cv2.ellipse(frame, (centre, (60, 28), 30), mouse, -1)
    return background, frame, centre


@pytest.mark.parametrize("polarity", POLARITIES)
@pytest.mark.parametrize("extra", ["plain", "tail", "shadow"])
def test_centre_of_the_body_without_tail_or_shadow(polarity, extra):
    background, frame, centre = _hand_made(polarity, extra)
    for chosen in ("auto", polarity):
        found = MouseTracker(background, polarity=chosen)(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        assert found.found
        assert math.dist((found.x, found.y), centre) <= 1.5
        assert found.length == pytest.approx(60, rel=0.1)
        assert found.width == pytest.approx(28, rel=0.15)


def test_a_still_mouse_in_the_background_is_still_found():
    """The background holds the mouse (it never moved): the local-contrast search finds it."""
    _, frame, centre = _hand_made("dark_on_light", "plain")
    found = MouseTracker(frame)(frame)
    assert found.found and math.dist((found.x, found.y), centre) <= 2


def test_clutter_outside_the_arena_is_ignored():
    condition = next(c for c in CONDITIONS if c.clutter)
    frame, truth = next(render_recording(condition, seconds=1, seed=SEED))
    mask = find_arena(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert mask[round(truth.y), round(truth.x)]
    assert cv2.countNonZero(mask) < 0.6 * mask.size


def test_arena_filling_the_frame_gives_the_whole_frame():
    frame, _ = next(render_recording(CONDITIONS[0], seconds=1, seed=SEED))
    mask = find_arena(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert cv2.countNonZero(mask) == mask.size


@pytest.mark.parametrize("condition", [CONDITIONS[1], HELD_OUT_CONDITION], ids=lambda c: c.name)
def test_tracker_measures_the_arena_side(condition):
    frames = [f for f, _ in render_recording(condition, seconds=3, seed=SEED)]
    tracker = MouseTracker(estimate_background(frames))
    tracker(frames[0])
    assert tracker.arena_side == pytest.approx(condition.arena_side, rel=0.03)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((10, 10), np.float32), "uint8"),
        (np.zeros((10, 10, 4), np.uint8), "grey or H×W×3"),
        ([[0]], "numpy array"),
    ],
)
def test_bad_frame_is_rejected(frame, message):
    with pytest.raises(ValueError, match=message):
        MouseTracker(None)(frame)


def test_bad_polarity_and_mismatched_frames_are_rejected():
    with pytest.raises(ValueError, match="polarity must be one of"):
        MouseTracker(None, polarity="dark")
    tracker = MouseTracker(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="one MouseTracker per video"):
        tracker(np.zeros((16, 16), np.uint8))


@pytest.mark.slow  # a real-like lab recording drawn and tracked per case
@pytest.mark.parametrize(
    ("name", "polarity", "median_px"),
    [
        ("openfield_perspective", "dark_on_light", 1.0),  # walls in perspective, shadow, corners
        ("round_arena", "dark_on_light", 1.0),  # a small mouse in a round arena, dark ring
        # A mouse on textured bedding that rests and grooms in one place for much of the clip,
        # so its ghost is taken out of the background; where flecks are as light as a white mouse,
        # its outline blurs. Measured over seeds 1-4: 1.1-3.3 px (black mouse with its coat; 1.2-3.0
        # before), 0.3-10 px (white, before the coat; real footage: test_track_real.py). The
        # lab's rests made this harder (it was 1.0-1.5 px with a mouse that rarely sat still).
        ("ir_bedding", "dark_on_light", 2.0),
        ("ir_bedding", "light_on_dark", 3.0),
    ],
)
def test_tracker_on_the_real_like_conditions(name, polarity, median_px, tmp_path):
    video, truth_path = tmp_path / "rec.mp4", tmp_path / "truth.csv"
    condition = condition_by_name(name)
    write_recording(
        video,
        tmp_path / "labels.csv",
        truth_path,
        condition=condition,
        seconds=SECONDS,
        seed=4,
        polarity=polarity,
    )
    truth = pd.read_csv(truth_path)
    track = track_frames(VideoReader(video))
    error = np.hypot(track.x - truth.x, track.y - truth.y)
    assert track.found.mean() >= 0.99
    assert np.nanmedian(error) <= median_px
    assert np.nanmean(error <= 15) >= 0.95


def test_component_labels_never_overflow():
    # The tracker labels in 16 bits for speed, where that cannot overflow.
    sparse = np.zeros((600, 600), np.uint8)
    sparse[::2, ::2] = 1  # 90,000 separate pixels: more labels than 16 bits hold
    count, labels, _, _ = cv2.connectedComponentsWithStats(
        sparse, connectivity=8, ltype=_label_type(sparse)
    )
    assert count == 90_001 and labels.max() == 90_000
    assert _label_type(sparse[:300, :300]) == cv2.CV_16U


@pytest.mark.parametrize("seed", range(6))
def test_components_in_the_box_equal_the_whole_mask(seed):
    # Labelling only the box around the set pixels must number the components as OpenCV does over
    # the whole mask (the tracker picks candidates by label), wherever the box starts.
    rng = np.random.default_rng(seed)
    mask = np.zeros((121, 160), np.uint8)
    for _ in range(rng.integers(1, 8)):  # blobs and specks, some touching, at odd and even offsets
        x, y = rng.integers(3, 150), rng.integers(3, 110)
        w, h = rng.integers(1, 25, size=2)
        cv2.ellipse(
            mask, (int(x), int(y)), (int(w), int(h)), float(rng.uniform(0, 180)), 0, 360, 255, -1
        )
    mask[rng.random(mask.shape) < 0.002] = 255
    count, whole, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    labels, box_stats, box_centroids, (x0, y0) = _components(mask)
    assert x0 % 2 == 0 and y0 % 2 == 0
    assert len(box_stats) == count
    np.testing.assert_array_equal(box_stats[1:], stats[1:])
    np.testing.assert_allclose(box_centroids[1:], centroids[1:])
    np.testing.assert_array_equal(
        labels, whole[y0 : y0 + labels.shape[0], x0 : x0 + labels.shape[1]]
    )
    assert (whole[mask > 0] > 0).all() and labels.max() == count - 1


def test_components_of_an_empty_mask():
    labels, stats, _, _ = _components(np.zeros((40, 60), np.uint8))
    assert len(stats) == 1 and not labels.any()
    assert tuple(stats[0, :4]) == (0, 0, 60, 40)
