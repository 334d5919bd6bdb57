import numpy as np
import pytest

from ethoflow.vision.fps import kept_frame_indices, shown_frames, standardize_fps


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
        # Slower than the target: each frame fills the slots that start within its span.
        (5, 10, 4, [0, 0, 1, 1, 2, 2, 3, 3]),
        (7.5, 10, 4, [0, 0, 1, 2, 3, 3]),
        (5, 10, 1, [0, 0]),
    ],
)
def test_kept_indices_are_exact(source, target, n, expected):
    assert kept_frame_indices(n, source, target).tolist() == expected
    streamed = [i for i, _ in standardize_fps(range(n), source, target)]
    assert streamed == expected


RATES = [5, 7.5, 10, 12, 12.5, 15, 24, 25, 29.97, 30, 50, 60]


@pytest.mark.parametrize("source", RATES)
def test_rows_are_the_recording_on_the_target_clock(source):
    """Every common camera rate: rows / target fps is the duration, to within one slot."""
    n = int(round(source * 62.8))  # a 62.8 s recording
    kept = kept_frame_indices(n, source, 10)
    assert len(kept) / 10 == pytest.approx(n / source, abs=0.1)
    gaps = np.diff(kept[:-1])  # the last slot may repeat the last frame
    # Kept frames are as evenly spaced as the source clock allows (0: a repeated frame).
    assert set(gaps.tolist()) <= {int(np.floor(source / 10)), int(np.ceil(source / 10))}
    assert [i for i, _ in standardize_fps(range(n), source, 10)] == kept.tolist()


@pytest.mark.parametrize("target", [5, 10, 25, 29.97])
@pytest.mark.parametrize("source", [*RATES, 23.976, 59.94, 120])
def test_a_stream_of_only_the_shown_frames_fills_every_slot(source, target):
    """A reader that makes pictures of the shown frames alone (None for the others) gives the
    clock the same frames; only a slot after the end may lack the last frame (read again)."""
    shown = shown_frames(source, target)
    for n in [*range(1, 40), 997]:
        lazy = standardize_fps((i if shown(i) else None for i in range(n)), source, target)
        got = [(i, f) for i, f in lazy if f is not None or i != n - 1]
        assert got == [(i, i) for i, _ in standardize_fps(range(n), source, target)][: len(got)]
        assert len(got) >= len(kept_frame_indices(n, source, target)) - 1
    share = sum(map(shown, range(3000))) / 3000
    assert share == pytest.approx(min(1.0, target / source), abs=0.01)


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
    ],
)
def test_bad_rates(source, target, problem):
    with pytest.raises(ValueError, match=problem):
        kept_frame_indices(10, source, target)
    with pytest.raises(ValueError, match=problem):
        next(standardize_fps(range(3), source, target))
