import tracemalloc
from dataclasses import replace

import cv2
import numpy as np
import pytest

from ethoflow.errors import InputError
from ethoflow.io.video import (
    ImageFolder,
    VideoInfo,
    VideoReader,
    check_video_info,
    natural_key,
    probe_video,
)
from ethoflow.synth.conditions import CONDITIONS


def test_reader_reports_metadata_of_a_generated_mp4(tiny_recording):
    reader = VideoReader(tiny_recording["video"])
    assert reader.fps == pytest.approx(CONDITIONS[1].fps)
    assert reader.size == CONDITIONS[1].frame_size
    assert reader.frame_count == len(reader) == 90


def test_reader_yields_every_frame_once_and_can_restart(tiny_recording):
    reader = VideoReader(tiny_recording["video"])
    shapes = {frame.shape for frame in reader}
    assert shapes == {(360, 480, 3)}
    assert sum(1 for _ in reader) == 90


def test_reader_streams_without_holding_the_video(tiny_recording):
    reader = VideoReader(tiny_recording["video"])
    frame_bytes = 360 * 480 * 3
    tracemalloc.start()
    try:
        count = 0
        for frame in reader:
            assert frame.dtype == np.uint8
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 90
    assert peak < 4 * frame_bytes  # a whole video would be 90 frames


def test_reader_makes_pictures_of_the_shown_frames_only(tiny_recording):
    reader = VideoReader(tiny_recording["video"])
    every_third = list(reader.frames(lambda index: index % 3 == 0))
    assert len(every_third) == 90
    assert all((frame is None) == (index % 3 != 0) for index, frame in enumerate(every_third))
    for index, frame in enumerate(reader):
        if index % 3 == 0:
            np.testing.assert_array_equal(every_third[index], frame)


def test_iteration_is_lazy(tiny_recording):
    frames = iter(VideoReader(tiny_recording["video"]))
    first = next(frames)
    assert first.shape == (360, 480, 3)
    frames.close()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "video file is empty"),
        (b"this is not a video\n" * 100, "cannot be opened as a video"),
        (bytes(range(256)) * 64, "cannot be opened as a video"),
    ],
)
def test_bad_files_name_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as info:
        VideoReader(path)
    assert info.value.path == path


def test_truncated_video_is_rejected(tmp_path, tiny_recording):
    path = tmp_path / "cut.mp4"
    path.write_bytes(tiny_recording["video"].read_bytes()[:2000])
    with pytest.raises(InputError, match=str(path)):
        probe_video(path)


def test_truncated_avi_says_how_many_frames_decode(tmp_path, tiny_recording):
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 30, (480, 360))
    for frame in VideoReader(tiny_recording["video"]):
        writer.write(frame)
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    capture, decodable = cv2.VideoCapture(str(cut)), 0
    while capture.read()[0]:
        decodable += 1
    capture.release()
    assert 30 < decodable < 60
    with pytest.raises(InputError, match=f"header says 90 frames but only {decodable} decode"):
        probe_video(cut)


def test_image_names_sort_by_their_numbers():
    names = ["frame10.png", "frame2.png", "Frame1.png", "frame0.png", "frame11.png"]
    assert sorted(names, key=natural_key) == [
        "frame0.png",
        "Frame1.png",
        "frame2.png",
        "frame10.png",
        "frame11.png",
    ]


def test_image_folder_names_the_first_image_of_another_size(tmp_path):
    for i in range(12):
        size = (32, 24) if i in (4, 11) else (64, 48)
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((size[1], size[0], 3), i * 20, np.uint8))
    folder = ImageFolder(tmp_path)
    with pytest.raises(InputError) as sampled:
        folder.sample(3)  # frames 0, 6 and 11: f11 is met before f4
    with pytest.raises(InputError) as streamed:
        list(folder)
    assert sampled.value.path == streamed.value.path == tmp_path / "f4.png"
    assert "is 32x24 pixels but the first image, f0.png, is 64x48" in sampled.value.problem


def test_image_folder_of_fewer_than_min_frames_is_refused(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="only 3 frame image"):
        ImageFolder(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="video file not found"):
        probe_video(tmp_path / "absent.mp4")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"fps": 0.0}, "video reports fps 0; a frame rate above 0 is required"),
        ({"fps": float("nan")}, "video reports fps nan"),
        ({"fps": 0.2}, "video reports 0.2 fps, less than any lab camera; its header is wrong"),
        ({"fps": 1000.0}, "video reports 1000 fps, more than any lab camera; its header is wrong"),
        ({"frame_count": 0}, "no decodable frames"),
        ({"width": 0}, "invalid frame size 0x240"),
    ],
)
def test_unusable_metadata_is_rejected(tmp_path, fields, problem):
    # FFmpeg reads a rate of 0 in a header as 25 fps: no file here reads back as fps 0.
    info = VideoInfo(path=tmp_path / "v.mp4", fps=10.0, frame_count=5, width=320, height=240)
    with pytest.raises(InputError, match=problem):
        check_video_info(replace(info, **fields))
