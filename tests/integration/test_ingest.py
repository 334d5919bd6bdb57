"""Ingestion end to end: the real Prefect flow, GE, OpenCV and Keras on a tiny synthetic lab."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.config import load_settings
from ethoflow.data.ingest import discover_recordings, featurize_recording
from ethoflow.features.featurization import Featurization
from ethoflow.features.motion import MOTION_FEATURES
from ethoflow.features.posture import POSTURE_FEATURES
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from helpers.ingest import feature_files, ingest_project
from helpers.labs import small_lab
from helpers.progress import progress_artifacts


def _add_bad_recordings(raw: Path) -> None:
    (raw / "condition_1" / "corrupt.mp4").write_bytes(os.urandom(5000))
    shutil.copy(raw / "condition_1" / "c1_v00.csv", raw / "condition_1" / "corrupt.csv")
    shutil.copy(raw / "condition_2" / "c2_v00.mp4", raw / "condition_2" / "short.mp4")
    labels = pd.read_csv(raw / "condition_2" / "c2_v00.csv")
    labels.iloc[: len(labels) // 2].to_csv(raw / "condition_2" / "short.csv", index=False)
    # The same recording under another name: it must not land in two splits.
    shutil.copy(raw / "condition_3" / "c3_v00.mp4", raw / "condition_3" / "twin.mp4")
    shutil.copy(raw / "condition_3" / "c3_v00.csv", raw / "condition_3" / "twin.csv")
    for name, frames in (("black", [np.zeros((48, 64, 3), np.uint8)] * 20), ("one", [None])):
        path = raw / "condition_1" / f"{name}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
        for frame in frames:
            writer.write(np.full((48, 64, 3), 120, np.uint8) if frame is None else frame)
        writer.release()
        rows = pd.DataFrame({"Grooming": [0] * len(frames), "Rearing": [0] * len(frames)})
        rows.to_csv(raw / "condition_1" / f"{name}.csv", index=False)
    # A 5 fps camera: each frame (and label row) repeated on the 10 fps clock.
    write_recording(
        raw / "condition_1" / "slow.mp4",
        raw / "condition_1" / "slow.csv",
        raw.parent / "slow_truth.csv",
        condition=replace(CONDITIONS[0], fps=5),
        seconds=4,
        seed=9,
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, prefect_harness):
    from ethoflow.flows.ingest import ingest_flow

    params = ingest_project(tmp_path_factory.mktemp("project"))
    _add_bad_recordings(params.parent / "data" / "raw")
    state = ingest_flow(params=str(params), return_state=True)
    return params, state


def test_flow_completes_and_quarantines_the_bad_recordings(ingested):
    params, state = ingested
    assert state.is_completed()
    summary = state.result()
    assert summary["ingested"] == 2 * len(CONDITIONS) + 1  # the lab's, and the slow camera's
    reasons = summary["quarantined"]
    assert set(reasons) == {"corrupt", "short", "twin", "black", "one"}
    assert "cannot be opened as a video" in reasons["corrupt"]
    assert "rows" in reasons["short"]
    assert reasons["twin"].startswith("same video content as c3_v00")
    assert reasons["black"].startswith("video black.mp4: every frame is black")
    assert "video one.mp4: video has only 1 frame(s)" in reasons["one"]
    quarantine = pd.read_csv(params.parent / "data" / "features" / "quarantine.csv")
    assert sorted(quarantine.video_id) == ["black", "corrupt", "one", "short", "twin"]
    report = json.loads((params.parent / "data/features/reports/short.json").read_text())
    assert report["success"] is False


def test_the_prefect_ui_shows_the_recordings_featurised_of_all(ingested):
    _, state = ingested
    (progress,) = progress_artifacts("ingest-progress", state.state_details.flow_run_id)
    assert float(progress.data) == 100.0
    assert re.match(r"ingest: (\d+) of \1 recordings done in ", progress.description)


def test_manifest_features_and_labels_line_up(ingested):
    params, _ = ingested
    features = params.parent / "data" / "features"
    manifest = pd.read_csv(features / "manifest.csv")
    originals = manifest[~manifest.augmented]
    assert len(originals) == 2 * len(CONDITIONS) + 1
    assert set(originals[originals.split == "validation"].condition) == {c.name for c in CONDITIONS}
    # Augmented copies exist for training videos only, with the same labels.
    augmented = manifest[manifest.augmented]
    assert set(augmented.source_video) == set(originals[originals.split == "train"].video_id)
    assert (augmented.split == "train").all()
    for row in manifest.itertuples():
        matrix = np.load(features / "videos" / row.features)
        labels = pd.read_csv(features / "videos" / row.labels)
        width = 512 + len(POSTURE_FEATURES) + len(MOTION_FEATURES)
        assert matrix.shape == (row.frames, width) and matrix.dtype == np.float32
        assert len(labels) == row.frames
        assert np.isfinite(matrix).all()
        assert set(labels.columns) >= {"frame", "time_s", "x", "y", "grooming", "rearing"}
    # 30 fps recordings were standardised to 10 fps: every third frame, with its label row.
    c2 = pd.read_csv(features / "videos" / "c2_v01.csv")
    assert c2.frame.diff().dropna().eq(3).all()
    raw = pd.read_csv(params.parent / "data/raw/condition_2/c2_v01.csv")
    assert c2.rearing.tolist() == raw.iloc[c2.frame, 1].tolist()
    # The 5 fps camera: 20 frames, 40 rows on the 10 fps clock, each frame's label row twice.
    slow = pd.read_csv(features / "videos" / "slow.csv")
    assert slow.frame.tolist() == np.repeat(np.arange(20), 2).tolist()
    raw = pd.read_csv(params.parent / "data/raw/condition_1/slow.csv")
    assert slow.grooming.tolist() == raw.iloc[slow.frame, 0].tolist()


def test_rerun_reuses_everything_and_changes_nothing(ingested):
    from ethoflow.flows.ingest import ingest_flow

    params, _ = ingested
    features = params.parent / "data" / "features"
    before = feature_files(features)
    # Every file: features, manifest, summary, quarantine list and the GE reports.
    mtimes = {p: p.stat().st_mtime_ns for p in features.rglob("*") if p.is_file()}
    summary = ingest_flow(params=str(params))
    assert summary["reused"] == summary["ingested"] == 2 * len(CONDITIONS) + 1
    assert feature_files(features) == before
    assert {p: p.stat().st_mtime_ns for p in features.rglob("*") if p.is_file()} == mtimes


def test_changed_labels_are_reprocessed(tmp_path):
    params = ingest_project(tmp_path / "p", cnn=False)
    s = load_settings(params)
    recordings, _ = discover_recordings(s.paths.raw)
    recording = recordings[0]
    featurization = Featurization.from_settings(s)
    kwargs = dict(
        featurization=featurization,
        extractor=featurization.build_extractor(),
        tolerance_frames=2,
        augment=None,
    )
    first = featurize_recording(recording, tmp_path / "out", **kwargs)
    labels = pd.read_csv(recording.labels)
    labels.iloc[0, 0] = 1 - labels.iloc[0, 0]
    labels.to_csv(recording.labels, index=False)
    second = featurize_recording(recording, tmp_path / "out", **kwargs)
    assert not second["cached"] and second["key"] != first["key"]
    assert featurize_recording(recording, tmp_path / "out", **kwargs)["cached"]


@pytest.mark.parametrize("fps", [30, 5], ids=["30fps-camera", "5fps-camera"])
def test_unknown_frames_survive_fps_standardisation(tmp_path, fps):
    """Empty label cells are unknown frames: the per-video label CSV ingest writes keeps them
    empty on the kept (30 fps) or repeated (5 fps) rows, and the known ones as they were."""
    from ethoflow.data.ingest import Recording
    from ethoflow.io.interchange import write_label_file
    from ethoflow.io.labels import read_labels

    params = tmp_path / "params.yaml"
    params.write_text("seed: 5\nfeatures: {cnn: false}\n")
    video, labels = tmp_path / "m1.mp4", tmp_path / "m1.csv"
    condition = replace(CONDITIONS[0], fps=fps)
    frames = write_recording(
        video, labels, tmp_path / "truth.csv", condition=condition, seconds=3, seed=9
    )
    table = read_labels(labels)
    table.loc[frames // 3 : frames // 2, "grooming"] = pd.NA  # one behaviour unknown
    table.loc[frames - frames // 4 :, ["grooming", "rearing"]] = pd.NA  # both, to the end
    write_label_file(table, labels, "ethoflow")
    out = tmp_path / "videos"
    featurize_recording(
        Recording("m1", "c", video, labels),
        out,
        featurization=Featurization.from_settings(load_settings(params)),
        extractor=None,
        augment=None,
        tolerance_frames=2,
    )
    ingested = pd.read_csv(out / "m1.csv", keep_default_na=False, dtype=str)
    source = table.iloc[ingested.frame.astype(int)]
    for head in ("grooming", "rearing"):
        expected = source[head].astype("string").fillna("").tolist()
        assert ingested[head].tolist() == expected
    assert (ingested.grooming == "").sum() > (ingested.rearing == "").sum() > 0


def test_discovery_quarantines_orphans_and_duplicate_ids(tmp_path):
    raw = tmp_path / "raw"
    for folder, names in {
        "a": ["v1.mp4", "v1.csv", "v2.mp4", "lonely.csv", ".v3.77.tmp.mp4", "v4.mp4", "v4.CSV"],
        "c": ["v5.mp4", "v5.avi", "v5.csv"],
        "b": ["v1.mp4", "v1.csv"],
    }.items():
        (raw / folder).mkdir(parents=True)
        for name in names:
            (raw / folder / name).write_bytes(b"x")
    recordings, bad = discover_recordings(raw)
    assert [(r.video_id, r.labels.name) for r in recordings] == [("v4", "v4.CSV")]
    reasons = {(q.condition, q.video_id): q.reason for q in bad}
    assert reasons[("a", "v2")] == "no label file v2.csv next to v2.mp4"
    lonely = "label file lonely.csv has no video lonely.mp4 (or .avi, .mov, .mkv) next to it"
    assert reasons[("a", "lonely")] == lonely
    assert reasons[("a", "v1")] == reasons[("b", "v1")] == "video id also used in: a, b"
    assert reasons[("c", "v5")] == "two videos (v5.avi, v5.mp4) for one label file v5.csv"
    # An interrupted write's temporary file is neither recording nor error.
    assert len(bad) == 6


def test_missing_raw_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="no recordings folder"):
        discover_recordings(tmp_path / "nope")


@pytest.mark.slow  # an ingest killed in a subprocess, then run again
def test_crash_mid_run_then_rerun_loses_and_duplicates_nothing(tmp_path, prefect_api):
    params = ingest_project(tmp_path / "p", cnn=False)
    features = tmp_path / "p" / "data" / "features"
    # On the test Prefect API: neither run starts a temporary server of its own (killed with its
    # command: test_label_flow's kill test).
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": prefect_api}
    command = [sys.executable, "-m", "ethoflow.cli", "ingest", "--params", str(params)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list((features / "videos").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # as a power cut would: no clean-up runs
    process.wait()
    finished = {p.stem for p in (features / "videos").glob("*.json")}
    assert 1 <= len(finished) < 2 * len(CONDITIONS)

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unchanged, reused" in result.stdout
    manifest = pd.read_csv(features / "manifest.csv")
    assert manifest.video_id.is_unique
    assert len(manifest[~manifest.augmented]) == 2 * len(CONDITIONS)
    for row in manifest.itertuples():
        assert len(np.load(features / "videos" / row.features)) == row.frames


def test_posture_only_ingest_skips_the_cnn(tmp_path):
    from ethoflow.vision.augment import AugmentSetting

    params = ingest_project(tmp_path / "p")
    settings = load_settings(params)
    recording = discover_recordings(settings.paths.raw)[0][0]
    no_cnn = settings.features.model_copy(update={"cnn": False})
    featurization = Featurization.from_settings(settings.model_copy(update={"features": no_cnn}))
    record = featurize_recording(
        recording,
        tmp_path / "out",
        featurization=featurization,
        extractor=None,
        tolerance_frames=2,
        augment=AugmentSetting(brightness=1.1, zoom=1.0, flip=True),
    )
    features = np.load(tmp_path / "out" / f"{recording.video_id}.npy")
    augmented = np.load(tmp_path / "out" / f"{recording.video_id}__aug.npy")
    assert features.shape == (record["frames"], len(POSTURE_FEATURES) + len(MOTION_FEATURES))
    # Posture ratios and motion in contrast units ignore the augmentation.
    np.testing.assert_array_equal(features, augmented)


def test_ingest_reads_other_tools_label_files_next_to_the_video(tmp_path, prefect_harness):
    """BORIS and bout-table files stand in for our CSV, their unlabelled stretches unknown frames;
    two label files for one video, or a bad one, set the recording aside with the file named."""
    from ethoflow.flows.ingest import ingest_flow
    from ethoflow.io.interchange import write_label_file
    from ethoflow.io.labels import read_labels

    params = tmp_path / "params.yaml"
    params.write_text("seed: 5\nfeatures: {cnn: false}\n")
    s = load_settings(params)
    # 10 fps: the kept frames are the video's frames.
    small_lab(s.paths.raw, s.paths.truth, (CONDITIONS[0],), videos=3, minutes=0.1, seed=5)
    folder = s.paths.raw / "condition_1"
    fps = CONDITIONS[0].fps
    ours = {v: read_labels(folder / f"{v}.csv") for v in ("c1_v00", "c1_v01")}
    # Stretches nobody labelled: BORIS and the bout table write them as "Unlabelled".
    ours["c1_v00"].loc[10:25, ["grooming", "rearing"]] = pd.NA
    ours["c1_v01"].loc[30:, "rearing"] = pd.NA
    write_label_file(ours["c1_v00"], folder / "c1_v00.boris.tsv", "boris", fps=fps)
    write_label_file(ours["c1_v01"], folder / "c1_v01.bouts.csv", "bouts", fps=fps)
    for v in ours:
        (folder / f"{v}.csv").unlink()
    write_label_file(read_labels(folder / "c1_v02.csv"), folder / "c1_v02.simba.csv", "simba")
    shutil.copy(folder / "c1_v00.mp4", folder / "late.mp4")
    (folder / "late.bouts.csv").write_text("from,to,type\n1.0,2.0,Grooming\n5.0,4.0,Rearing\n")

    summary = ingest_flow(params=str(params))

    features = s.paths.features
    manifest = pd.read_csv(features / "manifest.csv")
    assert sorted(manifest.loc[~manifest.augmented, "video_id"]) == ["c1_v00", "c1_v01"]
    for video_id, table in ours.items():
        ingested = pd.read_csv(features / "videos" / f"{video_id}.csv")
        np.testing.assert_array_equal(
            ingested[["grooming", "rearing"]].to_numpy(),
            table[["grooming", "rearing"]].to_numpy(float, na_value=np.nan),
        )
    reasons = pd.read_csv(features / "quarantine.csv").set_index("video_id").reason
    assert reasons.to_dict() == summary["quarantined"]
    assert "two label files (c1_v02.csv, c1_v02.simba.csv)" in reasons["c1_v02"]
    assert reasons["late"].startswith("late.bouts.csv: row 3: 'Rearing' ends at 4 s")
