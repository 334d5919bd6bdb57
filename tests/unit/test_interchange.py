import numpy as np
import pandas as pd
import pytest

from ethoflow.config import LabelsConfig
from ethoflow.errors import InputError
from ethoflow.io.interchange import (
    FORMATS,
    label_format_of,
    name_lookup,
    read_label_file,
    write_label_file,
)

MAPPING = LabelsConfig().mapping


def _random_labels(seed: int, frames: int, *, unknown: bool = False) -> pd.DataFrame:
    """Bouts of 1–30 frames at random places, touching the first and last frame sometimes; with
    ``unknown``, stretches of 1–40 unknown frames too, of one behaviour or both, over bouts or
    beside them (the first frame stays known: a file must label one)."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {"grooming": np.zeros(frames, np.int8), "rearing": np.zeros(frames, np.int8)}
    ).astype("Int8")
    for column in table.columns:
        for start in rng.integers(0, frames, size=6):
            table.loc[start : start + rng.integers(0, 30), column] = 1
    if unknown:
        for start in rng.integers(1, max(frames, 2), size=8):
            columns = [["grooming"], ["rearing"], ["grooming", "rearing"]][rng.integers(3)]
            table.loc[start : start + rng.integers(0, 40), columns] = pd.NA
    return table


def _read(path, label_format=None, **options) -> pd.DataFrame:
    return read_label_file(path, label_format, mapping=MAPPING, **options)


@pytest.mark.parametrize("label_format", FORMATS)
@pytest.mark.parametrize("unknown", [False, True], ids=["all-known", "unknown-stretches"])
@pytest.mark.parametrize(("seed", "fps", "frames"), [(1, 30.0, 600), (2, 7.5, 97), (3, 25.0, 1)])
def test_every_format_round_trips(tmp_path, label_format, unknown, seed, fps, frames):
    table = _random_labels(seed, frames, unknown=unknown)
    assert not unknown or frames == 1 or table.isna().any().all()
    for suffix in ("csv", "tsv") if label_format.startswith("boris") else ("csv",):
        path = tmp_path / f"m1.{label_format}.{suffix}"
        write_label_file(table, path, label_format, fps=fps)
        back = _read(path, fps=fps, frame_count=frames)
        pd.testing.assert_frame_equal(back, table)


def test_odd_frame_rates_round_trip_through_millisecond_times(tmp_path):
    table = _random_labels(4, 3000, unknown=True)
    for fps in (29.97, 59.94, 120.0, 499.0):
        write_label_file(table, tmp_path / "b.bouts.csv", "bouts", fps=fps)
        back = _read(tmp_path / "b.bouts.csv", fps=fps, frame_count=3000)
        pd.testing.assert_frame_equal(back, table)


def test_format_follows_the_file_name(tmp_path):
    assert label_format_of("m1.csv") == "ethoflow"
    assert label_format_of("data/m1.boris.tsv") == "boris"
    assert label_format_of("m1.boris-aggregated.csv") == "boris-aggregated"
    assert label_format_of("M1.Bouts.CSV") == "bouts"
    assert label_format_of("m1.simba.csv") == "simba"
    with pytest.raises(InputError, match="m1.txt: cannot tell the label format"):
        label_format_of("m1.txt")


BORIS_7 = """\
Observation id,m1
Observation date,2024-05-02 10:11:12

Description,open field day 1

Time offset (s),0.000

Time,Media file path,Total length,FPS,Subject,Behavior,Behavioral category,Comment,Status
0.25,m1.mp4,10.0,10,,Face grooming,,,START
0.30,m1.mp4,10.0,10,,Sniffing,,,POINT
0.72,m1.mp4,10.0,10,,Face grooming,,,STOP
0.72,m1.mp4,10.0,10,,Body grooming,,,START
1.0,m1.mp4,10.0,10,,Body grooming,,,STOP
1.2,m1.mp4,10.0,10,,Supported,,,START
1.44,m1.mp4,10.0,10,,Supported,,,STOP
1.47,m1.mp4,10.0,10,,Unsupported,,,POINT
"""


def test_hand_written_boris_export_lands_on_the_expected_frames(tmp_path):
    """10 fps: a bout covers the frames whose centre (0.05, 0.15, … s) lies in [start, stop)."""
    path = tmp_path / "m1.boris.csv"
    path.write_text(BORIS_7)
    table = _read(path, fps=10, frame_count=20)
    # Face grooming 0.25–0.72 s: centres 0.25 (frame 2) … 0.65 (frame 6); body grooming
    # 0.72–1.0 s: frames 7–9. Sniffing maps to nothing.
    assert np.flatnonzero(table.grooming).tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    # Supported 1.2–1.44 s: frames 12, 13 (frame 14's centre, 1.45 s, is past its stop); the
    # point at 1.47 s: the frame showing that time, 14.
    assert np.flatnonzero(table.rearing).tolist() == [12, 13, 14]


def test_boris_8_events_and_aggregated_exports_read_the_same(tmp_path):
    head = "Observation id\tFPS\tSubject\tBehavior\tBehavioral category\tModifier #1\t"
    events = tmp_path / "m1.boris.tsv"
    events.write_text(
        head + "Behavior type\tTime\tMedia file name\tComment\n"
        "m1\t10\tmouse\tGrooming\t\t\tSTART\t0.3\tm1.mp4\t\n"
        "m1\t10\tmouse\tGrooming\t\t\tSTOP\t0.5\tm1.mp4\t\n"
        "m1\t10\tmouse\tWall Rearing\t\t\tSTART\t0.5\tm1.mp4\t\n"
        "m1\t10\tmouse\tWall Rearing\t\t\tSTOP\t0.8\tm1.mp4\t\n"
    )
    aggregated = tmp_path / "m1.boris-aggregated.tsv"
    aggregated.write_text(
        head.replace("Modifier #1", "Modifiers") + "Behavior type\tStart (s)\tStop (s)\t"
        "Duration (s)\n"
        "m1\t10\tmouse\tGrooming\t\t\tSTATE\t0.3\t0.5\t0.2\n"
        "m1\t10\tmouse\tWall Rearing\t\t\tSTATE\t0.5\t0.8\t0.3\n"
    )
    first, second = (_read(p, fps=10, frame_count=10) for p in (events, aggregated))
    pd.testing.assert_frame_equal(first, second)
    assert np.flatnonzero(first.grooming).tolist() == [3, 4]
    assert np.flatnonzero(first.rearing).tolist() == [5, 6, 7]


BOUTS = """\
from,to,type,Experimenter
0.0,30.0,Start/End,Anna
0.5,1.5,Face grooming,Anna
2.0,2.4,Supported,Anna
2.4,3.0,Unsupported,Anna
0.0,2.0,Grooming,Ben
"""


def test_bout_table_selects_a_rater_and_ignores_start_end_rows(tmp_path):
    path = tmp_path / "session.bouts.csv"
    path.write_text(BOUTS)
    anna = _read(path, fps=4, frame_count=16, rater_column="Experimenter", rater="Anna")
    # 4 fps, frame centres at 0.125, 0.375, 0.625 … s: 0.5–1.5 s holds frames 2–5; the
    # touching Supported and Unsupported bouts (2.0–3.0 s) make one rearing bout, frames 8–11.
    assert np.flatnonzero(anna.grooming).tolist() == [2, 3, 4, 5]
    assert np.flatnonzero(anna.rearing).tolist() == [8, 9, 10, 11]
    ben = _read(path, fps=4, frame_count=16, rater_column="experimenter", rater="Ben")
    assert np.flatnonzero(ben.grooming).tolist() == list(range(8)) and not ben.rearing.any()
    with pytest.raises(InputError, match=r"no rows with Experimenter = 'Cleo'; found: Anna, Ben"):
        _read(path, fps=4, frame_count=16, rater_column="Experimenter", rater="Cleo")
    path.write_text(BOUTS + "3.0,2.5,Rearing,Ben\n")  # row 7 of the file, row 2 of Ben's
    with pytest.raises(InputError, match=r"row 7: 'Rearing' ends at 2.5 s, before its start"):
        _read(path, fps=4, frame_count=16, rater_column="Experimenter", rater="Ben")


def test_several_names_map_to_one_behaviour():
    lookup = name_lookup(MAPPING)
    assert {lookup[key] for key in ("facegrooming", "bodygrooming", "grooming")} == {"grooming"}
    assert {lookup[key] for key in ("supported", "unsupported", "wallrearing")} == {"rearing"}
    assert name_lookup({"rearing": ["Stretch"]})["grooming"] == "grooming"  # own name kept
    with pytest.raises(ValueError, match="'Face-Grooming' maps to both grooming and rearing"):
        name_lookup({"grooming": ["Face grooming"], "rearing": ["Face-Grooming"]})


def test_simba_columns_merge_by_mapping_and_others_are_ignored(tmp_path):
    path = tmp_path / "m1.simba.csv"
    path.write_text(
        ",Nose_1_x,Nose_1_y,Nose_1_p,Probability_Supported,Supported,Unsupported,Face grooming\n"
        "0,10.5,20.1,0.99,0.9,1,0,0\n"
        "1,10.6,20.3,0.98,0.2,0,1,1\n"
        "2,10.7,20.2,0.97,0.1,0,0,1\n"
    )
    table = _read(path)
    assert table.grooming.tolist() == [0, 1, 1] and table.rearing.tolist() == [1, 1, 0]


def test_deepethogram_minus_one_is_unknown_and_written_back(tmp_path):
    path = tmp_path / "m1.deepethogram.csv"
    path.write_text(",background,grooming,rearing\n0,-1,-1,-1\n1,0,1,-1\n2,-1,0,-1\n3,1,0,0\n")
    table = _read(path)
    assert table.grooming.tolist() == [pd.NA, 1, 0, 0]
    assert table.rearing.tolist() == [pd.NA, pd.NA, pd.NA, 0]
    write_label_file(table, tmp_path / "out.deepethogram.csv", "deepethogram")
    # Background is known where a behaviour is 1 (row 1) or all are 0 (row 3).
    assert (tmp_path / "out.deepethogram.csv").read_text() == path.read_text().replace(
        ",background,grooming,rearing", ",background,Grooming,Rearing"
    )


def test_unlabelled_stretches_and_media_end_are_unknown_in_timed_files(tmp_path):
    """10 fps, 20 frames: ``Unlabelled`` 0–0.5 s hides frames 0–4 of both behaviours,
    ``Unlabeled rearing`` 1.0–1.2 s frames 10, 11 of rearing; BORIS played 1.5 s of media, so
    frames 15–19 are unknown."""
    path = tmp_path / "m1.boris.tsv"
    path.write_text(
        "Observation id\tMedia duration (s)\tFPS\tSubject\tBehavior\tBehavior type\tTime\n"
        "m1\t1.500\t10\t\tUnlabelled\tSTART\t0.0\n"
        "m1\t1.500\t10\t\tUnlabelled\tSTOP\t0.5\n"
        "m1\t1.500\t10\t\tGrooming\tSTART\t0.5\n"
        "m1\t1.500\t10\t\tGrooming\tSTOP\t0.7\n"
        "m1\t1.500\t10\t\tUnlabeled rearing\tSTART\t1.0\n"
        "m1\t1.500\t10\t\tUnlabeled rearing\tSTOP\t1.2\n"
        "m1\t1.500\t10\t\tUnlabelled walking\tPOINT\t1.3\n"
    )
    table = _read(path, fps=10, frame_count=20)
    unknown = list(range(5)) + list(range(15, 20))
    assert np.flatnonzero(table.grooming.isna()).tolist() == unknown
    assert np.flatnonzero(table.rearing.isna()).tolist() == sorted([*unknown, 10, 11])
    assert np.flatnonzero(table.grooming.fillna(0)).tolist() == [5, 6]
    assert table.rearing.sum() == 0  # walking is not ours: its stretch changes nothing


def test_deepethogram_background_is_ignored(tmp_path):
    path = tmp_path / "m1.deepethogram.csv"
    path.write_text(",background,face_grooming,rearing\n0,1,0,0\n1,0,1,0\n2,0,0,1\n")
    table = _read(path)
    assert table.grooming.tolist() == [0, 1, 0] and table.rearing.tolist() == [0, 0, 1]


def test_our_old_format_is_read_through_read_labels(tmp_path):
    path = tmp_path / "m1.csv"
    path.write_text("Grooming,Mid Rearing,Wall Rearing\n1,0,0\n0,1,0\n0,0,1\n")
    table = _read(path)
    assert table.grooming.tolist() == [1, 0, 0] and table.rearing.tolist() == [0, 1, 1]


def test_decimal_commas_of_semicolon_files_are_read(tmp_path):
    path = tmp_path / "m1.bouts.csv"
    path.write_text("from;to;type\n0,1;0,3;Grooming\n1;1,15;Rearing\n")
    table = _read(path, fps=10, frame_count=12)
    assert table.grooming.tolist() == [0, 1, 1] + [0] * 9
    assert table.rearing.tolist() == [0] * 10 + [1, 0]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "stop.boris.csv",
            "Time,Behavior,Status\n0.1,Grooming,START\n0.2,Grooming,STOP\n0.3,Grooming,STOP\n",
            r"stop.boris.csv: row 4: STOP of 'Grooming' without a START",
        ),
        (
            "open.boris.csv",
            "Time,Behavior,Status\n0.1,Rearing,START\n0.2,Grooming,START\n0.3,Grooming,STOP\n",
            r"open.boris.csv: row 2: START of 'Rearing' has no STOP",
        ),
        (
            "twice.boris.csv",
            "Time,Behavior,Status\n0.1,Rearing,START\n0.2,Rearing,START\n",
            r"row 3: START of 'Rearing' while its START at row 2 has no STOP",
        ),
        (
            "status.boris.csv",
            "Time,Behavior,Status\n0.1,Rearing,BEGIN\n",
            r"row 2: Status 'BEGIN' is not START, STOP or POINT",
        ),
        (
            "back.bouts.csv",
            "from,to,type\n0.1,0.5,Grooming\n0.9,0.4,Rearing\n",
            r"back.bouts.csv: row 3: 'Rearing' ends at 0.4 s, before its start at 0.9 s",
        ),
        (
            "late.bouts.csv",
            "from,to,type\n0.1,2.2,Grooming\n",
            r"row 2: 'Grooming' at 2.2 s is beyond the video's end \(20 frames at 10 fps = 2 s\)",
        ),
        (
            "early.bouts.csv",
            "from,to,type\n-0.5,0.5,Grooming\n",
            r"row 2: 'Grooming' starts before 0 s",
        ),
        (
            "text.bouts.csv",
            "from,to,type\n0.1,0.5,Grooming\n0.6,soon,Rearing\n",
            r"row 3: to 'soon' is not a number of seconds",
        ),
        (
            "comma.bouts.csv",
            'from,to,type\n"0,1",0.5,Grooming\n',
            r"row 2: from '0,1' is not a number of seconds: a decimal comma in a comma-separated "
            r"file is ambiguous; write it with a point \(0.1\)",
        ),
        (
            "cols.bouts.csv",
            "start,to,type\n0.1,0.5,Grooming\n",
            r"cols.bouts.csv: missing column\(s\) from; found: start, to, type",
        ),
        (
            "names.bouts.csv",
            "from,to,type\n0.1,0.5,Walking\n",
            r"no behaviour name maps to grooming or rearing \(found: Walking\)",
        ),
        (
            "none.boris.csv",
            "Observation id,m1\nTime,Subject,Status\n",
            r"none.boris.csv: no header row with a Behavior column",
        ),
        (
            "empty.bouts.csv",
            "",
            r"empty.bouts.csv: label file is empty",
        ),
        (
            "cols.simba.csv",
            ",Grooming,Probability_Rearing\n0,1,0.3\n",
            r"cols.simba.csv: no column for rearing",
        ),
        (
            "unlabelled.deepethogram.csv",
            ",background,grooming,rearing\n0,-1,-1,-1\n1,-1,-1,-1\n",
            r"unlabelled.deepethogram.csv: no frame is labelled: every frame is unknown",
        ),
        (
            "two.deepethogram.csv",
            ",background,grooming,rearing\n0,1,0,0\n1,0,-2,1\n",
            r"column 'grooming' must hold only 0 or 1; found -2 at row\(s\) 3",
        ),
        (
            "nobody.bouts.csv",
            "from,to,type\n0,2,Unlabelled\n",
            r"nobody.bouts.csv: no frame is labelled: every frame is unknown",
        ),
        (
            "inside.bouts.csv",
            "from,to,type\n0.5,1.0,Grooming\n0.0,1.5,Unlabelled grooming\n",
            r"row 2: 'Grooming' lies in a stretch marked Unlabelled for grooming",
        ),
    ],
)
def test_bad_files_name_the_file_and_row(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        _read(path, fps=10, frame_count=20)


def test_unknown_format_and_missing_timebase_are_refused(tmp_path):
    path = tmp_path / "m1.bouts.csv"
    path.write_text("from,to,type\n")
    with pytest.raises(ValueError, match="unknown label format 'elan'"):
        _read(path, "elan")
    with pytest.raises(ValueError, match="bouts labels need the video's fps"):
        _read(path, frame_count=10)
    with pytest.raises(ValueError, match="need the video's frame count"):
        _read(path, fps=10)
    with pytest.raises(ValueError, match="rater 'Anna' given without the column"):
        _read(path, fps=10, frame_count=10, rater="Anna")
    with pytest.raises(InputError, match="gone.bouts.csv: label file not found"):
        _read(tmp_path / "gone.bouts.csv", fps=10, frame_count=10)
    assert not _read(path, fps=10, frame_count=10).any().any()  # no bouts: nothing marked
