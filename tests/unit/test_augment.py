import numpy as np
import pytest

from ethoflow.vision.augment import AugmentSetting, augment_frame, sample_augmentation


def _frame() -> np.ndarray:
    frame = np.full((16, 16, 3), 100, np.uint8)
    frame[4:8, 2:5] = 200  # a bright patch left of centre
    return frame


def test_identity_setting_changes_nothing():
    frame = _frame()
    assert np.array_equal(augment_frame(frame, AugmentSetting(1.0, 1.0, False)), frame)


def test_flip_mirrors_left_right():
    frame = _frame()
    out = augment_frame(frame, AugmentSetting(1.0, 1.0, True))
    assert np.array_equal(out, frame[:, ::-1])


def test_brightness_scales_and_saturates():
    out = augment_frame(_frame(), AugmentSetting(1.5, 1.0, False))
    assert out[0, 0, 0] == 150 and out[5, 3, 0] == 255


def test_zoom_keeps_size_and_centre():
    frame = np.zeros((33, 33), np.uint8)
    frame[16, 16] = 255
    for zoom in (0.9, 1.2):
        out = augment_frame(frame, AugmentSetting(1.0, zoom, False))
        assert out.shape == frame.shape
        assert np.unravel_index(out.argmax(), out.shape) == (16, 16)
    zoomed_in = augment_frame(_frame(), AugmentSetting(1.0, 1.5, False))
    assert (zoomed_in == 200).sum() > (_frame() == 200).sum()  # the patch grew


def test_sampling_is_seeded_and_within_ranges():
    first = [sample_augmentation(np.random.default_rng(s)) for s in range(50)]
    again = [sample_augmentation(np.random.default_rng(s)) for s in range(50)]
    assert first == again
    assert all(0.75 <= a.brightness <= 1.25 and 0.9 <= a.zoom <= 1.15 for a in first)
    assert {a.flip for a in first} == {True, False}


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((2, 2, 2, 2), np.uint8)])
def test_bad_frames_are_refused(bad):
    with pytest.raises(ValueError, match="uint8 image"):
        augment_frame(bad, AugmentSetting(1.0, 1.0, False))


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="zoom_range must satisfy"):
        sample_augmentation(np.random.default_rng(0), zoom_range=(1.2, 1.1))
