import numpy as np
import pandas as pd
import pytest

from ethoflow.io.labels import read_labels
from ethoflow.io.video import VideoReader
from ethoflow.synth import (
    CONDITIONS,
    _behaviour_timeline,
    condition_by_name,
    render_recording,
    synthesize_lab,
)


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
    assert sorted(inventory.condition.unique()) == [c.name for c in CONDITIONS]
    assert len(inventory) == 6
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
