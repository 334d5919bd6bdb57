"""The researchers' web app: its page logic on real synthetic recordings with real (tiny,
untrained, posture-only) champions in a real MLflow registry, then every page through
Streamlit's AppTest. Browser tests against the running server are in ``tests/e2e/browser/``."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethoflow.config import Settings, load_settings
from ethoflow.evaluation.summaries import video_summary
from ethoflow.io.interchange import write_label_file
from ethoflow.io.labels import bouts, read_labels
from ethoflow.io.video import VideoReader
from ethoflow.labelling.batch import write_batch_report
from ethoflow.runtime.users import USER_HEADER, login_name, web_user
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.ui import annotate, files, recording, results, review
from helpers.app import GROOMING, REARING, set_thresholds
from helpers.champions import HEADS, empty_store, write_params

pytestmark = pytest.mark.slow  # every page of the app, through AppTest

# ``project``: the tiny champions (untrained posture-only TCNs, registered and aliased in a real
# MLflow store; tests/conftest.py).
APP = Path(__file__).parents[2] / "src" / "ethoflow" / "ui" / "app.py"


@pytest.fixture(scope="session")
def prefect_harness():
    """The champions fixture asks for Prefect's test API; the app labels without Prefect."""
    yield


@dataclass(frozen=True)
class App:
    params: Path
    settings: Settings
    data: Path  # the app's folder
    video: Path  # 6 s, condition 1 (10 fps, 320x320), 60 frames
    labels: Path  # its label file as the lab writes it (old format)
    hand_labels: Path  # a label file with known bouts (new format)
    labeller: results.Labeller


@pytest.fixture(scope="module")
def app(project, tmp_path_factory) -> App:
    root = tmp_path_factory.mktemp("ui")
    params = project.write_params(root, ui={"data": "appdata", "max_upload_mb": 1})
    settings = load_settings(params)
    # The lab's recordings (paths.raw): a video and its label file in the old format.
    video = settings.paths.raw / "condition_1" / "m1.mp4"
    labels = video.with_suffix(".csv")
    frames = write_recording(
        video, labels, root / "truth" / "m1.csv", condition=CONDITIONS[0], seconds=6, seed=5
    )
    hand = np.zeros((frames, 2), int)
    hand[slice(*GROOMING), 0] = 1
    hand[slice(*REARING), 1] = 1
    hand_labels = root / "hand.csv"
    pd.DataFrame(hand, columns=["Grooming", "Rearing"]).to_csv(hand_labels, index=False)
    # Untrained champions are sure of everything at threshold 0.5 (probabilities ~0.9): give them
    # the thresholds an evaluation would, inside their range, so some frames are unsure.
    labeller = results.load_labeller(settings)
    scratch = results.label(labeller, project.good, root / "scratch")
    labeller = set_thresholds(project, labeller, pd.read_csv(scratch.outputs / "labels.csv"))
    # The nightly outbox: one video labelled, one quarantined, as the label flow leaves them.
    broken = root / "inbox" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_text("not a video")
    outcomes = [
        results.label(labeller, project.good, settings.paths.outbox),
        results.label(labeller, broken, settings.paths.outbox),
    ]
    write_batch_report(outcomes, "inbox", settings.paths.outbox)
    data = files.data_folder(settings, params)
    return App(params, settings, data, video, labels, hand_labels, labeller)


# --- uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("m1.mp4", "m1.mp4"),
        ("../../etc/cron.d/evil.mp4", "evil.mp4"),
        ("C:\\Users\\lab\\cage 1 – mouse é.MP4", "cage_1_mouse_e.mp4"),
        (".hidden.csv", "hidden.csv"),
        ("", "upload"),
        ("x" * 300 + ".avi", "x" * 116 + ".avi"),
    ],
)
def test_upload_names_are_sanitised(name, safe):
    assert files.safe_name(name) == safe


@pytest.mark.parametrize(
    ("name", "size", "kind", "message"),
    [
        ("notes.txt", 10, "video", r"notes.txt is not a video: upload a .mp4, .avi, .mov or .mkv"),
        ("m1.mp4", 10, "labels", r"m1.mp4 is not a label table: upload a .csv file"),
        ("m1.mp4", 0, "video", r"m1.mp4 is empty \(0 bytes\)"),
        ("m1.mp4", 3 * files.MB, "video", r"m1.mp4 is 3.0 MB, more than the limit of 1 MB"),
        ("m1.mp4", 30 * files.MB, "video", r"m1.mp4 is 30 MB, more than the limit of 1 MB"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(name, size, kind, message):
    with pytest.raises(files.UserError, match=message):
        files.check_upload(name, size, kind=kind, max_mb=1)


def test_upload_is_kept_inside_the_app_folder_once(app, tmp_path):
    folder = tmp_path / "uploads"
    content = app.video.read_bytes()
    kept = [
        files.keep_upload(
            io.BytesIO(content), "../m 1.mp4", len(content), kind="video", max_mb=1, folder=folder
        )
        for _ in range(2)
    ]
    assert kept[0] == kept[1]
    assert kept[0].is_relative_to(folder) and kept[0].name == "m_1.mp4"
    assert kept[0].read_bytes() == content
    assert [p for p in folder.rglob("*") if p.is_file()] == [kept[0]]  # no temporary left


def test_unreadable_video_upload_is_refused_and_not_kept(tmp_path):
    folder = tmp_path / "uploads"
    content = b"this is a text file, renamed"
    with pytest.raises(files.UserError, match="m1.mp4 cannot be used as a video: cannot be opened"):
        files.keep_upload(
            io.BytesIO(content), "m1.mp4", len(content), kind="video", max_mb=1, folder=folder
        )
    assert not [p for p in folder.rglob("*") if p.is_file()]


def test_app_folder_is_relative_to_params(app):
    assert app.data == app.params.parent / "appdata"


# --- manual mode -------------------------------------------------------------------------------


def test_reader_seeks_to_the_frames_a_viewer_asks_for(app):
    reader = VideoReader(app.video)
    every = list(reader)
    wanted = [0, 1, 2, 30, 31, 58, 59, 500]
    got = dict(reader.read_frames(wanted))
    assert sorted(got) == [0, 1, 2, 30, 31, 58, 59]  # past the end: left out
    for index, frame in got.items():
        assert np.array_equal(frame, every[index]), index


def test_recording_with_the_labs_old_format_labels(app):
    rec = recording.load_recording(app.video, app.labels)
    expected = read_labels(app.labels)
    assert rec.heads == ["grooming", "rearing"]
    assert len(rec.table) == rec.frame_count == len(expected) == 60
    assert rec.table[["grooming", "rearing"]].equals(expected)
    assert rec.table.found.mean() > 0.9
    assert rec.background.shape == (320, 320)
    assert 200 < rec.arena_side_px <= 320


def test_bouts_filter_and_summary_of_hand_labels(app):
    rec = recording.load_recording(app.video, app.hand_labels)
    listed = recording.bout_list(rec.table, rec.heads, rec.fps)
    assert listed[["behaviour", "first_row", "last_row"]].values.tolist() == [
        ["grooming", GROOMING[0], GROOMING[1] - 1],
        ["rearing", REARING[0], REARING[1] - 1],
    ]
    assert recording.next_bout(rec.table, "rearing", 0) == REARING[0]
    assert recording.next_bout(rec.table, "rearing", REARING[0]) == REARING[0]  # wraps round
    assert recording.next_bout(rec.table, "grooming", 30) == GROOMING[0]
    summary = recording.summary(rec, arena_side_cm=40)
    table = recording.bout_table(summary)
    grooming = table.set_index("behaviour").loc["grooming"]
    assert grooming.bouts == 1
    assert grooming.total_s == pytest.approx(1.4)
    assert grooming.mean_duration_s == pytest.approx(1.4)
    assert grooming.latency_s == pytest.approx(1.2)
    # Movement over time adds up to the summary's distance (the same library function's).
    moved = recording.movement(rec.table, rec.fps, recording.pixels_per_cm(rec.arena_side_px, 40))
    assert moved.distance_cm.iloc[-1] == pytest.approx(summary["distance_cm"], rel=0.01)
    assert len(moved) == 6


def test_label_rows_not_matching_the_video_are_explained(app, tmp_path):
    short = tmp_path / "short.csv"
    pd.read_csv(app.hand_labels).head(40).to_csv(short, index=False)
    with pytest.raises(files.UserError, match="short.csv has 40 label rows but m1.mp4 has 60"):
        recording.load_recording(app.video, short)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("time,speed\n0,1\n")
    with pytest.raises(files.UserError, match="wrong.csv: missing label column"):
        recording.load_recording(app.video, wrong)


def test_overlay_clip_and_heatmap(app):
    rec = recording.load_recording(app.video, app.hand_labels)
    raw = dict(VideoReader(app.video).read_frames([GROOMING[0]]))[GROOMING[0]]
    (drawn,) = recording.frames_at(app.video, rec.table, [GROOMING[0]], rec.heads)
    assert drawn.shape == raw.shape
    assert np.abs(drawn[..., ::-1].astype(int) - raw).max() > 100  # centre, ellipse, label drawn
    pictures = recording.frames_at(app.video, rec.table, list(range(10)), rec.heads, scale=0.5)
    gif = recording.clip_gif(pictures, rec.fps)
    from PIL import Image

    clip = Image.open(io.BytesIO(gif))
    assert clip.format == "GIF" and clip.n_frames == 10
    picture = recording.heatmap(rec.background, rec.table)
    assert picture.shape == (320, 320, 3)


# --- automatic mode and nightly results --------------------------------------------------------


@pytest.fixture(scope="module")
def no_champion(tmp_path_factory) -> Path:
    """params.yaml of a project whose registry holds no model yet."""
    root = tmp_path_factory.mktemp("no-champion")
    return write_params(root, empty_store(root / "mlflow"))


def test_no_champion_says_what_to_run(no_champion):
    with pytest.raises(files.UserError, match=r"has no 'champion' version.*ethoflow retrain"):
        results.champion_key(load_settings(no_champion))


def test_champion_key_follows_the_registry(app):
    key = results.champion_key(app.settings)
    assert [(head, version) for head, version, *_ in key] == [("grooming", "1"), ("rearing", "1")]
    assert [threshold for _, _, threshold, *_ in key] == [
        app.labeller.heads[h].threshold for h in HEADS
    ]


def test_labelling_an_upload_gives_the_label_flows_outputs(app, tmp_path):
    outcome = results.label(app.labeller, app.video, tmp_path / "labelled")
    assert outcome.status == "labelled", outcome.reason
    labelled = results.read_labelled(outcome.outputs)
    assert len(labelled.table) == 60
    assert labelled.heads == ["grooming", "rearing"]
    expected = video_summary(labelled.table, labelled.heads, 10.0, None)["heads"]
    table = results.bouts_of(labelled).set_index("behaviour")
    for head in labelled.heads:
        assert table.loc[head, "bouts"] == expected[head]["bouts"]
        assert table.loc[head, "total_s"] == expected[head]["total_s"]
    models = results.models_table(labelled.summary)
    assert models.version.tolist() == ["1", "1"]
    assert models.threshold.tolist() == [app.labeller.heads[h].threshold for h in HEADS]
    assert labelled.ethogram.is_file()


def test_outbox_lists_labelled_and_quarantined_videos(app):
    listing = results.list_outbox(app.settings.paths.outbox)
    by_video = listing.set_index("video")
    assert by_video.loc["good", "status"] == "labelled"
    assert by_video.loc["good", "bouts"].startswith("grooming ")
    assert by_video.loc["broken", "status"] == "quarantined"
    assert "cannot be opened as a video" in by_video.loc["broken", "reason"]


# --- review queue ------------------------------------------------------------------------------


def _labelled(probability: list[float], labels: list[int], threshold: float = 0.5):
    n = len(probability)
    table = pd.DataFrame(
        {
            "frame": range(n),
            "time_s": np.arange(n) / 10,
            "grooming": labels,
            "grooming_probability": probability,
        }
    )
    summary = {
        "video_id": "v",
        "source": "v.mp4",
        "clock_fps": 10.0,
        "heads": {"grooming": {}},
        "models": {"grooming": {"model": "m", "version": "1", "threshold": threshold}},
    }
    return results.Labelled(Path("v"), table, summary)


def test_review_finds_unsure_smoothed_and_short_stretches_and_ranks_them():
    sure_no, sure_yes = [0.02] * 20, [0.98] * 20
    probability = (
        sure_no
        + [0.45, 0.55, 0.48, 0.46]
        + sure_no  # near the threshold: rows 20-23
        + [0.9, 0.1, 0.9]
        + sure_no  # raw 1, 0, 1 smoothed to 1, 1, 1: rows 44-46
        + sure_yes[:5]
        + sure_no  # a confident but short bout: rows 67-71
        + sure_yes
        + sure_no  # a sure bout, rows 92-111: to confirm, with 2 rows of context either side
    )
    labels = [int(p >= 0.5) for p in probability]
    labels[44:47] = [1, 1, 1]
    stretches = review.review_stretches(_labelled(probability, labels), context_s=0.2)
    by_start = {s.start: s for s in stretches}
    assert sorted(by_start) == [20, 44, 67, 90]
    assert [by_start[start].stop for start in (20, 44, 67, 90)] == [24, 47, 72, 114]
    assert by_start[20].reasons == "probability near the threshold, short bout"
    assert by_start[44].reasons == "smoothing changed the labels, short bout"
    assert by_start[67].reasons == "short bout"
    assert by_start[90].reasons == "a sure bout to confirm"
    assert [s.start for s in stretches] == [20, 44, 67, 90]  # most unsure first, sure bouts last
    assert [s.label for s in stretches] == [0, 1, 1, 1]
    clip = review.clip_rows(by_start[20], _labelled(probability, labels), context_s=0.2)
    assert clip == list(range(18, 26))
    long = review.clip_rows(by_start[20], _labelled(probability, labels), 2.0, max_rows=10)
    assert len(long) == 10 and long[0] == 0 and long[-1] == 43


def test_review_queue_of_a_labelled_video(app):
    labelled = results.read_labelled(app.settings.paths.outbox / "good")
    stretches = review.review_stretches(labelled, limit=50)
    assert stretches, "with the evaluated thresholds some frames are unsure"
    for head in {s.head for s in stretches}:  # the behaviours take turns, each most unsure first
        scores = [s.score for s in stretches if s.head == head]
        assert scores == sorted(scores, reverse=True)
    for s in stretches:
        assert 0 <= s.start < s.stop <= len(labelled.table)
        assert s.reasons


def test_source_frame_labels_follow_the_clock():
    # A 30 fps video on the 10 fps clock: rows show frames 0, 3, 6; 8 source frames.
    table = pd.DataFrame(
        {"frame": [0, 3, 6], "grooming": [0, 1, None], "rearing": [1, 0, 0]}, dtype="Int8"
    )
    back = review.source_frame_labels(table, 8)
    assert back.grooming.tolist() == [0, 0, 0, 1, 1, 1, pd.NA, pd.NA]
    assert back.rearing.tolist() == [1, 1, 1, 0, 0, 0, 0, 0]


def test_answers_are_exported_as_partial_labels_next_to_the_video(app, tmp_path):
    """The exported file holds the answers on the answered stretches' frames, for the answered
    behaviour only; every other cell is unknown, never the models' guesses."""
    labelled = results.read_labelled(app.settings.paths.outbox / "good")
    first, other = review.review_stretches(labelled)[:2]
    data = tmp_path / "appdata"
    corrected = 1 - first.label
    path = review.decide(labelled, first, corrected, data, reviewer="rita")
    assert path.is_relative_to(data) and path.name == "good.csv"
    assert (path.parent / "good.mp4").read_bytes() == labelled.video.read_bytes()
    frame_count = VideoReader(labelled.video).frame_count

    def answered(*stretches: review.Stretch) -> dict[str, set[int]]:
        # The source frames each stretch's rows show, up to the next row's frame.
        frames = [*labelled.table.frame, frame_count]
        spans: dict[str, set[int]] = {"grooming": set(), "rearing": set()}
        for s in stretches:
            spans[s.head] |= set(range(frames[s.start], frames[s.stop]))
        return spans

    labels = read_labels(path)  # the project's own reader accepts it
    assert len(labels) == frame_count
    known = answered(first)
    for head in ("grooming", "rearing"):
        assert set(np.flatnonzero(labels[head].notna())) == known[head]
    assert (labels[first.head].dropna() == corrected).all()
    # A second answer (a confirmation) is added to the decisions, and the file follows both.
    review.decide(labelled, other, other.label, data, reviewer="maya")
    decisions = json.loads((path.parent / review.DECISIONS_FILE).read_text())
    assert [d["value"] == d["was"] for d in decisions] == [False, True]
    assert [d["reviewer"] for d in decisions] == ["rita", "maya"]
    labels = read_labels(path)
    known = answered(first, other)
    for head in ("grooming", "rearing"):
        assert set(np.flatnonzero(labels[head].notna())) == known[head]
    assert (
        labels[other.head]
        .iloc[sorted(known[other.head] - answered(first)[other.head])]
        .eq(other.label)
        .all()
    )
    assert review.answered_recordings(data) == [(path.parent / "good.mp4", path)]
    assert review.answered_recordings(tmp_path / "nothing-reviewed") == []


def test_bouts_helper_is_the_evaluation_one(app):
    # The bout list is built on ethoflow.io.labels.bouts: the same runs the summaries count.
    rec = recording.load_recording(app.video, app.hand_labels)
    for head in rec.heads:
        runs = bouts(rec.table[head].to_numpy())
        listed = recording.bout_list(rec.table, [head], rec.fps)
        assert list(zip(listed.first_row, listed.last_row + 1, strict=True)) == runs


# --- the pages, through Streamlit's AppTest ----------------------------------------------------


@pytest.fixture
def at(app, monkeypatch, frozen_heap):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ETHOFLOW_PARAMS", str(app.params))
    return AppTest.from_file(str(APP), default_timeout=60)


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_automatic_page_labels_an_upload(app, at):
    at.run()
    assert at.sidebar.radio(key="page").value == "Automatic labelling"
    at.file_uploader(key="auto_videos").set_value(("m1.mp4", app.video.read_bytes(), "video/mp4"))
    at.run()
    at.button(key="auto_label").click().run()
    assert not at.exception and not at.error, _texts(at.error)
    assert at.progress[0].value == 100 and "labelled" in at.progress[0].text
    bouts_shown = _table(at, "mean_duration_s")
    assert bouts_shown.behaviour.tolist() == ["grooming", "rearing"]
    assert _table(at, "threshold").version.tolist() == ["1", "1"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Per-frame labels (CSV)", "Bout table (CSV)", "Summary (JSON)"]
    folder = next((app.data / "labelled").iterdir())
    assert folder.name == "m1" and (folder / "record.json").is_file()


def _table(at, column: str) -> pd.DataFrame:
    """The first table or dataframe shown with ``column``, its index as a column."""
    tables = [t.value for t in [*at.table, *at.dataframe]]
    return next(t.reset_index() for t in tables if column in t.reset_index())


def test_automatic_page_explains_bad_uploads(at):
    at.run()
    big = b"\0" * (3 * files.MB // 2)  # the app's limit is 1 MB here
    uploads = [("notes.txt", b"hello", "text/plain"), ("big.mp4", big, "video/mp4")]
    at.file_uploader(key="auto_videos").set_value(uploads)
    at.run()
    at.button(key="auto_label").click().run()
    assert not at.exception
    assert "notes.txt is not a video" in _texts(at.error)
    assert "big.mp4 is 1.5 MB, more than the limit of 1 MB (ui.max_upload_mb" in _texts(at.error)
    assert not at.progress  # nothing labelled


def test_automatic_page_without_champion_says_what_to_run(app, no_champion, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ETHOFLOW_PARAMS", str(no_champion))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.file_uploader(key="auto_videos").set_value(("m1.mp4", app.video.read_bytes(), "video/mp4"))
    at.run()
    at.button(key="auto_label").click().run()
    assert not at.exception
    assert "has no 'champion' version" in _texts(at.error)
    assert "ethoflow retrain" in _texts(at.error)


def test_manual_page_overlay_and_bout_filter(app, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    at.file_uploader(key="manual_video").set_value(("m1.mp4", app.video.read_bytes(), "video/mp4"))
    at.file_uploader(key="manual_labels").set_value(
        ("hand.csv", app.hand_labels.read_bytes(), "text/csv")
    )
    at.run()
    assert not at.exception and not at.error, _texts(at.error)
    assert at.slider(key="manual_frame").value == 0
    at.selectbox(key="manual_behaviour").set_value("rearing").run()
    at.button(key="manual_next").click().run()
    assert at.slider(key="manual_frame").value == REARING[0]
    captions = [c for image in at.image for c in image.captions]
    assert any(f"frame {REARING[0]}" in c and "rearing" in c for c in captions), captions


def test_manual_page_opens_the_labs_recordings(app, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    at.radio(key="manual_source").set_value("From the lab's recordings").run()
    assert not at.exception and not at.error, _texts(at.error)
    assert at.selectbox(key="manual_raw").value == app.video
    expected = read_labels(app.labels)
    shown = _table(at, "mean_duration_s").set_index("behaviour")
    for head in ("grooming", "rearing"):
        assert shown.loc[head, "bouts"] == len(bouts(expected[head].to_numpy()))


def test_manual_page_explains_labels_of_another_video(app, at, tmp_path):
    short = tmp_path / "other.csv"
    pd.read_csv(app.hand_labels).head(30).to_csv(short, index=False)
    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    at.file_uploader(key="manual_video").set_value(("m1.mp4", app.video.read_bytes(), "video/mp4"))
    at.file_uploader(key="manual_labels").set_value(("other.csv", short.read_bytes(), "text/csv"))
    at.run()
    assert not at.exception
    assert "other.csv has 30 label rows but m1.mp4 has 60 frames" in _texts(at.error)


def test_nightly_page_lists_the_outbox(at):
    at.run()
    at.sidebar.radio(key="page").set_value("Nightly results").run()
    assert not at.exception and not at.error, _texts(at.error)
    listing = _table(at, "status")
    assert set(listing.video) == {"good", "broken"}
    assert at.selectbox(key="nightly_open").value.endswith("good")
    assert any(b.label == "Per-frame labels (CSV)" for b in at.get("download_button"))


def test_review_page_saves_a_correction(app, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Review queue").run()
    at.selectbox(key="review_video").set_value(str(app.settings.paths.outbox / "good")).run()
    assert not at.exception and not at.error, _texts(at.error)
    at.button(key="review_no").click().run()
    assert not at.exception
    (saved,) = map(Path, at.session_state["review_saved"].values())
    assert saved.is_relative_to(app.data)
    assert "Saved your answers as partial labels" in _texts(at.success)
    labels = read_labels(saved)
    assert len(labels) == 30 and labels.isna().any().all()  # unanswered frames are unknown
    table = _table(at, "answer")
    assert table.answer.iloc[0] == "no"
    # No proxy in front: the answer is the login name's.
    decisions = json.loads((saved.parent / review.DECISIONS_FILE).read_text())
    assert [d["reviewer"] for d in decisions] == [login_name()]


def test_review_page_shows_a_setups_progress_from_its_rounds(app, at, monkeypatch, tmp_path):
    """A set-up being adapted: the minutes answered on its recordings in the app's review folder,
    and its rounds as ``ethoflow adapt`` logs them to MLflow (the real ``log_round``)."""
    from mlflow import MlflowClient

    from ethoflow.labelling.adaptation import QUEUE_FILE, adapt_folder, write_sources
    from ethoflow.mlops.adaptation import log_round

    setup = "cage_new"
    labelled = results.read_labelled(app.settings.paths.outbox / "good")
    write_sources(app.settings, setup, tmp_path / "recordings", None)
    queue = pd.DataFrame({"video": ["good"], "head": ["grooming"], "start_s": [0.0]})
    queue.to_csv(adapt_folder(app.settings, setup) / QUEUE_FILE, index=False)
    stretches = review.review_stretches(labelled)[:2]
    for stretch in stretches:
        review.decide(labelled, stretch, stretch.label, app.data, reviewer="rita")
    decisions = review.read_decisions(review.review_folder(app.data, labelled))  # others' too
    minutes = sum(d["end_s"] - d["start_s"] for d in decisions) / 60
    client = MlflowClient(app.settings.tracking_uri)
    scores = [{"f1": 0.41, "pr_auc": 0.52}, {"f1": 0.83, "pr_auc": 0.9}]
    for number, score in enumerate(scores, start=1):
        log_round(
            setup,
            number,
            strategy="queue",
            minutes=0.5 * number,
            stretches=3 * number,
            after={head: {setup: score, "condition_1": {"f1": 0.9}} for head in HEADS},
            promoted={head: number == 2 for head in HEADS},
            client=client,
        )
    monkeypatch.setenv("ETHOFLOW_MAINTAINERS", f"maya {login_name()}")
    at.run()
    at.sidebar.radio(key="page").set_value("Review queue").run()
    assert not at.exception and not at.error, _texts(at.error)
    assert at.selectbox(key="adapt_setup").value == setup
    shown = {m.label: m.value for m in at.metric}
    assert shown["Minutes answered"] == f"{minutes:.2f}"
    assert shown["Stretches answered"] == str(len(decisions))
    assert shown["Rounds"] == "2"
    rounds = _table(at, "minutes reviewed")
    assert rounds["round"].tolist() == [1, 2]
    assert rounds["minutes reviewed"].tolist() == [0.5, 1.0]
    assert rounds["stretches"].tolist() == [3, 6]
    assert rounds["grooming F1"].tolist() == [0.41, 0.83]
    assert rounds["rearing PR-AUC"].tolist() == [0.52, 0.9]
    assert rounds["rearing promoted"].tolist() == ["no", "yes"]
    assert at.button(key="adapt_start").label == "Start a round"
    # A researcher (not in ETHOFLOW_MAINTAINERS) sees the progress but no button.
    monkeypatch.setenv("ETHOFLOW_MAINTAINERS", "maya")
    at.run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "adapt_start"]
    assert "A maintainer starts the next round" in _texts(at.caption)


def test_the_reviewer_is_the_user_the_proxy_checked(monkeypatch):
    assert web_user({USER_HEADER: "rita"}) == "rita"
    monkeypatch.setattr("getpass.getuser", lambda: "labpc")
    assert web_user({}) == web_user({USER_HEADER: " "}) == "labpc"


# --- the annotation page -----------------------------------------------------------------------


def _annotate(at, *keys: str) -> None:
    """Press the annotation page's buttons ``keys`` in turn (the keyboard presses the same)."""
    for key in keys:
        at.button(key=f"annotate_{key}").click().run()
        assert not at.exception and not at.error, _texts(at.error)


def test_annotate_page_marks_bouts_and_saves_them_with_unknown_frames(app, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Annotate").run()
    at.file_uploader(key="annotate_upload").set_value(
        ("m1.mp4", app.video.read_bytes(), "video/mp4")
    )
    at.run()
    assert at.radio(key="annotate_start").value.startswith("Nothing")
    _annotate(at, "begin", "mark_reviewed", "Shift+Right", "mark_grooming")  # frame 10
    _annotate(at, *["Right"] * 4, "mark_grooming", "Shift+Right", "mark_reviewed")  # 14, 24
    _annotate(at, "mark_rearing", "Right", "mark_rearing", "undo")  # undone: rearing still open
    assert at.button(key="annotate_mark_rearing").label == "Rearing stop"
    at.button(key="annotate_save").click().run()
    assert "still open before saving: rearing (frame 24)" in _texts(at.error)
    at.button(key="annotate_remove_rearing").click().run()
    _annotate(at, "save")
    assert "Saved" in _texts(at.success)
    # Beside the upload: in the folder named by its content.
    folder = app.data / "uploads" / hashlib.sha256(app.video.read_bytes()).hexdigest()[:12]
    labels = read_labels(folder / "m1.csv")
    assert len(labels) == 60
    assert labels.grooming[10:15].eq(1).all() and labels.grooming[:10].eq(0).all()
    assert labels.grooming[15:25].eq(0).all() and labels.rearing[:25].eq(0).all()
    assert labels[25:].isna().all().all()  # not reviewed: unknown
    labels_shown = [b.label for b in at.get("download_button")]
    assert "The same labels for BORIS (TSV)" in labels_shown
    assert [p.name for p in (app.data / "annotate" / "boris").rglob("*.tsv")] == ["m1.boris.tsv"]
    assert "`ethoflow import" in _texts(at.success)  # an upload: imported into raw to train
    captions = [c for image in at.image for c in image.captions]
    assert any(c.startswith("frame 25 · 2.50 s") for c in captions), captions


def test_annotate_page_asks_before_replacing_a_label_file_it_did_not_write(app, at):
    video = app.settings.paths.raw / "condition_2" / "m2.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(app.video.read_bytes())
    theirs = video.with_suffix(".csv")
    theirs.write_bytes(app.hand_labels.read_bytes())
    at.run()
    at.sidebar.radio(key="page").set_value("Annotate").run()
    at.radio(key="annotate_source").set_value("From the lab's recordings").run()
    at.selectbox(key="annotate_pick").set_value(video).run()
    at.radio(key="annotate_start").set_value("The label file beside it (m2.csv)").run()
    _annotate(at, "begin")
    shown = _table(at, "first_frame")
    assert shown[["mark", "first_frame", "last_frame"]].values.tolist() == [
        ["reviewed", 0, 59],
        ["grooming", GROOMING[0], GROOMING[1] - 1],
        ["rearing", REARING[0], REARING[1] - 1],
    ]
    _annotate(at, "remove_grooming", "save")  # frame 0: no bout there
    assert "m2.csv already exists beside the video and was not written" in _texts(at.warning)
    assert theirs.read_bytes() == app.hand_labels.read_bytes()  # asked, not replaced
    _annotate(at, "Shift+Right", "Shift+Right", "remove_grooming", "replace")
    saved = read_labels(theirs)
    assert saved.grooming.eq(0).all() and saved.rearing[slice(*REARING)].eq(1).all()
    _annotate(at, "Right", "save")  # its own file now: saved without asking
    assert not at.warning and "Saved" in _texts(at.success)


def test_annotate_page_starts_from_the_champions_draft(app, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Annotate").run()
    at.radio(key="annotate_source").set_value("From the lab's recordings").run()
    at.selectbox(key="annotate_pick").set_value(app.video).run()
    at.radio(key="annotate_start").set_value(
        "The champions' labels: a draft to accept or fix"
    ).run()
    _annotate(at, "begin")
    assert "The champions' labels are a draft" in _texts(at.info)
    labelled = results.read_labelled(app.data / "labelled" / "m1")
    draft = annotate.champions_draft(labelled, 60)
    work = at.session_state["annotation"]
    assert work["annotation"].table().equals(draft)
    assert draft.notna().all().all()  # the champions said something of every frame


def test_annotate_page_without_champions_offers_no_draft(app, no_champion, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ETHOFLOW_PARAMS", str(no_champion))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.sidebar.radio(key="page").set_value("Annotate").run()
    at.file_uploader(key="annotate_upload").set_value(
        ("m1.mp4", app.video.read_bytes(), "video/mp4")
    )
    at.run()
    assert not at.exception
    assert "No draft from the champions" in _texts(at.info)
    assert "ethoflow retrain" in _texts(at.info)
    assert all("champions" not in option for option in at.radio(key="annotate_start").options)


def test_annotate_page_refuses_the_label_file_of_another_recording(app, at):
    video = app.settings.paths.raw / "condition_3" / "m3.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(app.video.read_bytes())
    pd.read_csv(app.hand_labels).head(30).to_csv(video.with_suffix(".csv"), index=False)
    at.run()
    at.sidebar.radio(key="page").set_value("Annotate").run()
    at.radio(key="annotate_source").set_value("From the lab's recordings").run()
    at.selectbox(key="annotate_pick").set_value(video).run()
    at.radio(key="annotate_start").set_value("The label file beside it (m3.csv)").run()
    at.button(key="annotate_begin").click().run()
    assert not at.exception
    assert "m3.csv has 30 label rows but m3.mp4 has 60 frames" in _texts(at.error)
    assert "annotation" not in at.session_state


def test_manual_page_shows_a_partial_label_file(app, at, tmp_path):
    """Frames nobody labelled stay unknown in the viewer: no bout is made of them, none of
    them reads as 'no behaviour', and the rows past a short file's end are unknown too."""
    partial = read_labels(app.hand_labels)
    partial.loc[GROOMING[0] + 3 :, "grooming"] = pd.NA  # the grooming bout's end is unknown
    path = tmp_path / "partial.csv"
    write_label_file(partial.head(59), path, "ethoflow")
    rec = recording.load_recording(app.video, path)
    assert rec.table.grooming.isna().sum() == len(rec.table) - GROOMING[0] - 3
    assert rec.table.rearing.isna().tolist() == [False] * 59 + [True]
    listed = recording.bout_list(rec.table, rec.heads, rec.fps)
    assert listed[["behaviour", "first_row", "last_row"]].values.tolist() == [
        ["grooming", GROOMING[0], GROOMING[0] + 2],
        ["rearing", REARING[0], REARING[1] - 1],
    ]

    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    at.file_uploader(key="manual_video").set_value(("m1.mp4", app.video.read_bytes(), "video/mp4"))
    at.file_uploader(key="manual_labels").set_value(("p.csv", path.read_bytes(), "text/csv"))
    at.run()
    assert not at.exception and not at.error, _texts(at.error)
    at.selectbox(key="manual_behaviour").set_value("grooming").run()
    at.button(key="manual_next").click().run()
    assert at.slider(key="manual_frame").value == GROOMING[0]
