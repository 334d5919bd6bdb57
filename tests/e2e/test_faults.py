"""Faults a lab meets when labelling: the real ``ethoflow label`` command line, real (untrained,
tiny) champions in a real MLflow registry, and broken or odd video files made here.

For each fault: the message (its key words), the exit status (0 all labelled or skipped, 1 some
quarantined, 2 nothing done) and that nothing is lost or half-written: earlier outputs intact, no
temporary files left in the output folder, and ``report.csv`` listing every video of the batch.

The champions are posture-only (``features.cnn: false``: no ResNet50), so a batch takes seconds.
Killing ``ethoflow label`` mid-batch is tested in ``test_label_flow.py``.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import struct
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import Result

from ethoflow.config import load_settings
from ethoflow.features.featurization import Featurization
from ethoflow.flows.label import label_flow
from helpers.champions import (
    HEADS,
    assert_exit,
    empty_store,
    run_label,
    synthetic_frames,
    temp_files,
    write_params,
    write_video,
)
from helpers.real import REAL

OUTPUT_FILES = {"labels.csv", "summary.json", "ethogram.png", "record.json"}
CLOCK_FPS = 10.0  # ingest.target_fps: the models' clock


@pytest.fixture
def fast_retries(monkeypatch):
    """The label flow's MLflow task retries twice, 10 s apart; the same retries without the
    waits, so that a failing store or a missing champion costs no test time."""
    from ethoflow.flows import label as label_module

    task = label_module.load_champions
    monkeypatch.setattr(label_module, "load_champions", task.with_options(retry_delay_seconds=0))


def check_batch(out: Path, result: Result, expected: dict[str, str]) -> dict[str, pd.Series]:
    """The batch's report lists every video with the ``expected`` status; labelled and skipped
    ones have complete outputs, quarantined ones a reason and no record; no temporary files.
    Returns the report's rows by video id."""
    report = pd.read_csv(out / "report.csv", keep_default_na=False)
    rows = {row.video_id: row for _, row in report.iterrows()}
    assert len(report) == len(rows) == len(expected), report
    assert {video_id: row.status for video_id, row in rows.items()} == expected, report
    for video_id, row in rows.items():
        assert f"{video_id}: {row.status}" in result.output, result.output
        if row.status == "quarantined":
            assert row.reason and not row.reason.startswith("unexpected error"), row.reason
            assert not (out / video_id / "record.json").exists()
        else:
            folder = Path(row.outputs)
            assert folder.parent == out and folder.name == video_id
            assert {p.name for p in folder.iterdir()} >= OUTPUT_FILES
            record = json.loads((folder / "record.json").read_text())
            assert set(record["versions"]) == set(HEADS)
    quarantine = pd.read_csv(out / "quarantine.csv", keep_default_na=False)
    assert sorted(quarantine.video_id) == sorted(
        video_id for video_id, status in expected.items() if status == "quarantined"
    )
    assert temp_files(out) == []
    return rows


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- 1-5, 8: files that are not usable recordings, in one batch with a good one ------------

BROKEN = {  # video id -> what its reason must say
    "empty": ["empty (0 bytes)"],
    "notes": ["cannot be opened as a video"],
    "one-frame": ["only 1 frame(s)", "at least 4"],
    "three-frames": ["only 3 frame(s)", "at least 4"],
    "fps-1000": ["1000 fps", "more than any lab camera"],
    # FFmpeg reads a header's rate of 0 as 25 fps, so no file reads back as fps 0; one frame per
    # 2^32 - 1 s reads back as a rate near 0.
    "fps-near-0": ["fps, less than any lab camera", "its header is wrong"],
    "black": ["every frame is black"],
    "frozen": ["does not change"],
    # mp4 keeps its index (moov) at the end, so its first half cannot be opened; an AVI's first
    # half opens, but frames its header promises do not decode.
    "cut-mp4": ["cannot be opened as a video"],
    "cut-avi": ["truncated"],
}


def avi_with_rate(data: bytes, scale: int, rate: int) -> bytes:
    """An AVI file's bytes with its video stream's rate (``rate / scale`` fps) replaced."""
    patched = bytearray(data)
    # The strh chunk: id, size, fccType, fccHandler, dwFlags, wPriority, wLanguage,
    # dwInitialFrames (28 bytes), then dwScale and dwRate, little-endian.
    struct.pack_into("<II", patched, patched.index(b"strh") + 28, scale, rate)
    return bytes(patched)


@pytest.fixture(scope="module")
def broken_batch(project, tmp_path_factory) -> tuple[Path, Result]:
    """``ethoflow label <folder>`` on one good recording and every file of BROKEN."""
    folder = tmp_path_factory.mktemp("broken")
    videos = folder / "videos"
    project.copy_good(videos / "good.mp4")
    (videos / "empty.mp4").touch()
    (videos / "notes.mp4").write_text("mouse 3, cage 2: grooming a lot today\n" * 40)
    frames = synthetic_frames(3, 10)
    write_video(videos / "one-frame.mp4", frames[:1], 10)
    write_video(videos / "three-frames.mp4", frames[:3], 10)
    write_video(videos / "fps-1000.mp4", frames, 1000)
    avi = write_video(folder / "rate.avi", frames, 10, "MJPG").read_bytes()
    (videos / "fps-near-0.avi").write_bytes(avi_with_rate(avi, scale=2**32 - 1, rate=1))
    write_video(videos / "black.mp4", [np.zeros((240, 320, 3), np.uint8)] * 30, 10)
    write_video(videos / "frozen.mp4", [frames[0]] * 30, 10)  # one real picture, repeated
    for fourcc, suffix in (("mp4v", "mp4"), ("MJPG", "avi")):
        whole = write_video(folder / f"whole.{suffix}", frames, 10, fourcc)
        data = whole.read_bytes()
        (videos / f"cut-{suffix}.{suffix}").write_bytes(data[: len(data) // 2])
    out = folder / "out"
    return out, run_label(project, videos, out=out)


def test_broken_files_are_quarantined_and_the_good_video_labelled(broken_batch):
    out, result = broken_batch
    assert_exit(result, 1)
    expected = dict.fromkeys(BROKEN, "quarantined") | {"good": "labelled"}
    rows = check_batch(out, result, expected)
    assert len(pd.read_csv(out / "good" / "labels.csv")) == 30
    for video_id in BROKEN:
        assert not (out / video_id).exists()  # no folder for a video that was never labelled
        assert Path(rows[video_id].video).stem == video_id


@pytest.mark.parametrize("video_id", BROKEN)
def test_broken_file_reason(broken_batch, video_id):
    out, result = broken_batch
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    reason = report.reason[video_id]
    for words in BROKEN[video_id]:
        assert words in reason, reason
    assert f"{video_id}: quarantined {reason}" in result.output


# --- 6, 7, 9: odd but usable recordings --------------------------------------------------------

CAMERA_FPS = [5, 7.5, 12, 15, 25, 29.97]
SECONDS = 3
ACCENTED = "maus é 1"


@pytest.fixture(scope="module")
def camera_batch(project, tmp_path_factory) -> tuple[Path, Result, dict[float, int]]:
    """One batch: synthetic recordings at each of CAMERA_FPS, ``SECONDS`` long, an MJPEG AVI and
    a file whose name has spaces and an accent. Returns the frames written per rate too."""
    folder = tmp_path_factory.mktemp("cameras")
    videos = folder / "videos"
    frames = {}
    for fps in CAMERA_FPS:
        made = synthetic_frames(SECONDS, fps)
        write_video(videos / f"cam{fps:g}.mp4", made, fps)
        frames[fps] = len(made)
    write_video(videos / "mjpeg.avi", synthetic_frames(3, 10, seed=3), 10, "MJPG")
    # Four frames at 5 fps: 8 rows on the clock, shorter than the models' 16-row window.
    write_video(videos / "clip.mp4", synthetic_frames(0.8, 5, seed=4), 5)
    project.copy_good(videos / "Aufnahmen März" / f"{ACCENTED}.mp4")
    out = folder / "out"
    return out, run_label(project, videos, out=out), frames


def test_camera_batch_labels_every_recording(camera_batch):
    out, result, _ = camera_batch
    assert_exit(result, 0)
    expected = {f"cam{fps:g}": "labelled" for fps in CAMERA_FPS}
    check_batch(
        out, result, expected | {"mjpeg": "labelled", "clip": "labelled", ACCENTED: "labelled"}
    )


def slot_frames(frames: int, fps: float) -> list[int]:
    """The source frame shown at the start of each 1/10 s slot: the first frame starting at or
    after it for a camera at least as fast as the clock, else the frame showing then."""
    rate = Fraction(str(fps)) / Fraction(str(CLOCK_FPS))  # source frames per slot
    slots = math.ceil(frames / rate)
    if rate >= 1:
        return [min(math.ceil(i * rate), frames - 1) for i in range(slots)]
    return [math.floor(i * rate) for i in range(slots)]


@pytest.mark.parametrize("fps", CAMERA_FPS)
def test_duration_and_rows_hold_for_any_camera(camera_batch, fps):
    out, _, written = camera_batch
    frames = written[fps]
    assert frames == round(SECONDS * fps)
    folder = out / f"cam{fps:g}"
    summary = json.loads((folder / "summary.json").read_text())
    labels = pd.read_csv(folder / "labels.csv")
    assert summary["source_fps"] == pytest.approx(fps, abs=0.01)
    assert summary["clock_fps"] == CLOCK_FPS
    assert abs(summary["duration_s"] - frames / fps) <= 0.1 + 1 / fps
    assert len(labels) == summary["frames"] == math.ceil(frames * CLOCK_FPS / fps)
    assert labels.frame.tolist() == slot_frames(frames, fps)
    np.testing.assert_allclose(labels.time_s, np.arange(len(labels)) / CLOCK_FPS, atol=1e-4)
    warning = summary.get("warning", "")
    if fps < CLOCK_FPS:
        assert "slower than the models' clock" in warning and f"({fps:g} fps)" in warning
    else:
        assert "slower" not in warning


def test_clip_shorter_than_the_window_is_padded_not_refused(camera_batch):
    out, _, _ = camera_batch
    labels = pd.read_csv(out / "clip" / "labels.csv")
    assert labels.frame.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert labels.grooming_probability.between(0, 1).all()


def test_mjpeg_avi_is_labelled(camera_batch):
    out, _, _ = camera_batch
    labels = pd.read_csv(out / "mjpeg" / "labels.csv")
    assert len(labels) == 30 and labels.frame.tolist() == list(range(30))
    assert json.loads((out / "mjpeg" / "summary.json").read_text())["source"].endswith(".avi")


def test_name_with_spaces_and_accents(camera_batch):
    out, _, _ = camera_batch
    summary = json.loads((out / ACCENTED / "summary.json").read_text())
    assert summary["video_id"] == ACCENTED
    assert summary["source"] == str(out.parent / "videos" / "Aufnahmen März" / f"{ACCENTED}.mp4")
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    assert report.outputs[ACCENTED] == str(out / ACCENTED)


ODD_VIDEOS = {
    "odd-101x77": ((101, 77), "colour"),
    "tiny-32x32": ((32, 32), "colour"),
    "hd-1920x1080": ((1920, 1080), "colour"),
    "grey-320x320": ((320, 320), "grey"),
}


@pytest.fixture(scope="module")
def odd_batch(project, tmp_path_factory) -> tuple[Path, Result]:
    """One batch of odd frame sizes (resized synthetic recordings) and a grey video."""
    folder = tmp_path_factory.mktemp("odd")
    frames = synthetic_frames(3, 10)
    for name, (size, kind) in ODD_VIDEOS.items():
        if kind == "grey":
            made = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
        else:
            made = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        write_video(folder / "videos" / f"{name}.mp4", made, 10)
    out = folder / "out"
    return out, run_label(project, folder / "videos", out=out)


@pytest.mark.parametrize("name", ODD_VIDEOS)
def test_odd_frame_sizes_are_labelled_or_quarantined_with_a_reason(odd_batch, name):
    out, result = odd_batch
    assert result.exit_code in (0, 1), result.output
    assert_exit(result, result.exit_code)
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    assert sorted(report.index) == sorted(ODD_VIDEOS)
    assert temp_files(out) == []
    row = report.loc[name]
    assert row.status in ("labelled", "quarantined")
    if row.status == "quarantined":
        assert row.reason and not row.reason.startswith("unexpected error"), row.reason
        assert not (out / name).exists()
    else:
        assert {p.name for p in (out / name).iterdir()} >= OUTPUT_FILES
        width, height = ODD_VIDEOS[name][0]
        labels = pd.read_csv(out / name / "labels.csv")
        assert len(labels) == 30
        assert labels.x.dropna().between(0, width).all()
        assert labels.y.dropna().between(0, height).all()


# --- 11-13: names and paths ------------------------------------------------------------------


def test_folder_argument_labels_every_video_in_it(project, tmp_path):
    folder = tmp_path / "day1"
    project.copy_good(folder / "a.mp4")
    write_video(folder / "nested" / "b.avi", synthetic_frames(3, 10, seed=2), 10, "MJPG")
    (folder / "notes.txt").write_text("not a video")
    project.copy_good(folder / ".partial.mp4")  # another tool's temporary: not a recording
    out = tmp_path / "out"
    result = run_label(project, folder, out=out)
    assert_exit(result, 0)
    check_batch(out, result, {"a": "labelled", "b": "labelled"})


def test_missing_path_exits_2_before_anything(project, tmp_path):
    good = project.copy_good(tmp_path / "good.mp4")
    gone = tmp_path / "gone.mp4"
    out = tmp_path / "out"
    started = time.monotonic()
    result = run_label(project, good, gone, out=out)
    assert_exit(result, 2)
    assert f"not found: {gone}" in result.output
    assert not out.exists()  # nothing written, not even the folder
    assert time.monotonic() - started < 5  # said before any model loading


def test_same_name_in_two_folders_gets_two_output_folders(project, tmp_path):
    first = project.copy_good(tmp_path / "cage1" / "m1.mp4")
    second = write_video(tmp_path / "cage2" / "m1.mp4", synthetic_frames(3, 10, seed=5), 10)
    out = tmp_path / "out"
    result = run_label(project, first, second, out=out)
    assert_exit(result, 0)
    rows = check_batch(out, result, {"cage1-m1": "labelled", "cage2-m1": "labelled"})
    for video_id, video in (("cage1-m1", first), ("cage2-m1", second)):
        assert rows[video_id].video == str(video)
        assert json.loads((out / video_id / "summary.json").read_text())["source"] == str(video)


def test_identical_content_under_two_names_is_labelled_twice(project, tmp_path):
    one = project.copy_good(tmp_path / "one.mp4")
    two = project.copy_good(tmp_path / "two.mp4")
    out = tmp_path / "out"
    result = run_label(project, one, two, out=out)
    assert_exit(result, 0)
    check_batch(out, result, {"one": "labelled", "two": "labelled"})
    assert (out / "one" / "labels.csv").read_bytes() == (out / "two" / "labels.csv").read_bytes()


# --- 14, 15, 22: the inbox, re-runs, a recording replaced --------------------------------------


def test_inbox_file_still_being_copied_waits_for_the_next_run(project, tmp_path):
    params = project.write_params(tmp_path)
    settings = load_settings(params)
    inbox, out = settings.paths.inbox, settings.paths.outbox
    settled = project.copy_good(inbox / "settled.mp4")
    an_hour_ago = time.time() - 3600
    os.utime(settled, (an_hour_ago, an_hour_ago))
    copying = project.copy_good(inbox / "copying.mp4")  # modified just now

    batch = label_flow(params=str(params))  # the nightly run: no videos named
    assert batch["counts"] == {"quarantined": 1, "labelled": 1}
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    assert report.status.to_dict() == {"copying": "quarantined", "settled": "labelled"}
    assert "still being written" in report.reason["copying"]
    assert "labelled on the next run" in report.reason["copying"]
    assert not (out / "copying").exists() and temp_files(out) == []

    # Named on the command line, the same file is the user's choice: labelled now.
    result = run_label(project, copying, out=out, params=params)
    assert_exit(result, 0)
    check_batch(out, result, {"copying": "labelled"})


def test_rerun_skips_everything_and_rewrites_nothing(project, tmp_path):
    videos = tmp_path / "videos"
    project.copy_good(videos / "a.mp4")
    write_video(videos / "b.mp4", synthetic_frames(3, 10, seed=4), 10)
    out = tmp_path / "out"
    first = run_label(project, videos, out=out)
    assert_exit(first, 0)
    check_batch(out, first, {"a": "labelled", "b": "labelled"})
    before = {video_id: snapshot(out / video_id) for video_id in ("a", "b")}

    again = run_label(project, videos, out=out)
    assert_exit(again, 0)
    rows = check_batch(out, again, {"a": "skipped", "b": "skipped"})
    assert {row.reason for row in rows.values()} == {"unchanged since last labelled"}
    assert {video_id: snapshot(out / video_id) for video_id in ("a", "b")} == before


def test_video_replaced_by_a_corrupt_file_moves_old_outputs_aside(project, tmp_path):
    video = project.copy_good(tmp_path / "videos" / "rec.mp4")
    out = tmp_path / "out"
    assert_exit(run_label(project, video, out=out), 0)
    before = snapshot(out / "rec")

    video.write_bytes(os.urandom(20_000))  # re-copied badly over the good recording
    result = run_label(project, video, out=out)
    assert_exit(result, 1)
    rows = check_batch(out, result, {"rec": "quarantined"})
    assert "cannot be opened as a video" in rows["rec"].reason
    assert not (out / "rec").exists()  # no old labels passing for this file's
    (stale,) = (out / ".stale").iterdir()
    assert stale.name.startswith("rec-")
    assert f"earlier outputs moved to {stale}" in rows["rec"].reason
    assert {name: data for name, (data, _) in snapshot(stale).items()} == {
        name: data for name, (data, _) in before.items()
    }


# --- 17, 18: outputs that cannot be written ----------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0o500 folder regardless")
def test_unwritable_output_folder_exits_2_before_any_work(project, tmp_path):
    good = project.copy_good(tmp_path / "good.mp4")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        result = run_label(project, good, out=out)
    finally:
        out.chmod(0o700)
    assert_exit(result, 2)
    assert "cannot write outputs here" in result.output and str(out) in result.output
    assert list(out.iterdir()) == []


def test_output_folder_that_cannot_be_made_exits_2_before_any_work(project, tmp_path):
    """The root-proof unwritable folder: its parent is a file."""
    good = project.copy_good(tmp_path / "good.mp4")
    parent = tmp_path / "results.txt"
    parent.write_text("a file where a folder was expected")
    result = run_label(project, good, out=parent / "out")
    assert_exit(result, 2)
    assert "cannot write outputs here" in result.output and str(parent / "out") in result.output
    assert parent.read_text() == "a file where a folder was expected"


def test_out_naming_a_file_exits_2(project, tmp_path):
    good = project.copy_good(tmp_path / "good.mp4")
    target = tmp_path / "labels.csv"
    target.write_text("frame,grooming\n0,1\n")
    result = run_label(project, good, out=target)
    assert_exit(result, 2)
    assert "is a file" in result.output and str(target) in result.output
    assert target.read_text() == "frame,grooming\n0,1\n"


def test_disk_full_quarantines_that_video_and_the_batch_goes_on(project, tmp_path, monkeypatch):
    from ethoflow.io.atomic import atomic_path
    from ethoflow.labelling import recording as labelling

    real_write_csv = labelling.write_csv

    def write_csv(table, path):
        path = Path(path)
        if path.name == "labels.csv" and path.parent.name == "a":
            with atomic_path(path) as tmp:  # half the file reaches the disk, then it is full
                tmp.write_text(table.to_csv(index=False)[:100])
                raise OSError(errno.ENOSPC, "No space left on device")
        real_write_csv(table, path)

    monkeypatch.setattr(labelling, "write_csv", write_csv)
    videos = tmp_path / "videos"
    project.copy_good(videos / "a.mp4")
    write_video(videos / "b.mp4", synthetic_frames(3, 10, seed=6), 10)
    out = tmp_path / "out"
    result = run_label(project, videos, out=out)
    assert_exit(result, 1)
    rows = check_batch(out, result, {"a": "quarantined", "b": "labelled"})
    reason = rows["a"].reason
    assert "cannot write the outputs" in reason and "No space left on device" in reason
    assert str(out / "a") in reason
    assert not (out / "a").exists() or list((out / "a").iterdir()) == []

    monkeypatch.setattr(labelling, "write_csv", real_write_csv)  # space freed: the next run
    again = run_label(project, videos, out=out)
    assert_exit(again, 0)
    check_batch(out, again, {"a": "labelled", "b": "skipped"})


# --- 19-21: the registry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "store",
    [
        "http-refused",
        "sqlite-under-a-file",
        "sqlite-missing-folder",
    ],
)
def test_unreachable_tracking_store_exits_2_naming_it(
    project, tmp_path, monkeypatch, fast_retries, store
):
    """What a mistyped or down ``train.tracking_uri`` does: exit 2, one short message naming the
    store, nothing written anywhere."""
    if store == "http-refused":
        uri, named = "http://127.0.0.1:9", "http://127.0.0.1:9"  # the discard port: refused
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    elif store == "sqlite-under-a-file":
        (tmp_path / "store.txt").write_text("not a folder")
        named = str(tmp_path / "store.txt" / "mlflow.db")
        uri = f"sqlite:///{named}"
    else:
        named = str(tmp_path / "no" / "such" / "folder" / "mlflow.db")
        uri = f"sqlite:///{named}"
    params = write_params(tmp_path / "project", uri)
    good = project.copy_good(tmp_path / "good.mp4")
    out = tmp_path / "out"
    result = run_label(project, good, out=out, params=params)
    assert_exit(result, 2)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and named in errors[0], result.output
    assert "registry" in errors[0] or "tracking" in errors[0], errors[0]
    assert not (out / "good").exists() and temp_files(out) == []
    assert not (tmp_path / "no").exists()  # no stray store made at a mistyped path


def test_no_champion_exits_2_and_says_to_retrain_and_promote(project, tmp_path, fast_retries):
    params = write_params(tmp_path / "project", empty_store(tmp_path / "fresh-store"))
    good = project.copy_good(tmp_path / "good.mp4")
    out = tmp_path / "out"
    result = run_label(project, good, out=out, params=params)
    assert_exit(result, 2)
    assert "has no 'champion' version" in result.output
    assert "ethoflow retrain" in result.output and "ethoflow promote" in result.output
    assert not (out / "good").exists() and temp_files(out) == []


def test_champion_trained_on_other_features_exits_2(project, tmp_path, fast_retries):
    params = project.write_params(tmp_path / "project", ingest={"target_fps": 12.5})
    other = Featurization.from_settings(load_settings(params)).id
    trained = Featurization.from_settings(project.settings).id
    good = project.copy_good(tmp_path / "good.mp4")
    out = tmp_path / "out"
    result = run_label(project, good, out=out, params=params)
    assert_exit(result, 2)
    assert "trained on features" in result.output
    assert repr(trained) in result.output and repr(other) in result.output
    assert not (out / "good").exists() and temp_files(out) == []


def prefect_errors(caplog) -> list[logging.LogRecord]:
    """Prefect's log records that its console handler prints with a traceback."""
    return [r for r in caplog.records if r.name.startswith("prefect") and r.exc_info]


def test_no_champion_shows_no_traceback(project, tmp_path, fast_retries, caplog):
    params = write_params(tmp_path / "project", empty_store(tmp_path / "fresh-store"))
    good = project.copy_good(tmp_path / "good.mp4")
    with caplog.at_level(logging.INFO):
        result = run_label(project, good, out=tmp_path / "out", params=params)
    assert_exit(result, 2)
    assert [r.getMessage()[:200] for r in prefect_errors(caplog)] == []


@pytest.mark.parametrize("fault", ["no-champion", "other-features"])
def test_registry_faults_no_retry_can_fix_are_not_retried(
    project, tmp_path, fast_retries, caplog, fault
):
    if fault == "no-champion":
        uri, changes = empty_store(tmp_path / "fresh-store"), {}
    else:
        uri, changes = project.tracking_uri, {"ingest": {"target_fps": 12.5}}
    params = write_params(tmp_path / "project", uri, **changes)
    good = project.copy_good(tmp_path / "good.mp4")
    with caplog.at_level(logging.INFO):
        result = run_label(project, good, out=tmp_path / "out", params=params)
    assert_exit(result, 2)
    retries = [r.getMessage() for r in caplog.records if "Retry 1/" in r.getMessage()]
    assert retries == []


@pytest.mark.parametrize("fault", ["no-champion", "other-features"])
def test_label_flow_does_not_retry_what_no_retry_fixes(project, tmp_path, caplog, fault):
    """The nightly flow (no CLI check before it): the answer at once, no retry of the task."""
    from ethoflow.errors import NoChampionError

    if fault == "no-champion":
        uri, changes, error = empty_store(tmp_path / "fresh-store"), {}, NoChampionError
    else:
        uri, changes = project.tracking_uri, {"ingest": {"target_fps": 12.5}}
        error = ValueError
    params = write_params(tmp_path / "project", uri, **changes)
    good = project.copy_good(tmp_path / "good.mp4")
    with caplog.at_level(logging.INFO), pytest.raises(error):
        label_flow(params=str(params), videos=[str(good)], outbox=str(tmp_path / "out"))
    assert [r.getMessage() for r in caplog.records if "Retry 1/" in r.getMessage()] == []
    assert not (tmp_path / "out" / "good").exists()


def test_startup_noise_is_hidden_unless_verbose(tmp_path):
    """TensorFlow's CUDA probing goes to stderr from C++, before any setting reaches it."""
    import subprocess
    import sys

    store = f"sqlite:///{tmp_path}/none/mlflow.db"
    (tmp_path / "params.yaml").write_text(
        f'train: {{tracking_uri: "{store}"}}\nfeatures: {{cnn: true}}\n'
    )
    video = write_video(tmp_path / "v.mp4", synthetic_frames(1, 10), 10)

    # With a Prefect server configured and the CNN features on, `ethoflow label` imports
    # TensorFlow before its flow. The store check fails before any API call, so no server need
    # answer.
    env = os.environ | {"PREFECT_API_URL": "http://127.0.0.1:9/api"}

    def label(*flags: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "ethoflow.cli", *flags, "label", str(video)]
        command += ["--params", str(tmp_path / "params.yaml")]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    # On this machine importing TensorFlow is noisy (so the check below is not vacuous) ...
    bare = [sys.executable, "-c", "import tensorflow"]
    assert "cuda" in subprocess.run(bare, capture_output=True, text=True).stderr.lower()
    # ... and `ethoflow label` prints the error and names its log file.
    quiet = label()
    assert quiet.returncode == 2  # no store: nothing done
    assert quiet.stderr.strip().splitlines() == [
        line for line in quiet.stderr.strip().splitlines() if line.startswith(("error:", "log:"))
    ]
    assert "no MLflow store" in quiet.stderr
    verbose = label("--verbose")
    assert verbose.returncode == 2
    assert "cuda" in verbose.stderr.lower()  # the same import, its noise shown


# --- what the tracker cannot be sure of: noise, and a real clip whose mouse sat still at first ---


def test_noise_is_quarantined_and_a_real_clip_from_its_start_is_labelled_on_the_mouse(
    project, tmp_path
):
    """Uniform random pixels were once labelled with a mouse in 80 % of frames; the first 3 s
    of a real recording put the mouse on a patch of the background, 27 px off."""
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(90)]
    write_video(tmp_path / "videos" / "noise.avi", noise, 30, "MJPG")
    capture = cv2.VideoCapture(str(REAL / "tracktor_mouse_video.mp4"))
    start = [capture.read()[1] for _ in range(90)]
    write_video(tmp_path / "videos" / "start.avi", start, 30, "MJPG")
    out = tmp_path / "out"
    result = run_label(project, tmp_path / "videos", out=out)
    assert_exit(result, 1)
    rows = check_batch(out, result, {"noise": "quarantined", "start": "labelled"})
    assert "differs from the recording's background" in rows["noise"].reason
    summary = json.loads((out / "start" / "summary.json").read_text())
    assert summary["track_quality"]["verdict"] == "good", summary["track_quality"]
    labels = pd.read_csv(out / "start" / "labels.csv")
    reference = pd.read_csv(REAL / "tracktor_mouse_video.idtracker_track.txt", sep="\t")
    reference = reference.iloc[labels.frame].reset_index(drop=True)
    assert np.median(np.hypot(labels.x - reference.X1, labels.y - reference.Y1)) <= 3
