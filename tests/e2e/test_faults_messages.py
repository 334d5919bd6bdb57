"""Messages a person can act on (issue 31, items 5 and 6), through the real command line.

Each odd input gives a right result, or one line naming the file and what to do, without errno
or library codes: frame-image folders (order, sizes, one image), output folders that cannot be
written, truncated and very short videos, folders with nothing to work on, label files from
Excel (Windows-1252, decimal commas), a per-frame file of another length, and two label files of
one video at two frame rates. ``track`` and ``labels`` run in this process (CliRunner), ``label``
with the tiny champions of ``helpers.champions``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethoflow.cli import app
from helpers.champions import assert_exit, run_label, synthetic_frames, write_video

runner = CliRunner()
ETHOFLOW = Path(sys.executable).parent / "ethoflow"
# No errno, no OpenCV assertion code, no Python exception name in what a person reads.
LIBRARY_CODES = ("Errno", "-209", "cv2.error", "UnicodeDecodeError", "Traceback")


def invoke(*arguments: str | Path) -> Result:
    return runner.invoke(app, list(map(str, arguments)))


def assert_plain(text: str) -> None:
    for code in LIBRARY_CODES:
        assert code not in text, text


def track(*paths: Path, out: Path) -> Result:
    return invoke("track", *paths, "--out", out)


def reason(out: Path, name: str) -> str:
    report = pd.read_csv(out / "report.csv", keep_default_na=False).set_index("video_id")
    return report.reason[name]


@pytest.fixture(scope="module")
def frames() -> list:
    """Three seconds of a mouse the tracker finds, 10 fps, 320x320."""
    return synthetic_frames(3, 10)


def frame_folder(folder: Path, frames: list, count: int) -> Path:
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames[:count]):
        cv2.imwrite(str(folder / f"frame{i}.png"), frame)
    return folder


# --- item 5: frame-image folders ----------------------------------------------------------------


def test_frame_folder_is_read_in_natural_order(tmp_path, frames):
    folder = frame_folder(tmp_path / "m1", frames, 12)
    result = track(folder, out=tmp_path / "out")
    assert_exit(result, 0)
    images = pd.read_csv(tmp_path / "out" / "m1" / "track.csv").image.tolist()
    assert images == [f"frame{i}.png" for i in range(12)]  # not 0, 1, 10, 11, 2, …


def test_frame_folder_of_mixed_sizes_names_the_first_odd_image(tmp_path, frames):
    folder = frame_folder(tmp_path / "m1", frames, 12)
    for i in (7, 9):  # the background's sample meets frame 9 before frame 7 is read in order
        cv2.imwrite(str(folder / f"frame{i}.png"), cv2.resize(frames[i], (160, 120)))
    result = track(folder, out=tmp_path / "out")
    assert_exit(result, 1)
    assert_plain(result.output)
    why = reason(tmp_path / "out", "m1")
    assert str(folder / "frame7.png") in why
    assert "is 160x120 pixels but the first image, frame0.png, is 320x320" in why


def test_frame_folder_of_one_image_is_refused_like_a_one_frame_video(tmp_path, frames):
    folder = frame_folder(tmp_path / "m1", frames, 1)
    result = track(folder, out=tmp_path / "out")
    assert_exit(result, 1)
    assert "only 1 frame image(s); a recording needs at least 4" in reason(tmp_path / "out", "m1")


# --- item 6: output folders that cannot be written, checked before the work ---------------------


@pytest.mark.parametrize("command", ["track", "label"])
def test_out_naming_a_file_exits_2_saying_what_to_do(project, tmp_path, command):
    video = project.copy_good(tmp_path / "good.mp4")
    target = tmp_path / "results.csv"
    target.write_text("kept\n")
    if command == "track":
        result = track(video, out=target)
    else:
        result = run_label(project, video, out=target)
    assert_exit(result, 2)
    assert_plain(result.output)
    assert f"{target}: cannot write outputs here: it is a file, not a folder" in result.output
    assert "choose another --out" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert target.read_text() == "kept\n"


@pytest.mark.parametrize("command", ["track", "label"])
def test_out_inside_a_file_exits_2_naming_the_file(project, tmp_path, command):
    video = project.copy_good(tmp_path / "good.mp4")
    parent = tmp_path / "notes.txt"
    parent.write_text("a file where a folder was expected")
    out = parent / "out"
    result = track(video, out=out) if command == "track" else run_label(project, video, out=out)
    assert_exit(result, 2)
    assert_plain(result.output)
    assert f"{out}: cannot write outputs here: {parent} is a file, not a folder" in result.output
    assert "choose another --out" in result.output


def read_only_mounts() -> bool:
    """Whether this process may mount (root, with ``unshare``): how a read-only disk is made."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not read_only_mounts(), reason="a read-only mount needs root and unshare")
def test_track_on_a_read_only_disk_exits_2_before_any_work(project, tmp_path):
    video = project.copy_good(tmp_path / "good.mp4")
    disk = tmp_path / "disk"
    disk.mkdir()
    # A read-only file system mounted in a mount namespace of the command's own.
    script = f'mount -t tmpfs -o ro tmpfs "{disk}" && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", script, "sh", str(ETHOFLOW), "track", str(video)]
    done = subprocess.run(
        [*command, "--out", str(disk / "out")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert_plain(done.stderr)
    assert f"{disk / 'out'}: cannot write outputs here: the disk is read-only" in done.stderr
    assert "choose another --out" in done.stderr
    assert done.stdout == ""  # nothing tracked, no per-recording line


# --- item 6: folders with nothing to work on: exit 2 at once ------------------------------------


@pytest.mark.parametrize("contents", [[], ["notes.txt", ".hidden.mp4"]])
def test_label_of_a_folder_without_videos_exits_2_at_once(project, tmp_path, contents):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in contents:
        (folder / name).write_text("not a video")
    out = tmp_path / "out"
    result = run_label(project, folder, out=out)
    assert_exit(result, 2)
    assert f"no videos in {folder} (looked for .mp4, .avi, .mov, .mkv;" in result.output
    assert not out.exists()  # failed before the output check, Prefect or any model


def test_track_of_a_folder_without_videos_or_images_exits_2_at_once(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    result = track(folder, out=out)
    assert_exit(result, 2)
    assert f"no videos in {folder} (looked for .mp4, .avi, .mov, .mkv and frame images" in (
        result.output
    )
    assert not out.exists()


def test_track_of_a_folder_of_videos_tracks_each(project, tmp_path):
    folder = tmp_path / "inbox"
    project.copy_good(folder / "m1.mp4")
    project.copy_good(folder / "cage2" / "m2.mp4")
    result = track(folder, out=tmp_path / "out")
    assert_exit(result, 0)
    assert "m1: tracked" in result.output and "m2: tracked" in result.output


# --- item 6: truncated and very short videos ----------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """A 150-frame MJPEG AVI cut to 30 % of its bytes, and 300 fps clips of 6 frames (0.02 s)
    and 50 frames (0.17 s)."""
    folder = tmp_path_factory.mktemp("clips")
    whole = write_video(folder / "whole.avi", synthetic_frames(5, 30), 30, "MJPG")
    data = whole.read_bytes()
    (folder / "videos").mkdir()
    (folder / "videos" / "cut.avi").write_bytes(data[: int(len(data) * 0.3)])
    write_video(folder / "videos" / "fast6.mp4", synthetic_frames(6 / 300, 300), 300)
    write_video(folder / "videos" / "fast50.mp4", synthetic_frames(50 / 300, 300), 300)
    return folder / "videos"


@pytest.fixture(scope="module")
def labelled_clips(project, clips, tmp_path_factory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("clips-out")
    return out, run_label(project, clips, out=out)


TRUNCATED = "header says 150 frames but only 45 decode: the file is truncated"


def test_truncated_avi_says_how_many_frames_decode_in_track(clips, tmp_path):
    result = track(clips / "cut.avi", out=tmp_path)
    assert_exit(result, 1)
    assert TRUNCATED in reason(tmp_path, "cut") and "copy it again" in reason(tmp_path, "cut")


def test_truncated_avi_says_how_many_frames_decode_in_label(labelled_clips):
    out, result = labelled_clips
    assert_exit(result, 1)
    assert TRUNCATED in reason(out, "cut")
    assert "frame 135" not in result.output


def test_short_fast_clip_is_labelled_not_called_truncated(labelled_clips):
    out, _ = labelled_clips
    assert reason(out, "fast50") == ""
    labels = pd.read_csv(out / "fast50" / "labels.csv")
    assert labels.frame.tolist() == [0, 30]  # 0.17 s: two slots of the 10 fps clock


def test_clip_shorter_than_one_clock_frame_is_refused_saying_so(labelled_clips, clips, tmp_path):
    out, result = labelled_clips
    why = reason(out, "fast6")
    assert "the clip lasts 0.02 s (6 frames at 300 fps)" in why
    assert "shorter than one frame of the models' 10 fps clock" in why
    assert "truncated" not in why
    assert f"fast6: quarantined {why}" in result.output
    assert_exit(track(clips / "fast6.mp4", out=tmp_path), 0)  # tracking needs no clock


# --- item 6: label files from Excel -------------------------------------------------------------


def convert(source: Path, *options: str) -> Result:
    out = source.with_name("converted.csv")
    return invoke("labels", "convert", source, "--to", "ethoflow", "--out", out, *options)


def converted(source: Path) -> dict[str, list[int]]:
    return pd.read_csv(source.with_name("converted.csv")).to_dict("list")


def test_windows_1252_label_file_is_read(tmp_path):
    source = tmp_path / "m1.csv"
    source.write_bytes("Grooming;Rearing;Remarque\n1;0;souris agitée\n0;1;µ\n".encode("cp1252"))
    assert_exit(convert(source), 0)
    assert converted(source) == {"Grooming": [1, 0], "Rearing": [0, 1]}


def test_windows_1252_bout_table_is_read(tmp_path):
    source = tmp_path / "m1.bouts.csv"
    source.write_bytes("from,to,type,Expérimentateur\n0,0.2,Grooming,Zoé\n".encode("cp1252"))
    assert_exit(convert(source, "--fps", "10", "--frames", "3"), 0)
    assert converted(source) == {"Grooming": [1, 1, 0], "Rearing": [0, 0, 0]}


def test_label_file_in_neither_encoding_is_refused_naming_the_fix(tmp_path):
    source = tmp_path / "m1.csv"
    source.write_bytes(b"Grooming,Rearing\n1,0\n0,1\x81\x8d\n")  # undefined in Windows-1252
    result = convert(source)
    assert_exit(result, 2)
    assert_plain(result.output)
    expected = 'not a text file in UTF-8 or Windows-1252: save it from Excel as "CSV UTF-8"'
    assert f"{source}: {expected}" in result.output


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("m1.bouts.csv", "from;to;type\n0,1;0,3;Grooming\n"),
        ("m1.boris.tsv", "Time\tBehavior\tStatus\n0,1\tGrooming\tSTART\n0,3\tGrooming\tSTOP\n"),
    ],
)
def test_decimal_commas_are_read_where_cells_are_not_comma_separated(tmp_path, name, content):
    source = tmp_path / name
    source.write_text(content)
    assert_exit(convert(source, "--fps", "10", "--frames", "4"), 0)
    assert converted(source)["Grooming"] == [0, 1, 1, 0]  # 0.1–0.3 s: frames 1, 2


def test_decimal_comma_in_a_comma_separated_file_is_refused_saying_what_to_write(tmp_path):
    source = tmp_path / "m1.bouts.csv"
    source.write_text('from,to,type\n"0,1","0,25",Grooming\n')
    result = convert(source, "--fps", "10", "--frames", "4")
    assert_exit(result, 2)
    assert f"{source}: row 2: from '0,1' is not a number of seconds" in result.output
    assert "write it with a point (0.1), or save the file with semicolons" in result.output


# --- item 6: a per-frame file of another length -------------------------------------------------


def test_convert_warns_when_the_rows_differ_from_the_frames(tmp_path):
    source = tmp_path / "m1.csv"
    source.write_text("Grooming,Rearing\n" + "0,1\n" * 95)
    result = convert(source, "--frames", "100")
    assert_exit(result, 0)
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"warning: {source} has 95 frame rows but the video has 100 frames")
    assert "wrote" in result.stdout
    assert convert(source, "--frames", "95").stderr == ""


# --- item 6: two label files of one video at two frame rates ------------------------------------


@pytest.fixture(scope="module")
def model_labels(project, tmp_path_factory) -> tuple[Path, Path]:
    """``ethoflow label``'s labels.csv of a 30 fps, 90-frame video (30 rows on the 10 fps clock),
    and a person's 30 fps per-frame file marking what the model marks, frame by frame."""
    folder = tmp_path_factory.mktemp("agree")
    video = write_video(folder / "m30.mp4", synthetic_frames(3, 30, seed=4), 30)
    assert_exit(run_label(project, video, out=folder / "out"), 0)
    labels = folder / "out" / "m30" / "labels.csv"
    model = pd.read_csv(labels)
    assert model.frame.tolist() == list(range(0, 90, 3))
    model["grooming"] = [1, 1, 0] * 10  # marks to compare: the untrained champions mark little
    model.to_csv(labels, index=False)
    rows = model.loc[[i // 3 for i in range(90)]]  # each slot's marks for its three frames
    truth = folder / "m30.truth.csv"
    rows[["grooming", "rearing"]].to_csv(truth, index=False, header=["Grooming", "Rearing"])
    return truth, labels


@pytest.mark.parametrize("order", ["truth-first", "model-first"])
def test_agree_puts_a_30_fps_file_on_the_models_10_fps_clock(model_labels, order):
    truth, labels = model_labels
    a, b = (truth, labels) if order == "truth-first" else (labels, truth)
    result = invoke("labels", "agree", a, b, "--json")
    assert_exit(result, 0)
    assert result.stderr.strip() == (
        f"note: {truth} has 90 frames, {labels} 30 rows of the models' clock: "
        "compared at the frames its rows show (its frame column)"
    )
    grooming = pd.read_json(io.StringIO(result.stdout)).set_index("behaviour").loc["grooming"]
    assert grooming.frames == 30 and grooming.f1 == 1.0 and grooming.frames_a == 20


def test_agree_without_a_frame_column_says_which_commands_convert_one(model_labels, tmp_path):
    truth, _ = model_labels
    person = tmp_path / "m30.person.csv"  # another person's labels, at 10 fps
    pd.read_csv(truth).iloc[::3].to_csv(person, index=False)
    result = invoke("labels", "agree", truth, person)
    assert_exit(result, 2)
    assert f"{truth} has 90 frames, {person} has 30: not one video at one frame rate" in (
        result.output
    )
    # The commands it names, run as said, compare the two.
    bouts = tmp_path / "first.bouts.csv"
    convert_a = ["labels", "convert", truth, "--to", "bouts", "--fps", "30", "--out", bouts]
    assert f"`ethoflow labels convert {truth} --to bouts --fps <its fps>" in result.output
    assert_exit(invoke(*convert_a), 0)
    assert "--frames 30`" in result.output
    agreed = invoke("labels", "agree", bouts, person, "--fps", "10", "--frames", "30", "--json")
    assert_exit(agreed, 0)
    assert pd.read_json(io.StringIO(agreed.stdout)).f1.tolist() == [1.0, 1.0]
