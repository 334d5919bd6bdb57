"""The app's pages: Streamlit widgets wired to the functions of :mod:`ethoflow.ui` (no logic here).

Settings come from ``ETHOFLOW_PARAMS`` (``ethoflow ui --params`` sets it; default
``params.yaml``). Everything the app writes goes under ``ui.data``: uploads in ``uploads/``,
their labels in ``labelled/``, review answers and partial label files in ``review/``, the
Annotate page's record and BORIS copies in ``annotate/``; but that page's label file, beside its
recording (:mod:`ethoflow.ui.annotate`). What a
page shows of the server's files is relative to the project's folder (params.yaml's), and no
message shows a password (:func:`ethoflow.ui.files.shown_path`, :func:`~ethoflow.ui.files.
shown_text`).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ethoflow.config import ConfigError, Settings, load_settings
from ethoflow.errors import InputError
from ethoflow.evaluation.plots import plot_ethogram
from ethoflow.io.video import VideoReader
from ethoflow.labelling.adaptation import adapted_setups
from ethoflow.runtime.users import is_maintainer, web_user
from ethoflow.ui import annotate, results, review
from ethoflow.ui import recording as rec
from ethoflow.ui.files import UserError, data_folder, keep_upload, shown_path, shown_text
from ethoflow.vision.openfield import draw_trajectory

PAGES = ("Automatic labelling", "Manual viewer", "Annotate", "Nightly results", "Review queue")


def main() -> None:
    """Load the settings, then draw the page chosen in the sidebar."""
    st.set_page_config(page_title="ethoflow", layout="wide")
    params = Path(os.environ.get("ETHOFLOW_PARAMS", "params.yaml")).resolve()
    try:
        settings = load_settings(params)
    except ConfigError as error:
        st.error(f"The settings cannot be read. {shown_text(str(error), params.parent)}")
        st.stop()
    data = data_folder(settings, params)
    st.sidebar.title("ethoflow")
    page = st.sidebar.radio("Page", PAGES, key="page")
    shown = shown_path(data, params.parent)
    st.sidebar.caption(f"Settings: {params.name}\n\nApp folder: {shown}")
    {
        "Automatic labelling": automatic,
        "Manual viewer": manual,
        "Annotate": annotate_page,
        "Nightly results": nightly,
        "Review queue": review_queue,
    }[page](settings, params, data)


# --- cached loaders: the expensive steps, once per input ------------------------------------


@st.cache_resource(show_spinner="Loading the champion models…", max_entries=2)
def _labeller(params: str, champions: tuple) -> results.Labeller:
    # Keyed on the champions' tags (results.champion_key): a promotion loads the new models.
    labeller = results.load_labeller(load_settings(params))
    # Once Keras is loaded, Streamlit clears its session after every run of the page, with a
    # full gc.collect(): ~1 s per click over TensorFlow's objects. They live as long as the
    # server, so they are left out of the collector's scans.
    gc.collect()
    gc.freeze()
    return labeller


@st.cache_data(show_spinner="Tracking the mouse…", max_entries=8)
def _recording(video: str, labels: str | None, stamp: float, tolerance: int) -> rec.Recording:
    return rec.load_recording(Path(video), Path(labels) if labels else None, tolerance=tolerance)


@st.cache_data(show_spinner="Reading the arena…", max_entries=16)
def _arena(video: str, stamp: float) -> tuple:
    from ethoflow.io.video import VideoReader
    from ethoflow.vision.track import MouseTracker

    tracker = MouseTracker.for_recording(VideoReader(video))
    return tracker.background, tracker.arena_side


def _stamp(*paths: Path | None) -> float:
    return sum(p.stat().st_mtime for p in paths if p is not None and p.exists())


def _upload(upload, kind: str, settings: Settings, data: Path) -> Path | None:
    """Keep an upload, or show why not (None)."""
    try:
        return keep_upload(
            upload,
            upload.name,
            upload.size,
            kind=kind,
            max_mb=settings.ui.max_upload_mb,
            folder=data / "uploads",
        )
    except UserError as error:
        st.error(str(error))
        return None


def _uploader(label: str, settings: Settings, *, key: str, multiple: bool = False):
    """A file uploader whose limit is ``ui.max_upload_mb`` (the server's, which ``ethoflow ui``
    sets to the same, refuses larger requests; :func:`_upload` counts what arrived)."""
    return st.file_uploader(
        label,
        accept_multiple_files=multiple,
        max_upload_size=settings.ui.max_upload_mb,
        key=key,
    )


# --- automatic mode ------------------------------------------------------------------------


def automatic(settings: Settings, params: Path, data: Path) -> None:
    st.header("Automatic labelling")
    st.write(
        "Upload one or more recordings: each is labelled with the current champion models, "
        "the same way as the nightly run."
    )
    uploads = _uploader(
        "Videos (.mp4, .avi, .mov, .mkv)", settings, key="auto_videos", multiple=True
    )
    if st.button("Label", key="auto_label", type="primary", disabled=not uploads):
        try:
            champions = results.champion_key(settings)
        except UserError as error:
            st.error(str(error))
            return
        labeller = _labeller(str(params), champions)
        done = []
        for upload in uploads:
            bar = st.progress(0.0, text=f"{upload.name}: checking the file")
            video = _upload(upload, "video", settings, data)
            if video is None:
                bar.empty()
                continue
            bar.progress(0.2, text=f"{upload.name}: labelling")
            outcome = results.label(labeller, video, data / "labelled")
            bar.progress(1.0, text=f"{upload.name}: {outcome.status}")
            if outcome.status == "quarantined":
                reason = shown_text(outcome.reason, params.parent)
                st.error(f"{upload.name} could not be labelled: {reason}")
            else:
                done.append(str(outcome.outputs))
        st.session_state["auto_results"] = done
    for folder in st.session_state.get("auto_results", []):
        show_labelled(results.read_labelled(Path(folder)), settings, key=f"auto-{folder}")


def show_labelled(labelled: results.Labelled, settings: Settings, *, key: str) -> None:
    """One labelled video: ethogram, bouts, models, movement, frames, downloads."""
    st.subheader(labelled.video_id)
    if "warning" in labelled.summary:
        st.warning(labelled.summary["warning"])
    if alert := results.drift_alert(labelled.summary):
        st.warning(alert)
    st.image(str(labelled.ethogram), caption="Ethogram: probabilities and labelled bouts")
    bouts = results.bouts_of(labelled)
    left, right = st.columns(2)
    # Small tables as static HTML: readable at a glance, and in a browser test.
    left.markdown("**Bouts**")
    left.table(bouts.set_index("behaviour"))
    right.markdown("**Labelled by**")
    right.table(results.models_table(labelled.summary).set_index("behaviour"))
    table = labelled.table
    if labelled.video.is_file():
        background, side_px = _arena(str(labelled.video), _stamp(labelled.video))
        scale = rec.pixels_per_cm(side_px, settings.label.arena_side_cm)
        _movement(table, labelled.fps, background, scale)
        rows = [round(i * (len(table) - 1) / 7) for i in range(8)]
        pictures = rec.frames_at(labelled.video, table, rows, labelled.heads, scale=0.5)
        st.markdown("**Frames with their labels**")
        st.image(pictures, caption=[f"{table.time_s.iloc[r]:.1f} s" for r in rows], width=160)
    else:
        st.info(f"The video {labelled.video.name} is no longer there: no trajectory or frames.")
    buttons = st.columns(3)
    buttons[0].download_button(
        "Per-frame labels (CSV)",
        table.to_csv(index=False),
        file_name=f"{labelled.video_id}-labels.csv",
        mime="text/csv",
        on_click="ignore",  # a download needs no re-run of the page
        key=f"{key}-labels",
    )
    buttons[1].download_button(
        "Bout table (CSV)",
        bouts.to_csv(index=False),
        file_name=f"{labelled.video_id}-bouts.csv",
        mime="text/csv",
        on_click="ignore",
        key=f"{key}-bouts-csv",
    )
    buttons[2].download_button(
        "Summary (JSON)",
        json.dumps(labelled.summary, indent=2),
        file_name=f"{labelled.video_id}-summary.json",
        mime="application/json",
        on_click="ignore",
        key=f"{key}-summary",
    )


def _movement(table, fps: float, background, scale: float | None) -> None:
    """Trajectory, heatmap, and distance and speed over time."""
    tracked = table.assign(found=table.x.notna() & table.y.notna())
    left, right = st.columns(2)
    trajectory = draw_trajectory(background, tracked)[..., ::-1]  # BGR -> RGB
    left.image(trajectory, caption="Trajectory", width="stretch")
    right.image(rec.heatmap(background, table), caption="Where it spent its time", width="stretch")
    moved = rec.movement(table, fps, scale)
    left, right = st.columns(2)
    left.line_chart(moved, x="time_s", y=moved.columns[1], height=220)
    right.line_chart(moved, x="time_s", y=moved.columns[2], height=220)


# --- manual mode ---------------------------------------------------------------------------


def manual(settings: Settings, params: Path, data: Path) -> None:
    st.header("Manual viewer")
    st.write("A recording with its label file: frames, bouts, ethogram, trajectory and movement.")
    source = st.radio(
        "Recording", ("Upload", "From the lab's recordings"), horizontal=True, key="manual_source"
    )
    video = labels = None
    if source == "Upload":
        left, right = st.columns(2)
        with left:
            video_upload = _uploader("Video", settings, key="manual_video")
        with right:
            labels_upload = _uploader(
                "Label CSV (old or new format)", settings, key="manual_labels"
            )
        if video_upload is not None:
            video = _upload(video_upload, "video", settings, data)
        if labels_upload is not None:
            labels = _upload(labels_upload, "labels", settings, data)
    else:
        raw = settings.paths.raw
        # Chosen among what the server lists under paths.raw: the browser sends an index.
        recordings = dict(rec.lab_recordings(raw))
        if not recordings:
            st.info(f"No recordings in {shown_path(raw, params.parent)} yet.")
            return
        video = st.selectbox(
            "Recording",
            list(recordings),
            format_func=lambda p: str(p.relative_to(raw)),
            key="manual_raw",
        )
        labels = recordings[video]
    if video is None:
        if source == "Upload":
            st.info("Upload a video, and its label file to see the labelled behaviour.")
        return
    try:
        recording = _recording(
            str(video),
            str(labels) if labels else None,
            _stamp(video, labels),
            settings.ingest.label_tolerance_frames,
        )
    except UserError as error:
        st.error(str(error))
        return
    if not recording.heads:
        st.info("No label file: the recording is shown with the mouse's track only.")
    for warning in recording.quality.warnings:
        st.warning(f"Track: {warning}.")
    arena_cm = st.number_input(
        "Arena side (cm)",
        min_value=0.0,
        value=float(settings.label.arena_side_cm or 0.0),
        help="The inner side of the open field; 0 gives distances in pixels.",
        key="manual_arena_cm",
    )
    summary = rec.summary(recording, arena_cm or None)
    unit = "cm" if "distance_cm" in summary else "px"
    metrics = st.columns(4)
    metrics[0].metric("Duration", f"{summary['duration_s']:.1f} s")
    metrics[1].metric("Frames", f"{recording.frame_count} at {recording.fps:g} fps")
    metrics[2].metric("Distance", f"{summary[f'distance_{unit}']:.1f} {unit}")
    metrics[3].metric("Mean speed", f"{summary[f'mean_speed_{unit}_s']:.1f} {unit}/s")
    _viewer(recording)
    table, heads, fps = recording.table, recording.heads, recording.fps
    if heads:
        st.markdown("**Bouts**")
        st.table(rec.bout_table(summary).set_index("behaviour"))
        st.dataframe(rec.bout_list(table, heads, fps), hide_index=True, height=200)
        title = f"{recording.video.name}: labels"
        st.pyplot(plot_ethogram(table, heads, fps, title), width="stretch")
    scale = rec.pixels_per_cm(recording.arena_side_px, arena_cm)
    _movement(table, fps, recording.background, scale)


def _jump_to_bout(table, head: str) -> None:
    row = rec.next_bout(table, head, st.session_state.get("manual_frame", 0))
    if row is None:
        st.session_state["manual_note"] = f"No {head} bout in this recording."
    else:
        st.session_state["manual_frame"] = row


def _viewer(recording: rec.Recording) -> None:
    """The frame viewer: slider, next-bout filter, the frame with its overlay, a short clip."""
    table, heads = recording.table, recording.heads
    if st.session_state.get("manual_frame", 0) >= len(table):
        st.session_state["manual_frame"] = 0
    if heads:
        left, right = st.columns([2, 1])
        head = left.selectbox("Behaviour", heads, key="manual_behaviour")
        right.button("Next bout ▶", key="manual_next", on_click=_jump_to_bout, args=(table, head))
        if note := st.session_state.pop("manual_note", None):
            st.info(note)
    row = st.slider("Frame", 0, len(table) - 1, key="manual_frame")
    (picture,) = rec.frames_at(recording.video, table, [row], heads)
    shown = [h for h in heads if int(table[h].iloc[row])] or ["no behaviour"]
    caption = f"frame {row} · {table.time_s.iloc[row]:.2f} s · {', '.join(shown)}"
    st.image(picture, caption=caption, width=480)
    if st.button("Play 5 s from here", key="manual_play"):
        rows = list(range(row, min(len(table), row + round(5 * recording.fps))))
        pictures = rec.frames_at(recording.video, table, rows, heads, scale=0.75)
        st.image(rec.clip_gif(pictures, recording.fps), caption="5 s clip")


# --- annotation ------------------------------------------------------------------------------

# Keys and what they do, as the page lists them (R and C are Streamlit's own: rearing is E).
# Button -> (key, frames, seconds): how far it moves.
STEPS = {
    "−1 s": ("Shift+Left", 0, -1.0),
    "−1": ("Left", -1, 0.0),
    "+1": ("Right", 1, 0.0),
    "+1 s": ("Shift+Right", 0, 1.0),
}
MARK_KEYS = {"grooming": "G", "rearing": "E", annotate.REVIEWED: "V"}
PLAY_S = 2.0
SAVED_RULE = (
    "**What is saved.** A frame inside a bout is 1 for that behaviour. A frame inside a "
    "*reviewed stretch* (V … V, or *All reviewed*) that no bout covers is 0: you "
    "looked, and it did not happen. Every other frame is left **unknown** (an empty cell), and "
    "training and evaluation skip it: mark as reviewed only what you watched. A bout includes "
    "the frames where you started and stopped it."
)


@st.cache_resource(max_entries=4)
def _reader(video: str, stamp: float) -> VideoReader:
    return VideoReader(video)  # its header read once; frames are read by seeking, when shown


def annotate_page(settings: Settings, params: Path, data: Path) -> None:
    st.header("Annotate")
    st.write(
        "Mark where the mouse grooms or rears, frame by frame, and save a label file for "
        "training (`<video>.csv`, beside the video), and the same labels for BORIS."
    )
    video = _annotated_recording(settings, params, data)
    if video is None:
        return
    try:
        reader = _reader(str(video), _stamp(video))
    except InputError as error:
        st.error(f"{video.name} cannot be used as a video: {error.problem}.")
        return
    work = st.session_state.get("annotation")
    if work is None or work["video"] != str(video):
        _start_annotation(settings, params, data, video, reader)
        return
    _workspace(video, reader, data, params, settings.paths.raw)


@st.fragment
def _workspace(video: Path, reader: VideoReader, data: Path, params: Path, raw: Path) -> None:
    """The frame, its controls, the ethogram and the marks: a key re-runs this part alone."""
    work = st.session_state["annotation"]
    note = st.session_state.pop("annotate_note", None)
    if note:
        getattr(st, note[0])(note[1])
    if confirm := st.session_state.get("annotate_confirm"):
        st.warning(
            f"{confirm} already exists beside the video and was not written by this page. "
            "Replace it?"
        )
        st.button("Replace it", key="annotate_replace", on_click=_save, args=(data, True))
    annotation: annotate.Annotation = work["annotation"]
    frame = work["frame"]
    left, right = st.columns([3, 2])
    with left:
        on = annotation.on_at(frame)
        caption = f"frame {frame} · {frame / annotation.fps:.2f} s · {', '.join(on) or '–'}"
        shown = annotate.pictures(reader, annotation, [frame])
        if shown:
            st.image(shown[0], caption=caption, width="stretch")
        else:
            st.error(f"Frame {frame} of {video.name} cannot be decoded.")
        steps = st.columns(len(STEPS))
        for column, (label, (shortcut, *step)) in zip(steps, STEPS.items(), strict=True):
            column.button(
                label,
                key=f"annotate_{shortcut}",
                shortcut=shortcut,
                on_click=_step,
                args=tuple(step),
                width="stretch",
            )
        ethogram_rows = (
            max(0, frame - round(5 * annotation.fps)),
            min(annotation.frame_count, frame + round(5 * annotation.fps) + 1),
        )
        st.image(
            annotate.ethogram_picture(annotation, frame),
            width="stretch",
            caption="Ethogram, whole recording: grooming, rearing",
        )
        st.image(
            annotate.ethogram_picture(annotation, frame, ethogram_rows),
            width="stretch",
            caption="± 5 s around this frame. Colour: bout (light: still open) · grey: "
            "reviewed, no behaviour · white: unknown · red: this frame",
        )
    with right:
        jump, go, play_column = st.columns([3, 1, 2], vertical_alignment="bottom")
        jump.number_input(
            "Go to time (s)",
            min_value=0.0,
            max_value=(annotation.frame_count - 1) / annotation.fps,
            step=1.0,
            key="annotate_time",
        )
        go.button("Go", key="annotate_go", on_click=_go_to_time)
        play = play_column.button("Play 2 s", key="annotate_play", shortcut="P", width="stretch")
        if play:
            stop = min(annotation.frame_count, frame + round(PLAY_S * annotation.fps))
            clip = annotate.pictures(reader, annotation, list(range(frame, stop)), scale=0.5)
            st.image(rec.clip_gif(clip, annotation.fps), caption="2 s from here, looping")
        for mark, key in MARK_KEYS.items():
            opened = mark in annotation.open
            toggle, remove = st.columns([2, 3])
            toggle.button(
                f"{mark.capitalize()} {'stop' if opened else 'start'}",
                key=f"annotate_mark_{mark}",
                shortcut=key,
                width="stretch",
                type="primary" if opened else "secondary",
                on_click=_mark,
                args=("toggle", mark),
            )
            remove.button(
                f"Remove {mark}",
                key=f"annotate_remove_{mark}",
                shortcut=f"Shift+{key}",
                width="stretch",
                on_click=_mark,
                args=("remove", mark),
            )
        actions = st.columns(3)
        actions[0].button(
            "Undo",
            key="annotate_undo",
            shortcut="U",
            width="stretch",
            on_click=_mark,
            args=("undo", None),
        )
        actions[1].button(
            "Save",
            key="annotate_save",
            shortcut="S",
            type="primary",
            width="stretch",
            on_click=_save,
            args=(data, False),
        )
        actions[2].button(
            "All reviewed",
            help="Mark the whole recording as reviewed",
            key="annotate_review_all",
            width="stretch",
            on_click=_mark,
            args=("review_all", None),
        )
        st.markdown(
            "**Keys** · G / E: grooming / rearing start–stop · V: reviewed stretch start–stop · "
            "Shift+G / E / V: remove the one at this frame · ← →: one frame back or on · "
            "Shift+← →: one second · P: play 2 s · U: undo · S: save"
        )
        st.markdown(SAVED_RULE)
        st.dataframe(annotation.bout_list(), hide_index=True, height=220, key="annotate_bouts")
        if st.button("Close this recording", key="annotate_close"):
            st.session_state.pop("annotation", None)
            st.session_state.pop("annotate_confirm", None)
            st.rerun()  # the whole page: choose what to start from again
    if saved := work.get("saved"):
        ours, boris = map(Path, saved)
        if video.resolve().is_relative_to(raw.resolve()):
            after = "version it with DVC (`dvc add data/raw`)"
        else:
            after = f"`ethoflow import {shown_path(video.parent, params.parent)} --condition NAME`"
        st.success(
            f"Saved {shown_path(ours, params.parent)}. For the next retrain to learn from it: "
            f"{after}."
        )
        st.download_button(
            "The same labels for BORIS (TSV)",
            boris.read_bytes(),
            file_name=boris.name,
            mime="text/tab-separated-values",
            on_click="ignore",
            key="annotate_boris",
        )


def _annotated_recording(settings: Settings, params: Path, data: Path) -> Path | None:
    """The recording chosen: an upload, or one of the lab's (``paths.raw``) or the app's."""
    source = st.radio(
        "Recording", ("Upload", "From the lab's recordings"), horizontal=True, key="annotate_source"
    )
    if source == "Upload":
        upload = _uploader("Video", settings, key="annotate_upload")
        if upload is None:
            st.info("Upload a video to annotate.")
            return None
        return _upload(upload, "video", settings, data)
    # Chosen among what the server lists: the browser sends an index.
    videos = [
        video
        for folder in (settings.paths.raw, data / "uploads")
        for video, _ in rec.lab_recordings(folder)
    ]
    if not videos:
        st.info(f"No recordings in {shown_path(settings.paths.raw, params.parent)} yet.")
        return None
    return st.selectbox(
        "Recording", videos, format_func=lambda p: shown_path(p, params.parent), key="annotate_pick"
    )


def _start_annotation(
    settings: Settings, params: Path, data: Path, video: Path, reader: VideoReader
) -> None:
    """Choose what to start from: nothing, the champions' labels, or the label file beside it."""
    work = st.session_state.get("annotation")
    if work and work["annotation"].history and not work.get("saved"):
        shown = shown_path(Path(work["video"]), params.parent)
        st.warning(f"Starting here drops the unsaved marks on {shown}: open it to save them.")
    choices = ["Nothing: every frame unknown"]
    saved = annotate.label_file(video)
    if saved.is_file():
        choices.append(f"The label file beside it ({saved.name})")
    try:
        champions = results.champion_key(settings)
        choices.append("The champions' labels: a draft to accept or fix")
    except UserError as error:
        champions = None
        st.info(f"No draft from the champions: {error}")
    start = st.radio("Start from", choices, key="annotate_start")
    if not st.button("Start annotating", key="annotate_begin", type="primary"):
        return
    fps, frame_count = reader.fps, reader.frame_count
    if start == choices[0]:
        annotation = annotate.Annotation(frame_count, fps)
    elif start.startswith("The label file"):
        from ethoflow.io.labels import read_labels

        try:
            table = read_labels(saved)
        except InputError as error:
            st.error(f"{saved.name}: {error.problem}.")
            return
        if abs(len(table) - frame_count) > settings.ingest.label_tolerance_frames:
            st.error(
                f"{saved.name} has {len(table)} label rows but {video.name} has {frame_count} "
                "frames: is it the label file of another recording?"
            )
            return
        table = table.reindex(range(frame_count))  # within the tolerance: missing rows unknown
        annotation = annotate.Annotation.from_table(table, fps)
    else:
        assert champions is not None  # the draft is offered only with champions
        with st.spinner(f"Labelling {video.name} with the champions…"):
            outcome = results.label(_labeller(str(params), champions), video, data / "labelled")
        if outcome.outputs is None:  # quarantined: the reason says why
            reason = shown_text(outcome.reason, params.parent)
            st.error(f"{video.name} could not be labelled: {reason}")
            return
        draft = annotate.champions_draft(results.read_labelled(outcome.outputs), frame_count)
        annotation = annotate.Annotation.from_table(draft, fps)
        st.session_state["annotate_note"] = (
            "info",
            "The champions' labels are a draft: the whole recording counts as reviewed, so their "
            "'no behaviour' is saved as 0. Fix the bouts (Shift+G / E removes one), or remove the "
            "reviewed stretch (Shift+V) where you did not look.",
        )
    st.session_state["annotation"] = {"video": str(video), "annotation": annotation, "frame": 0}
    st.rerun()


def _work() -> dict:
    return st.session_state["annotation"]


def _step(frames: int, seconds: float) -> None:
    work = _work()
    annotation = work["annotation"]
    frame = work["frame"] + frames + round(seconds * annotation.fps)
    work["frame"] = min(max(frame, 0), annotation.frame_count - 1)


def _go_to_time() -> None:
    work = _work()
    frame = int(st.session_state["annotate_time"] * work["annotation"].fps)
    work["frame"] = min(frame, work["annotation"].frame_count - 1)


def _mark(action: str, mark: str | None) -> None:
    work = _work()
    annotation, frame = work["annotation"], work["frame"]
    work.pop("saved", None)  # the files no longer hold what the page shows
    if action == "undo":
        text = annotation.undo()
    elif action == "review_all":
        text = annotation.review_all()
    else:
        text = getattr(annotation, action)(mark, frame)
    st.session_state["annotate_note"] = ("info", text)


def _save(data: Path, replace: bool) -> None:
    work = _work()
    video, folder = Path(work["video"]), data / "annotate"
    st.session_state.pop("annotate_confirm", None)
    foreign = annotate.foreign_file(video, folder)
    if foreign and not replace:
        st.session_state["annotate_confirm"] = foreign.name
        return
    try:
        work["saved"] = [str(p) for p in annotate.save(work["annotation"], video, folder)]
    except UserError as error:
        st.session_state["annotate_note"] = ("error", str(error))


# --- nightly results -----------------------------------------------------------------------


def nightly(settings: Settings, params: Path, data: Path) -> None:
    st.header("Nightly results")
    outbox = settings.paths.outbox
    listing = results.list_outbox(outbox)
    if listing.empty:
        inbox = shown_path(settings.paths.inbox, params.parent)
        st.info(
            f"Nothing in the outbox ({shown_path(outbox, params.parent)}) yet. The nightly run "
            f"labels the videos put in {inbox}; `ethoflow label VIDEO` labels one now."
        )
        return
    reasons = [shown_text(reason, params.parent) for reason in listing.reason]
    shown = listing.drop(columns="folder").assign(reason=reasons)
    st.dataframe(shown, hide_index=True, key="nightly_list")
    labelled = listing[listing.status == "labelled"]
    if labelled.empty:
        return
    folder: str = st.selectbox(
        "Open",
        labelled.folder,
        format_func=lambda f: Path(f).name,
        key="nightly_open",
    )
    show_labelled(results.read_labelled(Path(folder)), settings, key=f"nightly-{folder}")


# --- review queue --------------------------------------------------------------------------


def review_queue(settings: Settings, params: Path, data: Path) -> None:
    st.header("Review queue")
    st.write(
        "Where the models are least sure, most unsure first. Watch each stretch and say "
        "whether it shows the behaviour. Your answers are saved as partial labels for the "
        "next retrain: the answered stretches only, every other frame left unknown (not "
        "taken from the models' guesses)."
    )
    _adapt_progress(settings, params, data)
    folders = [
        *results.list_outbox(settings.paths.outbox).query("status == 'labelled'").folder,
        *results.list_outbox(data / "labelled").query("status == 'labelled'").folder,
    ]
    if not folders:
        st.info(
            "No labelled videos yet: label some in Automatic labelling, or wait for the "
            "nightly run."
        )
        return
    folder = st.selectbox("Video", folders, format_func=lambda f: Path(f).name, key="review_video")
    labelled = results.read_labelled(Path(folder))
    stretches = review.review_stretches(labelled)
    where = review.review_folder(data, labelled)
    decisions = review.read_decisions(where)
    if not stretches:
        st.success("The models were sure everywhere in this video: nothing to review.")
        return
    done = {(d["head"], d["start"], d["stop"]): d["value"] for d in decisions}
    queue = review.stretches_table(stretches)
    queue["answer"] = [
        {None: "", 1: "yes", 0: "no"}[done.get((s.head, s.start, s.stop))] for s in stretches
    ]
    st.dataframe(queue, hide_index=True, height=220, key="review_table")
    index = st.selectbox(
        "Stretch",
        range(len(stretches)),
        format_func=lambda i: (
            f"{i + 1}. {stretches[i].head}, {stretches[i].start_s:.1f}–{stretches[i].end_s:.1f} s"
            f" ({stretches[i].reasons})"
        ),
        key="review_pick",
    )
    stretch = stretches[index]
    table = labelled.table
    left, right = st.columns([3, 2])
    if labelled.video.is_file():
        rows = review.clip_rows(stretch, labelled)
        pictures = rec.frames_at(labelled.video, table, rows, labelled.heads, scale=0.75)
        left.image(rec.clip_gif(pictures, labelled.fps), caption="The stretch, looping")
    else:
        left.info(f"The video {labelled.video.name} is no longer there.")
    part = table.iloc[review.clip_rows(stretch, labelled)]
    right.line_chart(part, x="time_s", y=f"{stretch.head}_probability", height=200)
    said = stretch.head if stretch.label else f"no {stretch.head}"
    threshold = labelled.thresholds[stretch.head]
    right.markdown(f"The labels say **{said}** here (threshold {threshold:.2f}).")
    answer = None
    if right.button(f"Shows {stretch.head}", key="review_yes", type="primary"):
        answer = 1
    if right.button(f"No {stretch.head}", key="review_no"):
        answer = 0
    if answer is not None:
        reviewer = web_user(st.context.headers)
        path = review.decide(labelled, stretch, answer, data, reviewer=reviewer)
        st.session_state["review_saved"] = {str(where): str(path)}
        st.rerun()
    # Shown for the video it was saved for, not after switching to another one.
    if saved := st.session_state.get("review_saved", {}).get(str(where)):
        folder = shown_path(Path(saved).parent, params.parent)
        st.success(
            f"Saved your answers as partial labels: {shown_path(Path(saved), params.parent)}, "
            "beside a copy of the video (frames you did not answer are left unknown). For the "
            f"next retrain to learn from them: `ethoflow import {folder} --condition NAME`."
        )
        st.download_button(
            "Partial label file (CSV)",
            Path(saved).read_bytes(),
            file_name=Path(saved).name,
            mime="text/csv",
            on_click="ignore",
            key="review_download",
        )


@dataclass(frozen=True)
class _Round:
    """A round this server started: its process, log and who started it."""

    process: subprocess.Popen[bytes]
    log: Path
    by: str


@st.cache_resource
def _rounds() -> dict[str, _Round]:
    # One per server, shared by every session: a second maintainer sees the round running.
    return {}


def _adapt_progress(settings: Settings, params: Path, data: Path) -> None:
    """The progress of the set-ups being adapted (``ethoflow adapt``), and a maintainer's button
    to start the next round."""
    setups = adapted_setups(settings)
    if not setups:
        return
    st.subheader("Adapting to a new set-up")
    setup = st.selectbox("Set-up", list(setups), key="adapt_setup")
    started = _rounds().get(setup)
    running = started is not None and started.process.poll() is None
    # While a round runs the panel redraws itself; the rest of the page stays as it is.
    panel = st.fragment(_round_panel, run_every=3.0 if running else None)
    panel(settings, params, data, setup, setups[setup], running)


def _round_panel(
    settings: Settings, params: Path, data: Path, setup: str, sources: dict, running: bool
) -> None:
    started = _rounds().get(setup)
    if running and started is not None and started.process.poll() is not None:
        st.rerun()  # the round ended: the whole page, to stop redrawing
    try:
        progress = review.setup_progress(settings, setup, data)
    except (InputError, OSError) as error:
        st.error(shown_text(str(error), params.parent))
        return
    columns = st.columns(3)
    columns[0].metric("Minutes answered", f"{progress.minutes_answered:.2f}")
    columns[1].metric("Stretches answered", progress.stretches_answered)
    columns[2].metric("Rounds", len(progress.rounds))
    if progress.rounds:
        table = progress.rounds_table(settings.train.heads)
        st.caption(f"{setup} after each round (held-out recordings; the champions' scores)")
        st.table(table.set_index("round"))
    if started is not None:
        shown_log = shown_path(started.log, params.parent)
        code = started.process.poll()
        if code is None:
            st.info(f"Round started by {started.by}, running: its log is {shown_log}.")
        elif code == 0:
            st.success(f"The round started by {started.by} has finished (log: {shown_log}).")
        else:
            st.error(f"The round started by {started.by} failed (exit {code}): see {shown_log}.")
        text = shown_text(started.log.read_text(errors="replace"), params.parent)
        st.code("\n".join(text.splitlines()[-12:]) or "…")
        st.download_button(
            "Round log",
            text,
            file_name=started.log.name,
            mime="text/plain",
            on_click="ignore",
            key="adapt_log",
        )
    user = web_user(st.context.headers)
    if not is_maintainer(user):
        st.caption("A maintainer starts the next round here once enough stretches are answered.")
        return
    if st.button(
        "Start a round",
        key="adapt_start",
        disabled=running,
        help="Retrain with the answers so far; promote only if the set-up improves",
    ):
        latest = _rounds().get(setup)
        if latest is None or latest.process.poll() is not None:  # not one from another page
            process, log = review.start_round(params, setup, sources, data)
            _rounds()[setup] = _Round(process, log, user)
        st.rerun()
