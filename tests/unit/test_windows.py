import numpy as np
import pytest

from ethoflow.models.windows import balanced_weights, frames_from_windows, make_windows


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
    with pytest.raises(ValueError, match="both positive and negative"):
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
