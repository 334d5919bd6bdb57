import numpy as np
import pytest

from ethoflow.vision.crop import crop_around


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


@pytest.mark.parametrize("shape", [(50, 70), (50, 70, 1), (50, 70, 3)])
def test_crop_equals_edge_replication_anywhere(shape):
    frame = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    for x, y in np.random.default_rng(1).uniform(-40, 110, (200, 2)):
        crop = crop_around(frame, (x, y), size=32)
        # Reference: every crop pixel is the frame pixel nearest to it.
        rows = np.clip(np.arange(32) + np.floor(y + 0.5).astype(int) - 16, 0, shape[0] - 1)
        cols = np.clip(np.arange(32) + np.floor(x + 0.5).astype(int) - 16, 0, shape[1] - 1)
        assert np.array_equal(crop, frame[rows[:, None], cols[None, :]]), (x, y)


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
