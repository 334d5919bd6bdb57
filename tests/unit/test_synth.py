import dataclasses
import hashlib

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.io.labels import read_labels
from ethoflow.io.video import VideoReader
from ethoflow.synth.behaviour import ACTIVITIES, _behaviour_timeline, lab_timeline
from ethoflow.synth.conditions import (
    CONDITIONS,
    HELD_OUT_CONDITION,
    REAL_LIKE_CONDITIONS,
    condition_by_name,
)
from ethoflow.synth.lab import synthesize_lab
from ethoflow.synth.mouse import coat_pattern
from ethoflow.synth.recording import render_recording, write_recording

POLARITIES = ("dark_on_light", "light_on_dark")
# The polarity each real-like condition is meant for: black mice in the open field and the round
# arena, a white mouse under infrared light.
NATURAL_POLARITY = {
    "openfield_perspective": "dark_on_light",
    "round_arena": "dark_on_light",
    "ir_bedding": "light_on_dark",
}


@pytest.fixture(scope="module")
def tiny_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    inventory = synthesize_lab(
        root / "raw",
        root / "truth",
        videos_per_condition=2,
        minutes=0.05,
        seed=3,
        light_mouse_fraction=0.5,
    )
    return root, inventory


def test_lab_layout_and_inventory(tiny_lab):
    root, inventory = tiny_lab
    assert sorted(inventory.condition.unique()) == sorted(c.name for c in CONDITIONS)
    assert len(inventory) == 2 * len(CONDITIONS)
    for row in inventory.itertuples():
        folder = root / "raw" / row.condition
        assert (folder / f"{row.video_id}.mp4").is_file()
        assert (folder / f"{row.video_id}.csv").is_file()
        assert (root / "truth" / f"{row.video_id}.csv").is_file()
    assert pd.read_csv(root / "truth" / "lab.csv").equals(inventory)


def test_labels_and_truth_match_the_frames(tiny_lab):
    root, inventory = tiny_lab
    for row in inventory.itertuples():
        condition = condition_by_name(row.condition)
        reader = VideoReader(root / "raw" / row.condition / f"{row.video_id}.mp4")
        labels = read_labels(root / "raw" / row.condition / f"{row.video_id}.csv")
        truth = pd.read_csv(root / "truth" / f"{row.video_id}.csv")
        decoded = sum(1 for _ in reader)
        assert reader.fps == pytest.approx(condition.fps)
        assert reader.size == condition.frame_size
        assert decoded == reader.frame_count == len(labels) == len(truth) == row.frames
        width, height = condition.frame_size
        assert truth.x.between(0, width).all() and truth.y.between(0, height).all()
        np.testing.assert_array_equal(labels.grooming, truth.behaviour == "grooming")
        np.testing.assert_array_equal(labels.rearing, truth.behaviour.str.endswith("rearing"))


def test_condition_1_uses_the_old_three_column_format(tiny_lab):
    root, inventory = tiny_lab
    for row in inventory.itertuples():
        header = pd.read_csv(root / "raw" / row.condition / f"{row.video_id}.csv").columns
        assert len(header) == (3 if row.condition == "condition_1" else 2)


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    kwargs = {"videos_per_condition": 1, "minutes": 0.02, "light_mouse_fraction": 0.0}
    a = synthesize_lab(tmp_path / "a", tmp_path / "at", seed=11, **kwargs)
    b = synthesize_lab(tmp_path / "b", tmp_path / "bt", seed=11, **kwargs)
    c = synthesize_lab(tmp_path / "c", tmp_path / "ct", seed=12, **kwargs)
    assert a.equals(b)
    for row in a.itertuples():
        name = f"{row.condition}/{row.video_id}.mp4"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert not a.seed.equals(c.seed)


def test_render_is_deterministic_and_polarity_changes_the_look():
    cond = CONDITIONS[0]
    first = [f for f, _ in render_recording(cond, seconds=0.5, seed=5)]
    again = [f for f, _ in render_recording(cond, seconds=0.5, seed=5)]
    light = [f for f, _ in render_recording(cond, seconds=0.5, seed=5, polarity="light_on_dark")]
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    # Dark mouse on a light floor: the frame is mostly bright; the reverse for a light mouse.
    assert first[0].mean() > 150 > light[0].mean()


def test_behaviour_shares_and_bout_lengths_follow_the_lab():
    bouts = pd.DataFrame(
        _behaviour_timeline(np.random.default_rng(0), 20 * 3600), columns=["behaviour", "seconds"]
    )
    share = bouts.groupby("behaviour").seconds.sum() / bouts.seconds.sum()
    assert share["grooming"] == pytest.approx(0.10, abs=0.03)
    assert share["rearing"] == pytest.approx(0.20, abs=0.04)
    grooming = bouts[bouts.behaviour == "grooming"].seconds
    rearing = bouts[bouts.behaviour == "rearing"].seconds
    assert grooming.between(5, 15).mean() > 0.6  # mostly 50-150 frames at 10 fps
    assert rearing.between(2, 3).mean() > 0.7  # mostly 20-30 frames
    assert rearing.max() <= 10 and grooming.max() <= 55


@pytest.mark.slow  # 4 minutes of recording drawn
def test_mice_visit_walls_and_corners_and_rear_at_both():
    cond = CONDITIONS[0]
    truth = pd.DataFrame([vars(t) for _, t in render_recording(cond, seconds=240, seed=2)])
    side = cond.arena_side
    to_wall = np.minimum.reduce([truth.x, truth.y, side - truth.x, side - truth.y])
    near_wall = to_wall < 0.2 * side
    assert near_wall.mean() > 0.4  # thigmotaxis
    corner = (np.minimum(truth.x, side - truth.x) < 0.15 * side) & (
        np.minimum(truth.y, side - truth.y) < 0.15 * side
    )
    assert corner.any()
    assert {"mid_rearing", "wall_rearing", "grooming"} <= set(truth.behaviour)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown recording condition 'condition_9'"):
        condition_by_name("condition_9")
    with pytest.raises(ValueError, match="polarity must be"):
        next(render_recording(CONDITIONS[0], seconds=1, seed=0, polarity="pink"))
    with pytest.raises(ValueError, match="videos_per_condition must be at least 1"):
        synthesize_lab(tmp_path, tmp_path, videos_per_condition=0, minutes=1, seed=0)


# sha256 of the frames and truth of `render_recording(condition, seconds=3, seed=5, polarity=...)`,
# pinned when the lab's mice got their coats (fur and shading): a change to the drawing
# must be deliberate (and re-pinned), never a side effect. (Measured with OpenCV 5.0.0 and NumPy
# 2.4.6; a different OpenCV build may round anti-aliased edges differently.)
PINNED_RECORDING_SHA256 = {  # condition: (dark_on_light, light_on_dark)
    "condition_1": (
        "bdf1e93092f36e921c0fdae4eeddb62e249e35bfdaf916ad745edc92c999bab6",
        "c0f10dd31ed8968f01e3ad9232ec35effddcd73669e0f3cc6edbf33e4e26760a",
    ),
    "condition_2": (
        "34096fc7660046e63dbfa15aca00a255ce42c1d6aca5b52bbbf554c68233512d",
        "7ebf2375524881971089ca5fb05d7552c62a44563a2fa10fdee245142c05534f",
    ),
    "condition_3": (
        "20bd7c031381fa99bd046e94fd9a4c87accd6b00616d2b92f898b99deffac1fa",
        "03188725ad1daa5425d59656bd78f17860fbb35074d18a3932f0f7c3d84ab6dc",
    ),
    "condition_5": (
        "953203259cdc5683d629d5017681998f61fd1d75050eae6abde0746151fdc64e",
        "7b2c46eeb1bd78c13a130e2e63dbecfa9a2750a0d1adc66bbc54190dd30b1b2b",
    ),
    "condition_4": (
        "874bb140f8cebb2104f9ac41c687cfeb989830833b1e86470a50349442e40665",
        "3c5feb1674885f32c2899890848b7424c6f5b7743ae10f2908426542ce64d505",
    ),
}


def _recording_sha256(condition, polarity):
    digest = hashlib.sha256()
    for frame, t in render_recording(condition, seconds=3, seed=5, polarity=polarity):
        digest.update(frame.tobytes())
        digest.update(f"{t.frame},{t.x!r},{t.y!r},{t.behaviour},{t.activity};".encode())
    return digest.hexdigest()


@pytest.mark.parametrize("polarity", POLARITIES)
@pytest.mark.parametrize("condition", (*CONDITIONS, HELD_OUT_CONDITION), ids=lambda c: c.name)
def test_lab_conditions_draw_the_pinned_recordings(condition, polarity):
    expected = PINNED_RECORDING_SHA256[condition.name][POLARITIES.index(polarity)]
    assert _recording_sha256(condition, polarity) == expected


@pytest.mark.parametrize("condition", REAL_LIKE_CONDITIONS, ids=lambda c: c.name)
def test_real_like_conditions_are_deterministic(condition):
    polarity = NATURAL_POLARITY[condition.name]
    first = list(render_recording(condition, seconds=0.5, seed=5, polarity=polarity))
    again = list(render_recording(condition, seconds=0.5, seed=5, polarity=polarity))
    other = list(render_recording(condition, seconds=0.5, seed=6, polarity=polarity))
    assert all(np.array_equal(a, b) and s == t for (a, s), (b, t) in zip(first, again, strict=True))
    assert not np.array_equal(first[0][0], other[0][0])
    assert first[0][0].shape == (*condition.frame_size[::-1], 3)


@pytest.mark.parametrize("condition", REAL_LIKE_CONDITIONS, ids=lambda c: c.name)
def test_truth_lies_on_the_mouse_and_ignores_its_shadow_and_reflection(condition):
    polarity = NATURAL_POLARITY[condition.name]
    # Flat light and no noise, so the mouse's grey level can be read off the frame.
    flat = dataclasses.replace(condition, light_gradient=0.0, vignette=0.0, noise_sigma=0.0)
    bare = dataclasses.replace(flat, shadow=0.0, reflection=0.0)
    with_shadow = list(render_recording(flat, seconds=2, seed=3, polarity=polarity))
    without = list(render_recording(bare, seconds=2, seed=3, polarity=polarity))
    # Shadow and reflection change the picture, not where the mouse is.
    assert [t for _, t in with_shadow] == [t for _, t in without]
    assert any(
        not np.array_equal(a, b) for (a, _), (b, _) in zip(with_shadow, without, strict=True)
    )
    # A dark mouse is drawn at most 60 × 1.08 (lamp), a light one at least 200 × 0.85.
    for frame, truth in with_shadow:
        level = int(frame[int(round(truth.y)), int(round(truth.x))].mean())
        assert level < 100 if polarity == "dark_on_light" else level > 160


def test_round_arena_sits_in_a_dark_ring_and_keeps_the_mouse_on_its_floor():
    condition = condition_by_name("round_arena")
    recording = list(render_recording(condition, seconds=6, seed=1))
    frame = cv2.cvtColor(recording[0][0], cv2.COLOR_BGR2GRAY).astype(float)
    (cx, cy), radius = condition.arena_center, condition.arena_side / 2
    wall = condition.wall_fraction * condition.arena_side
    floor = np.median(frame[int(cy) - 20 : int(cy) + 20, int(cx) - 20 : int(cx) + 20])
    for corner in (frame[:15, :15], frame[:15, -15:], frame[-15:, :15], frame[-15:, -15:]):
        assert corner.mean() < floor - 60
    ring = frame[int(cy), int(cx - radius + wall / 2)], frame[int(cy), int(cx + radius - wall / 2)]
    assert max(ring) < floor - 60
    centres = np.array([(t.x, t.y) for _, t in recording])
    assert (np.hypot(centres[:, 0] - cx, centres[:, 1] - cy) < radius - wall).all()


def test_perspective_walls_form_a_wide_band_between_floor_and_surround():
    condition = condition_by_name("openfield_perspective")
    frame, _ = next(render_recording(condition, seconds=1, seed=2))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    cx, cy = (int(c) for c in condition.arena_center)
    # From the floor's centre out to the frame edge, one profile per side (median over 7 lines).
    profiles = (
        np.median(gray[cy - 3 : cy + 4, cx::-1], axis=0),
        np.median(gray[cy - 3 : cy + 4, cx:], axis=0),
        np.median(gray[cy::-1, cx - 3 : cx + 4], axis=1),
        np.median(gray[cy:, cx - 3 : cx + 4], axis=1),
    )
    for profile in profiles:
        floor, surround = np.median(profile[:150]), np.median(profile[-8:])
        band = (profile > surround + 15) & (profile < floor - 15)
        longest = max(len(run) for run in "".join("1" if b else "0" for b in band).split("0"))
        # The inner wall face is about 9 % of the side wide, three times the plain wall band.
        assert longest >= 0.07 * condition.arena_side


def test_wall_sitting_adds_long_sits_against_the_walls():
    def still_stretches(condition):
        truth = pd.DataFrame([vars(t) for _, t in render_recording(condition, seconds=60, seed=1)])
        step = np.hypot(truth.x.diff(), truth.y.diff()).fillna(0.0)
        still = (step < 0.005 * condition.arena_side) & (truth.behaviour == "neutral")
        runs = (still != still.shift()).cumsum()
        seconds = still.groupby(runs).transform("sum") / condition.fps
        return truth, still & (seconds >= 5)

    plain = CONDITIONS[0]
    side = plain.arena_side

    def near_wall(truth):
        return np.minimum.reduce([truth.x, truth.y, side - truth.x, side - truth.y]) < 0.22 * side

    # Without sits, only rests (3-12 s bouts, anywhere) are still for long: pauses last 3 s at most.
    plain_truth, plain_still = still_stretches(plain)
    assert set(plain_truth.activity[plain_still]) <= {"resting"}
    truth, long_still = still_stretches(dataclasses.replace(plain, wall_sitting=1.0))
    # The sits add long stills, all of them against the walls.
    assert (long_still & near_wall(truth)).mean() > (
        plain_still & near_wall(plain_truth)
    ).mean() + 0.05
    assert (long_still & ~near_wall(truth)).mean() <= (plain_still & ~near_wall(plain_truth)).mean()


def test_real_like_lab_is_written(tmp_path):
    inventory = synthesize_lab(
        tmp_path / "raw",
        tmp_path / "truth",
        videos_per_condition=1,
        minutes=0.05,
        seed=1,
        conditions=REAL_LIKE_CONDITIONS,
    )
    assert list(inventory.condition) == [c.name for c in REAL_LIKE_CONDITIONS]
    assert list(inventory.video_id) == ["c6_v00", "c7_v00", "c8_v00"]
    for row in inventory.itertuples():
        condition = condition_by_name(row.condition)
        reader = VideoReader(tmp_path / "raw" / row.condition / f"{row.video_id}.mp4")
        truth = pd.read_csv(tmp_path / "truth" / f"{row.video_id}.csv")
        assert reader.size == condition.frame_size
        assert reader.frame_count == len(truth) == row.frames


def test_every_recording_of_20_s_or_more_shows_both_behaviours():
    for seed in range(300):
        seconds = 20 + seed % 60
        bouts = lab_timeline(np.random.default_rng(seed), np.random.default_rng([seed, 2]), seconds)
        starts = np.cumsum([0.0] + [b.seconds for b in bouts[:-1]])
        shown = {b.kind for b, start in zip(bouts, starts, strict=True) if start < seconds - 4}
        assert {"grooming", "rearing"} <= shown, (seed, seconds, bouts)
        for bout in bouts:
            if bout.kind == "grooming":  # phases cover the bout, in the chain's order
                assert bout.phases[-1][1] == pytest.approx(bout.seconds)
                assert all(a in ACTIVITIES for a, _ in bout.phases)


def test_truth_names_the_activity_behind_each_label():
    truth = pd.DataFrame([vars(t) for _, t in render_recording(CONDITIONS[0], seconds=60, seed=4)])
    assert (truth.behaviour == truth.activity.map(ACTIVITIES)).all()
    # Neutral is not only walking: the mouse also sniffs and rests; grooming has its sub-types.
    assert {"walking", "sniffing", "resting"} <= set(truth.activity)
    assert len(set(truth.activity) & {"paw_licking", "face_washing", "body_licking"}) >= 2


def test_camera_faults_drop_frames_and_distort_but_the_truth_stays_on_the_mouse():
    condition = CONDITIONS[3]  # round arena under infrared: flicker, lens, JPEG, dropped frames
    assert condition.lens and condition.jpeg_quality and condition.flicker
    # Flat light and no noise, so the mouse's grey level can be read off the frame.
    clean = dataclasses.replace(
        condition, light_gradient=0.0, vignette=0.0, noise_sigma=0.0, flicker=0.0, frame_drops=0.2
    )
    recording = list(render_recording(clean, seconds=4, seed=3))
    assert [t.frame for _, t in recording] == list(range(len(recording)))
    assert len(recording) < 0.9 * 4 * condition.fps  # about a fifth of the frames were skipped
    for frame, truth in recording:
        level = int(frame[int(round(truth.y)), int(round(truth.x))].mean())
        assert level < 100  # a dark mouse (≤ 60) on a 120 floor, after the lens moved it
    undistorted = dataclasses.replace(clean, lens=0.0)
    moved = [
        np.hypot(a.x - b.x, a.y - b.y)
        for (_, a), (_, b) in zip(
            recording, render_recording(undistorted, seconds=4, seed=3), strict=True
        )
    ]
    assert max(moved) > 1.0  # the lens does move the mouse in the picture


def test_a_coat_has_a_lit_back_and_hairs_along_the_body():
    body = 60.0
    coat = coat_pattern(np.random.default_rng(0), body)
    centre = coat.shape[0] // 2
    # Rows run across the body, columns from tail to nose: the back is lighter than the flanks
    # and than the head end, by 10-20 % of the mouse's contrast against the floor (hair aside).
    flank, nose = int(0.24 * body), int(0.5 * body)
    back = coat[centre - 2 : centre + 3, centre - 5 : centre + 6].mean()
    flanks = coat[[centre - flank, centre + flank], centre - 5 : centre + 6].mean()
    head = coat[centre - 2 : centre + 3, centre + nose - 5 : centre + nose + 6].mean()
    assert 0.03 <= back - flanks <= 0.25 and 0.03 <= back - head <= 0.25
    # Hairs lie along the body: neighbours along a row are more alike than across it.
    hair = coat - cv2.GaussianBlur(coat, (0, 0), 0.2 * body)
    along = np.corrcoef(hair[:, :-1].ravel(), hair[:, 1:].ravel())[0, 1]
    across = np.corrcoef(hair[:-1].ravel(), hair[1:].ravel())[0, 1]
    assert along > across + 0.1
    np.testing.assert_array_equal(coat, coat_pattern(np.random.default_rng(0), body))


def test_new_setup_draws_the_same_recording_twice_and_the_tracker_follows_it(tmp_path):
    """The set-up the champions label badly (issue 36): a white mouse, a tilted camera, a wide
    lens. Its labels must fail for the features' sake, never because the track is lost."""
    from ethoflow.io.video import open_recording
    from ethoflow.synth.conditions import NEW_SETUP
    from ethoflow.vision.openfield import track_frames
    from ethoflow.vision.quality import check_track
    from ethoflow.vision.track import MouseTracker

    paths = [tmp_path / f"{name}.mp4" for name in ("a", "b")]
    for video in paths:
        write_recording(
            video,
            video.with_suffix(".csv"),
            video.with_suffix(".truth.csv"),
            condition=NEW_SETUP,
            seconds=5,
            seed=4,
            polarity="dark_on_light",  # the set-up's own white mouse is drawn all the same
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()
    source = open_recording(paths[0])
    tracker = MouseTracker.for_recording(source)
    track, quality = check_track(track_frames(source, tracker=tracker), tracker, fps=source.fps)
    assert quality.verdict == "good", quality.summary()
    truth = pd.read_csv(paths[0].with_suffix(".truth.csv"))
    assert track.found.all()
    assert np.median(np.hypot(track.x - truth.x, track.y - truth.y)) <= 2
    # A light mouse on dark bedding.
    frame = next(iter(open_recording(paths[0])))
    x, y = int(round(truth.x[0])), int(round(truth.y[0]))
    assert frame[y, x].mean() > 150 > np.median(frame)
