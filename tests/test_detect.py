import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.io.video import VideoReader
from ethoflow.preprocess.crop import crop_around
from ethoflow.preprocess.detect import MouseTracker, detect_mouse_center, find_arena
from ethoflow.synth import CONDITIONS, Condition, render_recording, write_recording

POLARITIES = ("dark_on_light", "light_on_dark")
# Seed 4 sends the mouse along the walls and into corners in all three conditions.
SEED = 4
SECONDS = 20
NEAR_WALL = 0.12  # share of the arena side
# A mouse's centre cannot come closer to two walls at once than about half its length.
IN_CORNER = 0.16


def _wall_distances(condition: Condition, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance from each centre to the two nearest arena walls, as a share of the side (N×2)."""
    angle = math.radians(condition.arena_angle_deg)
    dx, dy = x - condition.arena_center[0], y - condition.arena_center[1]
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    half = condition.arena_side / 2
    return np.column_stack([half - np.abs(u), half - np.abs(v)]) / condition.arena_side


@pytest.fixture(
    scope="module",
    params=[(c, p) for c in CONDITIONS for p in POLARITIES],
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
    tracker = MouseTracker()
    centres = np.array([tracker(frame) for frame in VideoReader(video)])
    assert len(centres) == len(truth)
    error = np.hypot(centres[:, 0] - truth.x, centres[:, 1] - truth.y)
    walls = _wall_distances(condition, truth.x.to_numpy(), truth.y.to_numpy())
    return condition, polarity, tracker, error, walls


def test_tracker_follows_the_mouse(tracked):
    _, polarity, tracker, error, _ = tracked
    assert tracker.polarity == polarity  # "auto" resolved from the floor
    assert np.median(error) <= 5
    assert np.mean(error <= 15) >= 0.98


def test_mouse_against_walls_and_in_corners_is_found(tracked):
    _, _, _, error, walls = tracked
    near_wall = walls.min(axis=1) < NEAR_WALL
    in_corner = walls.max(axis=1) < IN_CORNER
    # The recording must exercise the case: many wall frames, some corner frames.
    assert near_wall.mean() >= 0.2 and in_corner.sum() >= 5
    assert error[near_wall].max() <= 15


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_tracker_keeps_last_centre_through_an_empty_frame(condition):
    frames, truth = zip(*render_recording(condition, seconds=8, seed=SEED), strict=True)
    xy = np.array([(t.x, t.y) for t in truth])
    # An empty arena: frame i with the mouse's surroundings taken from frame j, where the
    # mouse is far away.
    apart = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    i, j = np.unravel_index(np.argmax(apart), apart.shape)
    radius = 0.25 * condition.arena_side
    assert np.hypot(*(xy[j] - xy[i])) > 2 * radius
    hole = np.zeros(frames[i].shape[:2], np.uint8)
    cv2.circle(hole, (round(xy[i, 0]), round(xy[i, 1])), round(radius), 255, -1)
    empty = np.where(hole[..., None] > 0, frames[j], frames[i])

    tracker = MouseTracker()
    h, w = empty.shape[:2]
    assert tracker(empty) == ((w - 1) / 2, (h - 1) / 2)  # nothing found yet: frame centre
    assert detect_mouse_center(empty, arena_mask=tracker.arena) is None
    seen = tracker(frames[j])
    assert np.hypot(*(np.array(seen) - xy[j])) <= 5
    assert tracker(empty) == seen


def _hand_made(polarity: str, extra: str) -> tuple[np.ndarray, tuple[float, float]]:
    """A 2-D frame with one rotated ellipse ("mouse"), plus a tail or floor lines; its centre."""
    floor, mouse = (235, 40) if polarity == "dark_on_light" else (30, 210)
    frame = np.full((160, 200), floor, np.uint8)
    tone = (floor + 3 * mouse) // 4  # nearer the mouse than the floor: past the threshold
    # Drawn first: the mouse lies on the floor lines and on the base of its tail.
    if extra == "tail":
        cv2.line(frame, (70, 58), (20, 20), tone, 2)
    elif extra == "lines":
        cv2.line(frame, (100, 15), (100, 145), tone, 2)
        cv2.line(frame, (15, 80), (185, 80), tone, 2)
    centre = (90, 70)
    cv2.ellipse(frame, (centre, (60, 28), 30), mouse, -1)
    return frame, centre


@pytest.mark.parametrize("polarity", POLARITIES)
@pytest.mark.parametrize("extra", ["plain", "tail", "lines"])
def test_detect_on_hand_made_frames(polarity, extra):
    frame, centre = _hand_made(polarity, extra)
    for chosen in ("auto", polarity):
        found = detect_mouse_center(frame, polarity=chosen)
        assert found is not None
        assert math.dist(found, centre) <= 1.5
    colour = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    assert math.dist(detect_mouse_center(colour), centre) <= 1.5


def test_clutter_outside_the_arena_is_ignored():
    condition = next(c for c in CONDITIONS if c.clutter)
    frame, truth = next(render_recording(condition, seconds=1, seed=SEED))
    mask = find_arena(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    # The mask is the arena (its floor at least), not the cluttered frame around it.
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w]
    walls = _wall_distances(condition, xx.ravel(), yy.ravel()).min(axis=1).reshape(h, w)
    side = condition.arena_side
    assert (mask[walls > 0.04] == 255).all()
    assert (mask[walls < -3 / side] == 0).all()
    assert math.dist(detect_mouse_center(frame, arena_mask=mask), (truth.x, truth.y)) <= 5


def test_arena_filling_the_frame_gives_the_whole_frame():
    condition = next(c for c in CONDITIONS if c.arena_side == max(c.frame_size))
    frame, _ = next(render_recording(condition, seconds=1, seed=SEED))
    assert (find_arena(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == 255).all()


@pytest.mark.parametrize("channels", [None, 3])
def test_crop_shape_and_centre(channels):
    h, w = 90, 120
    values = np.arange(h * w, dtype=np.int32).reshape(h, w)
    frame = values if channels is None else np.repeat(values[..., None], channels, axis=2)
    crop = crop_around(frame, (60.4, 40.6), size=32)
    assert crop.shape == (32, 32) + frame.shape[2:]
    assert np.array_equal(crop[16, 16], frame[41, 60])
    assert np.array_equal(crop, frame[41 - 16 : 41 + 16, 60 - 16 : 60 + 16])


def test_crop_pads_at_the_corner_by_replicating_the_edge():
    frame = np.arange(20 * 30, dtype=np.int32).reshape(20, 30)
    crop = crop_around(frame, (0, 0), size=10)
    assert crop.shape == (10, 10)
    assert np.array_equal(crop[5:, 5:], frame[:5, :5])
    assert (crop[:5, :5] == frame[0, 0]).all()
    assert np.array_equal(crop[:5, 5:], np.broadcast_to(frame[0, :5], (5, 5)))
    assert np.array_equal(crop[5:, :5], np.broadcast_to(frame[:5, :1], (5, 5)))
    far = crop_around(frame, (1000.0, -1000.0), size=4)
    assert (far == frame[0, -1]).all()


def test_crop_of_a_frame_smaller_than_the_crop():
    frame = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)
    crop = crop_around(frame, (1.5, 1.0), size=9)
    assert crop.shape == (9, 9, 3)
    # Pixel (x=2, y=1) sits at the middle; the rest is the frame, edges repeated outward.
    assert np.array_equal(crop[4, 4], frame[1, 2])
    assert np.array_equal(crop[3:6, 2:6], frame)
    assert np.array_equal(crop[0, 0], frame[0, 0]) and np.array_equal(crop[-1, -1], frame[-1, -1])


@pytest.mark.parametrize("size", [0, -5, 2.5, True])
def test_crop_rejects_bad_size(size):
    with pytest.raises(ValueError, match="size must be a positive integer"):
        crop_around(np.zeros((10, 10), np.uint8), (5, 5), size=size)


def test_crop_rejects_bad_frame_and_centre():
    with pytest.raises(ValueError, match="frame must be"):
        crop_around(np.zeros(10, np.uint8), (5, 5))
    with pytest.raises(ValueError, match="center must be finite"):
        crop_around(np.zeros((10, 10), np.uint8), (float("nan"), 5))


def test_bad_polarity_is_rejected():
    frame = np.zeros((32, 32), np.uint8)
    with pytest.raises(ValueError, match="'bright'"):
        detect_mouse_center(frame, polarity="bright")
    with pytest.raises(ValueError, match="'dark'"):
        MouseTracker(polarity="dark")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((32, 32), np.float32), "dtype float32"),
        (np.zeros((32, 32, 4), np.uint8), r"shape \(32, 32, 4\)"),
        (np.zeros(32, np.uint8), r"shape \(32,\)"),
        ([[0, 1], [1, 0]], "numpy array"),
    ],
)
def test_bad_frame_is_rejected(frame, message):
    with pytest.raises(ValueError, match=message):
        detect_mouse_center(frame)
    with pytest.raises(ValueError, match=message):
        MouseTracker()(frame)
    with pytest.raises(ValueError, match=message):
        find_arena(frame)


def test_arena_mask_of_the_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="arena_mask shape"):
        detect_mouse_center(np.zeros((32, 32), np.uint8), arena_mask=np.zeros((16, 16), np.uint8))


def test_tracker_looks_again_when_the_first_frame_shows_no_arena():
    condition = next(c for c in CONDITIONS if c.clutter)
    frame, truth = next(render_recording(condition, seconds=1, seed=SEED))
    tracker = MouseTracker()
    tracker(np.zeros_like(frame))  # a black first frame, as some recordings start
    assert (tracker.arena == 255).all()
    assert math.dist(tracker(frame), (truth.x, truth.y)) <= 5
    assert np.count_nonzero(tracker.arena) < 0.6 * tracker.arena.size
    with pytest.raises(ValueError, match="one MouseTracker per video"):
        tracker(frame[:100])


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_tracker_measures_the_arena_side(condition, tmp_path):
    """The camera's scale for cm distances: the arena's side in pixels, within 3 %."""
    video = tmp_path / "v.mp4"
    write_recording(
        video, tmp_path / "v.csv", tmp_path / "t.csv", condition=condition, seconds=1, seed=2
    )
    tracker = MouseTracker()
    assert tracker.arena_side is None
    for frame in VideoReader(video):
        tracker(frame)
    assert tracker.arena_side == pytest.approx(condition.arena_side, rel=0.03)
