import numpy as np
import pytest

from ethoflow.preprocess.fps import kept_frame_indices, standardize_fps


@pytest.mark.parametrize(
    ("source", "target", "n", "expected"),
    [
        (30, 10, 10, [0, 3, 6, 9]),
        (25, 10, 11, [0, 3, 5, 8, 10]),
        (10, 10, 4, [0, 1, 2, 3]),
        (20, 10, 5, [0, 2, 4]),
        (15, 10, 7, [0, 2, 3, 5, 6]),
        (29.97, 10, 7, [0, 3, 6]),
        (12.5, 10, 6, [0, 2, 3, 4, 5]),
        (30, 10, 0, []),
    ],
)
def test_kept_indices_are_exact(source, target, n, expected):
    assert kept_frame_indices(n, source, target).tolist() == expected
    streamed = [i for i, _ in standardize_fps(range(n), source, target)]
    assert streamed == expected


@pytest.mark.parametrize(("source", "target"), [(30, 10), (25, 10), (10, 10), (29.97, 10), (24, 7)])
def test_kept_count_matches_the_target_clock(source, target):
    n = 3000
    kept = kept_frame_indices(n, source, target)
    assert len(kept) == pytest.approx(n * target / source, abs=1)
    gaps = np.diff(kept)
    # Kept frames are as evenly spaced as the source clock allows.
    assert set(gaps.tolist()) <= {int(np.floor(source / target)), int(np.ceil(source / target))}


def test_streaming_keeps_the_frames_themselves():
    frames = (f"frame{i}" for i in range(9))
    assert [f for _, f in standardize_fps(frames, 30, 10)] == ["frame0", "frame3", "frame6"]


def test_label_rows_follow_the_kept_frames():
    labels = np.arange(30) % 7
    kept = kept_frame_indices(len(labels), 30, 10)
    assert labels[kept].tolist() == [labels[i] for i in range(0, 30, 3)]


@pytest.mark.parametrize(
    ("source", "target", "problem"),
    [
        (0, 10, "source_fps must be a positive number, got 0"),
        (float("nan"), 10, "source_fps must be a positive number"),
        (30, 0, "target_fps must be a positive number"),
        (5, 10, "cannot raise the frame rate from 5 to 10 fps"),
    ],
)
def test_bad_rates(source, target, problem):
    with pytest.raises(ValueError, match=problem):
        kept_frame_indices(10, source, target)
    with pytest.raises(ValueError, match=problem):
        next(standardize_fps(range(3), source, target))
