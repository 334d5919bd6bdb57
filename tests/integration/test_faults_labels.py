"""Bad label CSVs as researchers make them, through what ingest does with one: discover it next to
its video, validate it against the video (Great Expectations), read it (``read_labels``).

Each fault gives a message naming the file and, where it applies, the row (as a spreadsheet numbers
it: the header is row 1) and the column; what spreadsheet exports do by habit (a byte-order mark,
CRLF, semicolons) is read like a clean file, and an empty cell is an unknown frame, not a fault.
Nothing is ever written or changed.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ethoflow.data.ingest import discover_recordings
from ethoflow.data.validation import validate_recording
from ethoflow.errors import InputError
from ethoflow.io.labels import read_labels
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording

FRAMES = 10  # condition 1 records at 10 fps; one second of it
TOLERANCE = 2
HEADER = "Grooming,Rearing\n"
ROWS = ["0,1", "0,0", "1,0", "1,0", "0,0", "0,1", "0,1", "0,0", "0,0", "0,0"]  # one per frame


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """A real one-second condition-1 mp4 (10 frames); its own label files live elsewhere."""
    folder = tmp_path_factory.mktemp("video")
    path = folder / "c1_v00.mp4"
    frames = write_recording(
        path,
        folder / "synth.csv",
        folder / "synth.truth.csv",
        condition=CONDITIONS[0],
        seconds=1,
        seed=1,
    )
    assert frames == FRAMES
    return path


def _csv(tmp_path: Path, content: str | bytes, name: str = "c1_v00.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _files(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()}


def _ingest(video: Path, labels: Path) -> tuple[list[str], pd.DataFrame | InputError]:
    """Validate ``labels`` against ``video`` and read them, as ingest does; return the validation
    problems and the table read (or read_labels' error), after checking nothing was written."""
    before = _files(video.parent, labels.parent)
    problems = validate_recording(video, labels, tolerance_frames=TOLERANCE).problems
    try:
        table: pd.DataFrame | InputError = read_labels(labels)
    except InputError as exc:
        table = exc
    assert _files(video.parent, labels.parent) == before
    return problems, table


# 1. a label value other than 0/1


def test_value_2_names_column_row_and_value(video, tmp_path):
    rows = ROWS.copy()
    rows[3] = "1,2"  # 4th data row: row 5 in a spreadsheet, line 5 of the file
    labels = _csv(tmp_path, HEADER + "\n".join(rows) + "\n")
    problems, error = _ingest(video, labels)
    assert problems == ["labels c1_v00.csv: column 'Rearing' has values outside {0,1}: 2 (row 5)"]
    assert isinstance(error, InputError)
    assert str(error) == f"{labels}: column 'Rearing' must hold only 0 or 1; found 2 at row(s) 5"


# 2. a missing required column


def test_missing_column_is_named_with_the_columns_found(video, tmp_path):
    labels = _csv(tmp_path, "frame,Grooming,Notes\n" + "".join(f"{i},0,\n" for i in range(10)))
    problems, error = _ingest(video, labels)
    assert problems == [
        "labels c1_v00.csv: missing column 'Rearing' (or 'Mid Rearing' and 'Wall Rearing' in the "
        "older format); found: 'frame', 'Grooming', 'Notes'"
    ]
    assert isinstance(error, InputError)
    assert str(error).startswith(f"{labels}: missing label column(s) Rearing")
    assert str(error).endswith("found: frame, Grooming, Notes")


# 3. an empty cell: an unknown frame, not an error; a file of empty cells only is refused


@pytest.mark.parametrize("cell", ["", "   "], ids=["empty", "spaces-only"])
def test_empty_cell_is_an_unknown_frame(video, tmp_path, cell):
    rows = ROWS.copy()
    rows[6] = f"{cell},1"  # 7th data row: row 8
    labels = _csv(tmp_path, HEADER + "\n".join(rows) + "\n")
    problems, table = _ingest(video, labels)
    assert problems == []
    assert isinstance(table, pd.DataFrame)
    assert table.grooming.isna().tolist() == [i == 6 for i in range(FRAMES)]
    assert table.rearing[6] == 1  # the row's other cell is known


def test_file_without_a_labelled_frame_is_refused(video, tmp_path):
    labels = _csv(tmp_path, HEADER + ",\n" * FRAMES)
    problems, error = _ingest(video, labels)
    assert problems == ["labels c1_v00.csv: no frame is labelled (every behaviour cell is empty)"]
    assert str(error) == f"{labels}: every cell is empty: no frame is labelled"


def test_na_is_a_wrong_value_not_an_empty_cell(video, tmp_path):
    # pandas would read "NA" as missing; the researcher typed something, so show what.
    rows = ROWS.copy()
    rows[0] = "NA,1"
    problems, error = _ingest(video, _csv(tmp_path, HEADER + "\n".join(rows)))
    assert problems == [
        "labels c1_v00.csv: column 'Grooming' has values outside {0,1}: 'NA' (row 2)"
    ]
    assert "'Grooming' must hold only 0 or 1; found NA at row(s) 2" in str(error)


# 4. more or fewer label rows than the video has frames


@pytest.mark.parametrize("rows", [FRAMES + TOLERANCE + 1, FRAMES - TOLERANCE - 1])
def test_row_count_off_by_more_than_tolerance_says_both_counts(video, tmp_path, rows):
    labels = _csv(tmp_path, HEADER + "\n".join((ROWS * 2)[:rows]) + "\n")
    problems, table = _ingest(video, labels)
    assert problems == [
        f"labels c1_v00.csv: {rows} rows but the video has {FRAMES} frames (tolerance ±{TOLERANCE})"
    ]
    # The table itself is fine; only its length against the video is wrong.
    assert isinstance(table, pd.DataFrame) and len(table) == rows


# 5. a UTF-8 byte-order mark and CRLF line ends are read like a clean file


@pytest.mark.parametrize(
    ("bom", "newline"), [(True, "\n"), (False, "\r\n"), (True, "\r\n")], ids=["bom", "crlf", "both"]
)
def test_bom_and_crlf_are_accepted(video, tmp_path, bom, newline):
    text = (HEADER + "\n".join(ROWS) + "\n").replace("\n", newline)
    content = ("\ufeff" if bom else "").encode() + text.encode()
    labels = _csv(tmp_path, content)
    problems, table = _ingest(video, labels)
    assert problems == []
    pd.testing.assert_frame_equal(
        table, read_labels(_csv(tmp_path, HEADER + "\n".join(ROWS), "clean.csv"))
    )


# 6. semicolons as the separator (Excel where the decimal mark is a comma) are accepted


def test_semicolon_separated_excel_export_is_accepted(video, tmp_path):
    # Excel's "CSV UTF-8" export in a German locale: BOM, semicolons, CRLF, old-format headers.
    clean = "Grooming,Mid Rearing,Wall Rearing\n" + "".join(f"{r},0\n" for r in ROWS)
    excel = "\ufeff" + clean.replace(",", ";").replace("\n", "\r\n")
    problems, table = _ingest(video, _csv(tmp_path, excel.encode()))
    assert problems == []
    pd.testing.assert_frame_equal(table, read_labels(_csv(tmp_path, clean, "clean.csv")))


def test_semicolon_separated_file_still_names_bad_cells(video, tmp_path):
    rows = [row.replace(",", ";") for row in ROWS]
    rows[1] = "0;5"
    labels = _csv(tmp_path, HEADER.replace(",", ";") + "\n".join(rows))
    problems, error = _ingest(video, labels)
    assert problems == ["labels c1_v00.csv: column 'Rearing' has values outside {0,1}: 5 (row 3)"]
    assert str(error) == f"{labels}: column 'Rearing' must hold only 0 or 1; found 5 at row(s) 3"


# 7. a label file without its video, a video without its label file


def test_label_file_without_video(video, tmp_path):
    folder = tmp_path / "raw" / "condition_1"
    folder.mkdir(parents=True)
    shutil.copy(video, folder / "c1_v00.mp4")
    labels = _csv(folder, HEADER + "\n".join(ROWS), "c1_v01.csv")  # typo'd stem: no c1_v01.mp4
    _csv(folder, HEADER + "\n".join(ROWS), "c1_v00.csv")
    before = _files(tmp_path)
    recordings, bad = discover_recordings(tmp_path / "raw")
    assert [r.video_id for r in recordings] == ["c1_v00"]
    assert [(q.video_id, q.condition, q.path, q.reason) for q in bad] == [
        (
            "c1_v01",
            "condition_1",
            labels,
            "label file c1_v01.csv has no video c1_v01.mp4 (or .avi, .mov, .mkv) next to it",
        )
    ]
    # Validating it anyway (its video path derived from the stem) names the missing video.
    problems = validate_recording(
        folder / "c1_v01.mp4", labels, tolerance_frames=TOLERANCE
    ).problems
    assert problems == ["video c1_v01.mp4: video file not found"]
    assert _files(tmp_path) == before


def test_video_without_label_file(video, tmp_path):
    folder = tmp_path / "raw" / "condition_1"
    folder.mkdir(parents=True)
    copy = Path(shutil.copy(video, folder / "c1_v00.mp4"))
    before = _files(tmp_path)
    recordings, bad = discover_recordings(tmp_path / "raw")
    assert recordings == []
    assert [(q.video_id, q.path, q.reason) for q in bad] == [
        ("c1_v00", copy, "no label file c1_v00.csv next to c1_v00.mp4")
    ]
    problems, error = _ingest(copy, folder / "c1_v00.csv")
    assert problems == ["labels c1_v00.csv: file not found"]
    assert str(error) == f"{folder / 'c1_v00.csv'}: label file not found"
    assert _files(tmp_path) == before


# 8. an empty (0-byte) file and a file that is only a header


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n"], ids=["0-bytes", "bom-and-newline"])
def test_empty_file(video, tmp_path, content):
    labels = _csv(tmp_path, content)
    problems, error = _ingest(video, labels)
    assert problems == ["labels c1_v00.csv: file is empty"]
    assert str(error) == f"{labels}: label file is empty"


@pytest.mark.parametrize("header", ["Grooming,Rearing", "Grooming,Rearing\r\n"])
def test_header_only_file(video, tmp_path, header):
    labels = _csv(tmp_path, header)
    problems, error = _ingest(video, labels)
    assert problems == ["labels c1_v00.csv: has a header but no label rows"]
    assert str(error) == f"{labels}: label file has a header but no label rows"
