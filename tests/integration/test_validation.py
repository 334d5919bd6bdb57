import json
import re
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from ethoflow.data import validation
from ethoflow.data.validation import ValidationReport, save_report, validate_recording
from ethoflow.io.video import read_video_info
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording

FRAMES = 10  # condition 1 records at 10 fps; one second of it
TOLERANCE = 2


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A real one-second condition-1 mp4 with its old-format (three-column) label CSV."""
    folder = tmp_path_factory.mktemp("recording")
    video, labels = folder / "c1_v00.mp4", folder / "c1_v00.csv"
    frames = write_recording(
        video, labels, folder / "c1_v00.truth.csv", condition=CONDITIONS[0], seconds=1, seed=1
    )
    assert frames == FRAMES
    return video, labels


def _write_csv(path, columns):
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def _new_format(rows=FRAMES, grooming=None, rearing=None):
    return {
        "Grooming": grooming if grooming is not None else [0] * rows,
        "Rearing": rearing if rearing is not None else [1, 0] * (rows // 2) + [0] * (rows % 2),
    }


def _assert_problem(report, pattern):
    assert not report.success
    assert any(re.search(pattern, problem) for problem in report.problems), report.problems


def test_old_format_recording_passes(recording):
    video, labels = recording
    report = validate_recording(video, labels, tolerance_frames=TOLERANCE)
    assert report == ValidationReport("c1_v00", True, [], report.details, report.video)
    assert report.video.frame_count > 0  # later steps reuse the metadata read here
    assert report.details["video"]["success"] and report.details["labels"]["success"]


@pytest.mark.parametrize(
    "columns",
    [
        _new_format(),
        {"frame": list(range(FRAMES)), "grooming ": [1] * FRAMES, " REARING": [0.0] * FRAMES},
        {"GROOMING": [0] * FRAMES, "Mid rearing": [0] * FRAMES, "Wall-Rearing": [1] * FRAMES},
        # Empty cells are unknown frames: a person labelled a stretch, or one behaviour only.
        _new_format(grooming=[None, None, 0, 1, 1, 0, None, None, None, None]),
        _new_format(grooming=[None] * FRAMES),
        {"Grooming": [1] * FRAMES, "Mid Rearing": [None] * FRAMES, "Wall Rearing": [0] * FRAMES},
    ],
    ids=[
        "new-format",
        "new-format-odd-headers-extra-column",
        "old-format-odd-headers",
        "unknown-stretches",
        "one-behaviour-unknown",
        "old-format-unknown-column",
    ],
)
def test_good_label_tables_pass(recording, tmp_path, columns):
    labels = _write_csv(tmp_path / "labels.csv", columns)
    report = validate_recording(recording[0], labels, tolerance_frames=TOLERANCE)
    assert report.success, report.problems


@pytest.mark.parametrize(
    ("columns", "pattern"),
    [
        ({"Rearing": [0] * FRAMES}, r"^labels labels\.csv: missing column 'Grooming'; found: 'R"),
        ({"Grooming": [0] * FRAMES}, r"missing column 'Rearing' \(or 'Mid Rearing' and 'Wall R"),
        (
            {"Grooming": [0] * FRAMES, "Mid Rearing": [0] * FRAMES},
            r"missing column 'Wall Rearing' \(older files need both",
        ),
        (
            _new_format(grooming=[0, 0, 0, 2, 0, 0, 0, 2, 0, 0]),
            r"column 'Grooming' has values outside \{0,1\}: 2 \(rows 5, 9\)",
        ),
        (
            _new_format(rearing=[0, 1, "yes", 1, 0, 0, 0, 0, 0, 0]),
            r"column 'Rearing' has values outside \{0,1\}: 'yes' \(row 4\)$",
        ),
        (
            _new_format(rearing=[0.5] * FRAMES),
            r"column 'Rearing' has values outside \{0,1\}: 0\.5 \(rows 2, 3, 4, 5, 6 … \(10 in all",
        ),
        (
            _new_format(grooming=[None] * FRAMES, rearing=[None] * FRAMES),
            r"^labels labels\.csv: no frame is labelled \(every behaviour cell is empty\)$",
        ),
        (
            _new_format(grooming=[None, 2, 0, 0, 0, 0, 0, 0, 0, None]),
            r"column 'Grooming' has values outside \{0,1\}: 2 \(row 3\)$",
        ),
        (
            {"Grooming": [0] * FRAMES, "grooming ": [0] * FRAMES, "Rearing": [0] * FRAMES},
            r"columns 'Grooming', 'grooming ' name the same behaviour",
        ),
        (
            _new_format(rows=FRAMES - TOLERANCE - 1),
            r"labels labels\.csv: 7 rows but the video has 10 frames \(tolerance ±2\)",
        ),
        (
            _new_format(rows=FRAMES + TOLERANCE + 1),
            r"13 rows but the video has 10 frames \(tolerance ±2\)",
        ),
    ],
    ids=[
        "no-grooming",
        "no-rearing",
        "half-old-format",
        "value-2",
        "text-value",
        "all-bad",
        "nothing-labelled",
        "value-2-among-unknown",
        "duplicate-header",
        "too-few-rows",
        "too-many-rows",
    ],
)
def test_bad_label_tables_fail(recording, tmp_path, columns, pattern):
    labels = _write_csv(tmp_path / "labels.csv", columns)
    report = validate_recording(recording[0], labels, tolerance_frames=TOLERANCE)
    _assert_problem(report, pattern)
    assert len(report.problems) == 1, report.problems


@pytest.mark.parametrize("rows", [FRAMES - TOLERANCE, FRAMES + TOLERANCE])
def test_row_count_within_tolerance_passes(recording, tmp_path, rows):
    labels = _write_csv(tmp_path / "labels.csv", _new_format(rows=rows))
    assert validate_recording(recording[0], labels, tolerance_frames=TOLERANCE).success


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, r"^video c1_v00\.mp4: video file not found$"),
        (b"", r"^video c1_v00\.mp4: video file is empty \(0 bytes\)$"),
        ("random", r"^video c1_v00\.mp4: cannot be opened as a video \(corrupt file"),
    ],
    ids=["missing", "empty", "corrupt"],
)
def test_unusable_video_fails_but_labels_are_still_checked(recording, tmp_path, content, pattern):
    video = tmp_path / "c1_v00.mp4"
    if content == "random":
        video.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    elif content is not None:
        video.write_bytes(content)
    labels = _write_csv(tmp_path / "labels.csv", {"Grooming": [0, 3]})
    report = validate_recording(video, labels, tolerance_frames=TOLERANCE)
    assert report.recording == "c1_v00"
    assert re.search(pattern, report.problems[0]), report.problems
    # The label table is checked too, but not against a frame count nobody knows.
    assert report.problems[1:] == [
        "labels labels.csv: missing column 'Rearing' (or 'Mid Rearing' and 'Wall Rearing' in the "
        "older format); found: 'Grooming'",
        "labels labels.csv: column 'Grooming' has values outside {0,1}: 3 (row 3)",
    ]
    assert "video" not in report.details
    json.dumps(report.details)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, r"^labels c1_v00\.csv: file not found$"),
        (b"", r"^labels c1_v00\.csv: file is empty$"),
        (b"Grooming,Rearing\n0,1\n0,1,1,1,1\n", r"^labels c1_v00\.csv: not a readable CSV file"),
    ],
    ids=["missing", "empty", "unparseable"],
)
def test_unusable_label_file_fails(recording, tmp_path, content, pattern):
    labels = tmp_path / "c1_v00.csv"
    if content is not None:
        labels.write_bytes(content)
    report = validate_recording(recording[0], labels, tolerance_frames=TOLERANCE)
    assert len(report.problems) == 1
    _assert_problem(report, pattern)
    assert report.details["video"]["success"]


@pytest.mark.parametrize(
    ("metadata", "pattern"),
    [
        ({"fps": 0.0}, r"^video c1_v00\.mp4: frame rate \(fps\) is 0, must be > 0$"),
        ({"fps": None}, r"^video c1_v00\.mp4: frame rate \(fps\) is missing or not a number$"),
        ({"frame_count": 0}, r"frame count is 0, must be > 0"),
        ({"width": -1.0, "height": 0}, r"frame height is 0, must be > 0"),
    ],
    ids=["fps-zero", "fps-nan", "no-frames", "bad-size"],
)
def test_bad_video_metadata_fails(recording, monkeypatch, metadata, pattern):
    # No encoder writes such files on purpose, so feed the metadata suite directly.
    video, labels = recording
    raw = validation._video_metadata(read_video_info(video))
    monkeypatch.setattr(validation, "_video_metadata", lambda info: {**raw, **metadata})
    report = validate_recording(video, labels, tolerance_frames=TOLERANCE)
    _assert_problem(report, pattern)
    assert len(report.problems) == len(metadata)
    # The labels still match the frame count, or it is unknown and their length is not judged.
    assert report.details["labels"]["success"]


def test_negative_tolerance_is_a_programming_error(recording):
    with pytest.raises(ValueError, match="tolerance_frames must be >= 0, got -1"):
        validate_recording(*recording, tolerance_frames=-1)


def test_save_report_writes_json(recording, tmp_path, monkeypatch):
    monkeypatch.setattr(
        validation,
        "_video_metadata",
        lambda info: {"fps": None, "frame_count": 10.0, "width": 320.0, "height": 320.0},
    )
    report = validate_recording(*recording, tolerance_frames=TOLERANCE)
    path = tmp_path / "reports" / "c1_v00.json"
    save_report(report, path)
    saved = json.loads(path.read_text(), parse_constant=pytest.fail)  # NaN would be invalid JSON
    assert saved == json.loads(json.dumps(asdict(report), default=str))
    assert saved["success"] is False and saved["problems"] == report.problems
    assert set(saved["details"]) == {"video", "labels"}
    assert [p.name for p in path.parent.iterdir()] == ["c1_v00.json"]  # no temporary file left
