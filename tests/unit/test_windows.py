import numpy as np
import pytest

from ethoflow.models.windows import (
    balanced_weights,
    frames_from_windows,
    make_windows,
    with_labelled_frames,
)


def _sequences(lengths, n_features=3):
    rng = np.random.default_rng(0)
    features = [rng.normal(size=(n, n_features)).astype(np.float32) for n in lengths]
    targets = [(rng.random(n) < 0.2).astype(np.float32) for n in lengths]
    return features, targets


@pytest.mark.parametrize("lengths", [[10], [7, 16, 3], [1, 8], [25, 9]])
def test_non_overlapping_windows_cover_every_frame_exactly_once(lengths):
    features, targets = _sequences(lengths)
    windows = make_windows(features, targets, window=8)
    counts = [np.zeros(n, int) for n in lengths]
    for row, (video, start) in enumerate(zip(windows.video, windows.start, strict=True)):
        valid = windows.mask[row]
        # Valid frames form a prefix: padding sits at the end and is masked.
        assert valid[: valid.sum()].all() and not valid[valid.sum() :].any()
        counts[video][start : start + valid.sum()] += 1
        np.testing.assert_array_equal(
            windows.x[row, valid], features[video][start : start + valid.sum()]
        )
        np.testing.assert_array_equal(
            windows.y[row, valid, 0], targets[video][start : start + valid.sum()]
        )
        assert (windows.x[row, ~valid] == 0).all()
    assert all((c == 1).all() for c in counts)
    recovered = frames_from_windows(windows.x[..., 0], windows, lengths)
    for sequence, values in zip(features, recovered, strict=True):
        np.testing.assert_array_equal(values, sequence[:, 0])


def test_windows_never_cross_videos():
    features, targets = _sequences([5, 5])
    windows = make_windows(features, targets, window=4)
    assert windows.video.tolist() == [0, 0, 1, 1]
    assert windows.start.tolist() == [0, 4, 0, 4]
    assert windows.mask.sum(axis=1).tolist() == [4, 1, 4, 1]


def test_overlapping_training_windows_reach_the_tail_and_average_back():
    features, targets = _sequences([11])
    windows = make_windows(features, targets, window=4, stride=3)
    assert windows.start.tolist() == [0, 3, 6, 9]
    back = frames_from_windows(windows.x[..., 1], windows, [11])[0]
    np.testing.assert_allclose(back, features[0][:, 1], rtol=1e-6)


def test_balanced_weights_make_classes_count_equally():
    features, targets = _sequences([40, 23])
    windows = make_windows(features, targets, window=8)
    weights = balanced_weights(windows)
    positive = windows.y[..., 0] > 0.5
    assert weights[~windows.mask].sum() == 0
    assert weights[positive & windows.mask].sum() == pytest.approx(
        weights[~positive & windows.mask].sum()
    )
    assert weights[windows.mask].mean() == pytest.approx(1.0)


def test_balancing_needs_both_classes():
    windows = make_windows([np.zeros((4, 2), np.float32)], [np.zeros(4)], window=4)
    with pytest.raises(ValueError, match="both positive and negative labelled"):
        balanced_weights(windows)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"window": 0}, "must be positive"),
        ({"window": 4, "stride": 5}, "would skip frames"),
    ],
)
def test_bad_window_settings(kwargs, problem):
    features, targets = _sequences([6])
    with pytest.raises(ValueError, match=problem):
        make_windows(features, targets, **kwargs)


def test_mismatched_targets():
    features, targets = _sequences([6])
    with pytest.raises(ValueError, match="6 frames but 5 targets"):
        make_windows(features, [targets[0][:5]], window=4)


# --- unknown frames (NaN targets) -------------------------------------------------------------


def test_unknown_frames_are_not_labelled_and_their_targets_are_zero():
    features, _ = _sequences([6, 3])
    targets = [np.array([1, np.nan, 0, np.nan, 1, 1]), np.array([np.nan, 1, 0])]
    windows = make_windows(features, targets, window=4)
    # Rows: video 0 at 0 and 4 (2 frames, 2 padding), video 1 at 0 (3 frames, 1 padding).
    assert windows.labelled.tolist() == [
        [True, False, True, False],
        [True, True, False, False],
        [False, True, True, False],
    ]
    assert not np.isnan(windows.y).any()
    assert windows.y[..., 0].tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0]]
    unlabelled = make_windows(features, window=4)
    np.testing.assert_array_equal(unlabelled.labelled, unlabelled.mask)


def test_weights_balance_labelled_frames_only_and_ignore_what_unknown_frames_hide():
    # Positives hidden under unknown frames: whatever the hidden truth, the weights are the
    # weights of the labelled frames alone, and 0 on the unknown ones.
    rng = np.random.default_rng(1)
    features, truth = _sequences([30])
    truth = truth[0].copy()
    truth[:4] = [1, 0, 1, 0]  # both classes among the labelled frames
    hidden = np.zeros(30, bool)
    hidden[10:22] = True
    weights = []
    for hidden_truth in (np.zeros(12), np.ones(12), rng.integers(0, 2, 12)):
        known = truth.copy()
        known[hidden] = hidden_truth
        targets = np.where(hidden, np.nan, known)
        weights.append(balanced_weights(make_windows(features, [targets], window=8)))
    for other in weights[1:]:
        np.testing.assert_array_equal(other, weights[0])
    frames = weights[0].reshape(-1)[:30]
    assert (frames[hidden] == 0).all()
    labels = truth[~hidden] > 0.5
    assert frames[~hidden][labels].sum() == pytest.approx(frames[~hidden][~labels].sum())
    assert frames[~hidden].mean() == pytest.approx(1.0)
    # Counting them as negatives instead would change every labelled frame's weight.
    as_negatives = balanced_weights(
        make_windows(features, [np.where(hidden, 0.0, truth)], window=8)
    )
    assert not np.allclose(as_negatives.reshape(-1)[:30][~hidden], frames[~hidden])


def test_balancing_needs_labelled_frames_of_both_classes():
    # The only positives are unknown: nothing to learn the behaviour from.
    targets = np.array([0, 0, np.nan, np.nan, 0, 0])
    windows = make_windows([np.zeros((6, 2), np.float32)], [targets], window=4)
    with pytest.raises(ValueError, match="grooming labels hold 0 positive and 4 negative"):
        balanced_weights(windows, "grooming labels")


def test_windows_without_labelled_frames_are_dropped_for_training():
    features, _ = _sequences([12])
    targets = np.r_[[0, 1, 0, 1], np.full(8, np.nan)]
    windows = make_windows(features, [targets], window=4, stride=2)
    kept = with_labelled_frames(windows)
    assert windows.start.tolist() == [0, 2, 4, 6, 8]
    assert kept.start.tolist() == [0, 2]
    np.testing.assert_array_equal(kept.x, windows.x[:2])
    np.testing.assert_array_equal(kept.labelled, windows.labelled[:2])
