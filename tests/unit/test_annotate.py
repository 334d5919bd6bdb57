"""The annotation page's logic (:mod:`ethoflow.ui.annotate`): marks, undo, the per-frame table
with unknown frames, the ethogram picture, and saving that reads back and never replaces a file
it did not write. The page itself: tests/integration/test_ui.py and tests/e2e/browser/."""

from __future__ import annotations

import numpy as np
import pytest

from ethoflow.io.interchange import read_label_file
from ethoflow.io.labels import read_labels
from ethoflow.ui.annotate import REVIEWED, Annotation, ethogram_picture, foreign_file, save
from ethoflow.ui.files import UserError


def _annotated() -> Annotation:
    """100 frames at 10 fps: reviewed 0–49, grooming 5–10 (marked backwards), rearing 60–62."""
    annotation = Annotation(100, 10.0)
    for mark, frame in [
        (REVIEWED, 0),
        ("grooming", 10),
        ("grooming", 5),
        (REVIEWED, 49),
        ("rearing", 60),
        ("rearing", 62),
    ]:
        annotation.toggle(mark, frame)
    return annotation


def test_bouts_are_1_reviewed_frames_0_and_the_rest_unknown():
    table = _annotated().table()
    assert table.dtypes.tolist() == ["Int8", "Int8"]
    grooming, rearing = (table[h] for h in ("grooming", "rearing"))
    assert grooming[5:11].eq(1).all() and grooming[:5].eq(0).all() and grooming[11:50].eq(0).all()
    assert grooming[50:].isna().all()
    assert rearing[:50].eq(0).all() and rearing[60:63].eq(1).all()
    # A bout outside the reviewed stretches says nothing of the other behaviour.
    assert rearing[50:60].isna().all() and rearing[63:].isna().all()
    assert grooming[60:63].isna().all()


def test_marks_merge_remove_and_undo():
    annotation = _annotated()
    annotation.toggle("grooming", 9)
    assert (
        annotation.toggle("grooming", 20) == "Grooming from frame 9 (0.90 s) to frame 20 (2.00 s)."
    )
    assert annotation.stretches["grooming"] == ((5, 21),)  # overlapping bouts merge
    assert annotation.on_at(15) == ["grooming"]
    annotation.toggle("rearing", 80)
    assert annotation.on_at(90) == ["rearing"]  # an open bout runs to the frame shown
    assert annotation.remove("rearing", 0) == "The open rearing start was cancelled."
    assert "rearing" not in annotation.open
    assert "was removed" in annotation.remove("grooming", 7)
    assert annotation.stretches["grooming"] == ()
    assert "nothing removed" in annotation.remove("grooming", 7)
    for _ in range(3):
        annotation.undo()
    assert annotation.stretches["grooming"] == ((5, 21),) and "rearing" not in annotation.open
    while annotation.history:
        annotation.undo()
    assert annotation.undo() == "Nothing to undo."
    assert all(stretches == () for stretches in annotation.stretches.values())
    with pytest.raises(ValueError, match="frame 100 is outside the recording"):
        annotation.toggle("grooming", 100)


def test_a_table_makes_an_annotation_that_saves_it_back():
    table = _annotated().table()
    again = Annotation.from_table(table, 10.0)
    assert again.stretches[REVIEWED] == ((0, 50),)
    assert again.table().equals(table)


def test_saved_files_read_back_in_both_formats(tmp_path):
    annotation = _annotated()
    video = tmp_path / "m1.mp4"
    ours, boris = save(annotation, video, tmp_path / "app")
    assert ours == tmp_path / "m1.csv" and boris.name == "m1.boris.tsv"
    # Not beside the video: ingest and import would find two label files for it.
    assert boris.is_relative_to(tmp_path / "app")
    assert read_labels(ours).equals(annotation.table())
    # BORIS: the bouts, and the unknown frames as "Unlabelled" events.
    back = read_label_file(boris, mapping={}, fps=10.0, frame_count=100)
    assert back.equals(annotation.table())


def test_saving_never_replaces_a_file_it_did_not_write(tmp_path):
    video, app = tmp_path / "m1.mp4", tmp_path / "app"
    theirs = tmp_path / "m1.csv"
    theirs.write_text("Grooming,Rearing\n1,1\n")
    assert foreign_file(video, app) == theirs
    save(_annotated(), video, app)  # the page asked, and was told to replace it
    assert foreign_file(video, app) is None  # ours now: saved again without asking
    theirs.write_text(theirs.read_text().replace("0,0", "1,0", 1))  # changed by hand
    assert foreign_file(video, app) == theirs


def test_nothing_or_an_open_bout_is_not_saved(tmp_path):
    with pytest.raises(UserError, match="Nothing to save yet"):
        save(Annotation(100, 10.0), tmp_path / "m1.mp4", tmp_path)
    annotation = _annotated()
    annotation.toggle("grooming", 30)
    with pytest.raises(UserError, match=r"still open before saving: grooming \(frame 30\)"):
        save(annotation, tmp_path / "m1.mp4", tmp_path)
    assert not (tmp_path / "m1.csv").exists()


def test_ethogram_picture_shows_bouts_reviewed_unknown_and_the_cursor():
    annotation = _annotated()
    picture = ethogram_picture(annotation, cursor=80, width=100)
    assert picture.shape == (52, 100, 3) and picture.dtype == np.uint8
    grooming_band = picture[12]
    assert (grooming_band[7] == (31, 119, 180)).all()  # a bout: its colour (matplotlib C0)
    assert (grooming_band[30] == 200).all()  # reviewed, no grooming: grey
    assert (grooming_band[70] == 255).all()  # unknown: white
    assert (picture[:, 80] == (220, 0, 0)).all()  # the cursor
    zoomed = ethogram_picture(annotation, cursor=61, frames=(55, 65), width=100)
    assert (zoomed[40, 50:60] == (255, 127, 14)).all()  # rearing band, frame 60: a bout
    assert (zoomed[:, 65] == (220, 0, 0)).all()  # frame 61: the middle of its columns


def test_bout_list_in_time_order():
    listed = _annotated().bout_list()
    assert listed[["mark", "first_frame", "last_frame"]].values.tolist() == [
        ["reviewed", 0, 49],
        ["grooming", 5, 10],
        ["rearing", 60, 62],
    ]
    assert listed.end_s.tolist() == [5.0, 1.1, 6.3]
