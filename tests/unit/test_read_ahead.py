"""The read-ahead thread: order kept, memory bounded, and it ends whatever goes wrong on either
side; featurisation through it gives the features of the serial pipeline."""

import dataclasses
import itertools
import threading

import numpy as np
import pytest

import ethoflow.features.featurization as featurization_module
from ethoflow.config import Settings
from ethoflow.features.cnn import extract_features
from ethoflow.features.featurization import Featurization
from ethoflow.io.video import VideoReader
from ethoflow.runtime.read_ahead import read_ahead
from ethoflow.vision.crop import crop_around
from ethoflow.vision.fps import shown_frames, standardize_fps
from ethoflow.vision.track import MouseTracker


def _read_ahead_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ethoflow-")]


class _Source:
    """Counts what it produced and whether it was closed."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.produced = 0
        self.closed = False
        self.fail_at = fail_at

    def __iter__(self):
        try:
            for i in itertools.count():
                if i == self.fail_at:
                    raise OSError(f"cannot decode frame {i}")
                self.produced += 1
                yield i
        finally:
            self.closed = True


def test_items_arrive_in_order_and_the_thread_ends():
    with read_ahead(iter(range(100)), depth=4) as items:
        assert list(items) == list(range(100))
    assert _read_ahead_threads() == []


def test_an_error_in_the_source_reaches_the_consumer_after_the_items_before_it():
    source = _Source(fail_at=10)
    received = []
    with pytest.raises(OSError, match="cannot decode frame 10"), read_ahead(source, 3) as items:
        for item in items:
            received.append(item)
    assert received == list(range(10))
    assert source.closed
    assert _read_ahead_threads() == []


def test_an_error_in_the_consumer_stops_the_producer_within_the_queue_bound():
    source = _Source()  # endless: only the consumer's exit stops it
    with pytest.raises(MemoryError), read_ahead(source, 5) as items:
        for item in items:
            if item == 20:
                raise MemoryError("the network ran out of memory")
    assert _read_ahead_threads() == []
    assert source.closed
    # consumed 21, at most 5 queued and one in the producer's hand
    assert source.produced <= 21 + 5 + 1


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"), read_ahead(iter([]), 0):
        pass


@pytest.fixture(scope="module")
def cnn_featurization():
    """A CNN featurisation on small crops, and its extractor."""
    settings = Settings.model_validate({"features": {"cnn": True}, "ingest": {"crop_size": 64}})
    featurization = Featurization.from_settings(settings)
    return featurization, featurization.build_extractor()


def test_features_through_the_threads_equal_the_serial_pipeline(tiny_recording, cnn_featurization):
    featurization, extractor = cnn_featurization
    got = featurization.featurize_video(tiny_recording["video"], extractor)

    reader = VideoReader(tiny_recording["video"])
    tracker = MouseTracker.for_recording(reader)
    crops = []
    for _, frame in standardize_fps(reader, reader.fps, featurization.target_fps):
        tracker(frame)
        crops.append(crop_around(frame, tracker.crop_position(frame.shape), 64))
    serial = np.concatenate(list(extract_features(crops, extractor, batch_size=8)))

    assert len(got.track) == len(crops)
    np.testing.assert_allclose(
        got.features[:, : extractor.n_features], serial, rtol=1e-5, atol=1e-5
    )
    assert _read_ahead_threads() == []


def test_a_failing_network_leaves_no_thread_behind(tiny_recording, cnn_featurization, monkeypatch):
    """The network fails after its first batch: the error surfaces, both threads end."""
    real = featurization_module.extract_features

    def fails_after_one_batch(crops, extractor, *, batch_size):
        batches = real(crops, extractor, batch_size=batch_size)
        yield next(batches)
        raise MemoryError("out of memory in the second batch")

    monkeypatch.setattr(featurization_module, "extract_features", fails_after_one_batch)
    featurization, extractor = cnn_featurization
    featurization = dataclasses.replace(featurization, batch_size=4)
    with pytest.raises(MemoryError, match="second batch"):
        featurization.featurize_video(tiny_recording["video"], extractor)
    assert _read_ahead_threads() == []


def test_a_slot_after_the_end_gets_the_last_frame_by_seeking(tiny_recording):
    """At 10.4 fps the clock's last slot starts after the 90th frame's start: the stream, which
    made pictures of the shown frames only, reads that frame again."""
    reader = VideoReader(tiny_recording["video"])
    assert shown_frames(reader.fps, 10.4)(89) is False
    lazy = featurization_module._on_clock(
        reader, reader.frames(shown_frames(reader.fps, 10.4)), 10.4
    )
    got = list(lazy)
    serial = list(standardize_fps(reader, reader.fps, 10.4))
    assert [i for i, _ in got] == [i for i, _ in serial]
    assert got[-1][0] == 89
    for (_, frame), (_, expected) in zip(got, serial, strict=True):
        np.testing.assert_array_equal(frame, expected)
