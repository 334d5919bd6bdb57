"""Labelling new videos: real synthetic recordings, ResNet50 (64 px), tiny TCNs and MLflow."""

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ethoflow.config import PostProcessing, Settings
from ethoflow.errors import NoChampionError
from ethoflow.features.featurization import Featurization
from ethoflow.io.video import probe_video
from ethoflow.labelling.batch import LabelOutcome, find_videos, write_batch_report
from ethoflow.labelling.recording import (
    HeadModel,
    LabelSettings,
    check_featurization,
    label_table,
    label_video,
    predict_video,
)
from ethoflow.mlops.champions import champion_model, champion_version, load_champions
from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri
from ethoflow.mlops.registered_models import log_keras_model, model_name
from ethoflow.postprocess import postprocess
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.vision.fps import kept_frame_indices

WINDOW = 16
HP = {"window": WINDOW, "kernel_size": 3, "dilation_depth": 2, "stacks": 1, "causal": False}
HP |= {"layers": 1, "units": 8, "dropout": 0.0}
HEADS = ["grooming", "rearing"]
COLUMNS = ["frame", "time_s", "grooming", "rearing"]
COLUMNS += ["grooming_probability", "rearing_probability", "x", "y"]
OUTPUT_FILES = {"labels.csv", "summary.json", "ethogram.png", "record.json"}
EXPERIMENT = "test-labelling"


@dataclass(frozen=True)
class Lab:
    settings: Settings
    extractor: object
    heads: dict[str, HeadModel]
    videos: dict[str, Path]  # video id -> a good recording (10 fps and 30 fps sources)

    def label(
        self, video: Path, outbox: Path, *, settings: Settings | None = None, **changes
    ) -> LabelOutcome:
        settings = settings or self.settings
        arguments = {
            "heads": self.heads,
            "extractor": self.extractor,
            "featurization": Featurization.from_settings(settings),
            # Unscored for drift: these heads have no training profile (test_label_flow's do).
            "label_settings": replace(LabelSettings.from_settings(settings), drift_limits=None),
        }
        return label_video(video, outbox, **(arguments | changes))


def featurization_id(settings: Settings) -> str:
    return Featurization.from_settings(settings).id


def build_extractor(settings: Settings):
    return Featurization.from_settings(settings).build_extractor()


def standardized_length(video: Path, target_fps: float) -> int:
    info = probe_video(video)
    return len(kept_frame_indices(info.frame_count, info.fps, target_fps))


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    import keras

    from ethoflow.models import build_model

    settings = Settings.model_validate(
        {"seed": 1, "ingest": {"crop_size": 64}, "features": {"batch_size": 16, "cnn": True}}
    )
    extractor = build_extractor(settings)
    root = tmp_path_factory.mktemp("lab")
    videos = {}
    for video_id, condition, seconds in (("c1", CONDITIONS[0], 3), ("c2", CONDITIONS[1], 4)):
        videos[video_id] = root / "videos" / f"{video_id}.mp4"
        labels, truth = root / f"{video_id}.csv", root / f"{video_id}.truth.csv"
        write_recording(
            videos[video_id], labels, truth, condition=condition, seconds=seconds, seed=3
        )
    n_features = Featurization.from_settings(settings).feature_count(extractor)
    heads = {}
    for seed, head in enumerate(HEADS):
        keras.utils.set_random_seed(seed)
        model = build_model("tcn", HP, n_features)
        heads[head] = HeadModel(
            head, model_name(head), "1", model, 0.5, WINDOW, featurization_id(settings)
        )
    return Lab(settings, extractor, heads, videos)


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


# --- pure functions ----------------------------------------------------------------------------


def test_label_table_columns_and_times():
    track = pd.DataFrame({"frame": [0, 3, 6], "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]})
    probabilities = np.array([0.1, 0.6, 0.9], np.float32)
    labels = np.array([0, 1, 1], np.int8)
    predictions = {"grooming": (probabilities, labels), "rearing": (1 - probabilities, 1 - labels)}
    table = label_table(track, 10.0, predictions)  # a 30 fps source on the 10 fps clock
    assert list(table.columns) == COLUMNS
    assert table.time_s.tolist() == [0.0, 0.1, 0.2]
    slow = pd.DataFrame({"frame": [0, 0, 1], "x": [1.0] * 3, "y": [1.0] * 3})  # 5 fps source
    assert label_table(slow, 10.0, predictions).time_s.tolist() == [0.0, 0.1, 0.2]
    assert table.rearing.tolist() == [1, 0, 0]
    short = {"grooming": (probabilities[:2], labels[:2])}
    with pytest.raises(ValueError, match="2 probabilities and 2 labels for 3 frames"):
        label_table(track, 10.0, short)
    with pytest.raises(ValueError, match="fps must be positive"):
        label_table(track, 0.0, predictions)


def test_check_featurization_names_head_and_fix(lab):
    expected = featurization_id(lab.settings)
    check_featurization(lab.heads, expected)
    stale = {"grooming": replace(lab.heads["grooming"], featurization="old-features")}
    with pytest.raises(ValueError) as error:
        check_featurization(stale, expected)
    message = str(error.value)
    assert "'grooming' champion (version 1)" in message
    assert "'old-features'" in message and repr(expected) in message
    assert "params.yaml" in message and "retrain" in message


def test_label_video_refuses_mismatched_settings_before_any_work(lab, tmp_path):
    features = lab.settings.features.model_copy(update={"posture": False})
    no_posture = lab.settings.model_copy(update={"features": features})
    with pytest.raises(ValueError, match="trained on features"):
        lab.label(lab.videos["c1"], tmp_path, settings=no_posture)
    # Models that match the settings, but an extractor built with another seed.
    reseeded = lab.settings.model_copy(update={"seed": 2})
    heads = {h: replace(m, featurization=featurization_id(reseeded)) for h, m in lab.heads.items()}
    with pytest.raises(ValueError, match="build_extractor"):
        lab.label(lab.videos["c1"], tmp_path, settings=reseeded, heads=heads)
    assert list(tmp_path.iterdir()) == []


def test_predict_video_thresholds_then_postprocesses(lab):
    n_features = lab.heads["grooming"].model.input_shape[-1]
    features = np.random.default_rng(0).normal(size=(45, n_features)).astype(np.float32)
    heads = {
        "grooming": replace(lab.heads["grooming"], threshold=0.0),
        "rearing": replace(lab.heads["rearing"], threshold=1.01),
    }
    out = predict_video(features, heads, PostProcessing())
    probabilities, labels = out["grooming"]
    assert probabilities.dtype == np.float32 and probabilities.shape == (45,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert labels.dtype == np.int8 and labels.tolist() == [1] * 45
    assert out["rearing"][1].tolist() == [0] * 45

    setting = PostProcessing(median_frames=5, min_bout_frames=3)
    middle = float(np.median(probabilities))
    smoothed = predict_video(
        features, {"grooming": replace(heads["grooming"], threshold=middle)}, setting
    )["grooming"][1]
    raw = (probabilities >= middle).astype(np.int8)
    np.testing.assert_array_equal(smoothed, postprocess(raw, setting))
    with pytest.raises(ValueError, match="takes .* features per frame, got 3"):
        predict_video(features[:, :3], heads, setting)


# --- champions from a real MLflow registry -----------------------------------------------------


@pytest.fixture(scope="module")
def registry(lab, tmp_path_factory) -> str:
    """grooming: an evaluated champion (threshold 0.25); rearing: a champion never evaluated."""
    import mlflow
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("registry")
    (root / "cwd").mkdir()
    tracking_uri = local_tracking_uri(root / "runs")
    n_features = lab.heads["grooming"].model.input_shape[-1]
    example = np.zeros((1, WINDOW, n_features), np.float32)
    tags = {"window": str(WINDOW), "featurization": featurization_id(lab.settings)}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root / "cwd")
        configure_tracking(tracking_uri, EXPERIMENT)
        with mlflow.start_run():
            for head, extra in (("grooming", {"threshold": "0.25"}), ("rearing", {})):
                log_keras_model(
                    lab.heads[head].model,
                    name=head,
                    example_input=example,
                    registered_model_name=model_name(head),
                    tags=tags | extra,
                )
                MlflowClient().set_registered_model_alias(model_name(head), "champion", "1")
    return tracking_uri


def test_load_champions_predicts_like_the_registered_model(lab, registry):
    configure_tracking(registry, EXPERIMENT)  # other tests may have moved MLflow elsewhere
    loaded = load_champions(["grooming"])
    champion = loaded["grooming"]
    assert (champion.head, champion.version, champion.threshold, champion.window) == (
        "grooming",
        "1",
        0.25,
        WINDOW,
    )
    assert champion.featurization == featurization_id(lab.settings)
    n_features = lab.heads["grooming"].model.input_shape[-1]
    features = np.random.default_rng(1).normal(size=(40, n_features)).astype(np.float32)
    original = {"grooming": replace(lab.heads["grooming"], threshold=0.25)}
    ours = predict_video(features, loaded, PostProcessing())["grooming"]
    theirs = predict_video(features, original, PostProcessing())["grooming"]
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_load_champions_with_a_cache_runs_an_openvino_copy_that_predicts_as_keras(
    lab, registry, tmp_path
):
    """The champion copied to OpenVINO in the cache (as promotion does, checked on the
    evaluation recordings' windows), and every load reading the copy, predicts as the Keras
    model (within the copy's tolerance)."""
    from ethoflow.models.openvino_model import TOLERANCE, OpenVinoModel

    configure_tracking(registry, EXPERIMENT)
    n_features = lab.heads["grooming"].model.input_shape[-1]
    features = np.random.default_rng(2).normal(size=(40, n_features)).astype(np.float32)
    original = {"grooming": replace(lab.heads["grooming"], threshold=0.25)}
    theirs = predict_video(features, original, PostProcessing())["grooming"][0]
    made = champion_model(champion_version("grooming"), tmp_path, [features, features[::-1]])
    assert isinstance(made, OpenVinoModel)
    for _ in range(2):
        loaded = load_champions(["grooming"], cache=tmp_path)
        assert isinstance(loaded["grooming"].model, OpenVinoModel)
        ours = predict_video(features, loaded, PostProcessing())["grooming"][0]
        np.testing.assert_allclose(ours, theirs, atol=TOLERANCE)
    [copy] = (tmp_path / model_name("grooming")).iterdir()
    assert copy.name.startswith("v1-") and (copy / "model.xml").is_file()


def test_a_copy_is_checked_on_windows_spread_over_the_recordings():
    from ethoflow.models.openvino_model import check_windows

    short = np.arange(300 * 3, dtype=np.float32).reshape(300, 3)
    long = np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3) + short.size  # no repeats
    x = check_windows((None, 10, 3), [short, long])
    assert x.shape == (64, 10, 3)  # a batch of the 130 windows, first to last
    np.testing.assert_array_equal(x[0], short[:10])
    np.testing.assert_array_equal(x[-1], long[-10:])
    assert len(np.unique(x[:, 0, 0])) == 64
    noise = check_windows((None, 10, 3))  # no recordings: seeded random windows
    assert noise.shape == (64, 10, 3) and np.array_equal(noise, check_windows((None, 10, 3)))


def test_load_champions_explains_missing_champion_or_threshold(registry):
    from mlflow import MlflowClient

    configure_tracking(registry, EXPERIMENT)
    with pytest.raises(NoChampionError, match="ethoflow-rearing version 1.*'threshold'") as error:
        load_champions(["grooming", "rearing"], client=MlflowClient())
    assert "ethoflow promote" in str(error.value)
    with pytest.raises(NoChampionError, match="ethoflow-sniffing has no 'champion'") as error:
        load_champions(["sniffing"])
    assert "`ethoflow retrain`" in str(error.value) and "`ethoflow promote`" in str(error.value)


# --- labelling videos --------------------------------------------------------------------------


def test_label_video_writes_outputs_then_skips(lab, tmp_path):
    video = lab.videos["c2"]  # 30 fps source, standardised to 10 fps
    outcome = lab.label(video, tmp_path)
    assert outcome == LabelOutcome("c2", video, "labelled", "", tmp_path / "c2")
    folder = outcome.outputs
    assert {p.name for p in folder.iterdir()} == OUTPUT_FILES

    table = pd.read_csv(folder / "labels.csv")
    assert list(table.columns) == COLUMNS
    assert len(table) == standardized_length(video, lab.settings.ingest.target_fps)
    assert table.frame.tolist() == list(range(0, 3 * len(table), 3))
    np.testing.assert_allclose(table.time_s, (table.frame / 30).round(4))
    for head in HEADS:
        assert set(table[head]) <= {0, 1}
        assert table[f"{head}_probability"].between(0, 1).all()

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["source_sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert summary["featurization"] == featurization_id(lab.settings)
    assert summary["found_share"] == 1.0 and "warning" not in summary
    assert summary["models"]["grooming"] == {
        "model": "ethoflow-grooming",
        "version": "1",
        "threshold": 0.5,
        "window": WINDOW,
    }
    assert summary["frames"] == len(table) and set(summary["heads"]) == set(HEADS)
    assert summary["labelled_at"]
    record = json.loads((folder / "record.json").read_text())
    assert record["versions"] == {"grooming": "1", "rearing": "1"}
    assert set(record["files"]) == OUTPUT_FILES - {"record.json"}
    assert (folder / "ethogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    before = _snapshot(folder)
    again = lab.label(video, tmp_path)
    assert again.status == "skipped" and again.outputs == folder
    assert _snapshot(folder) == before


def test_changed_models_settings_or_lost_record_relabel(lab, tmp_path):
    video = lab.videos["c1"]
    assert lab.label(video, tmp_path).status == "labelled"
    folder = tmp_path / "c1"
    newer = lab.heads | {"rearing": replace(lab.heads["rearing"], version="2")}
    assert lab.label(video, tmp_path, heads=newer).status == "labelled"
    assert json.loads((folder / "record.json").read_text())["versions"]["rearing"] == "2"

    lower = newer | {"grooming": replace(newer["grooming"], threshold=0.0)}
    assert lab.label(video, tmp_path, heads=lower).status == "labelled"
    assert pd.read_csv(folder / "labels.csv").grooming.eq(1).all()
    assert lab.label(video, tmp_path, heads=lower).status == "skipped"

    smoother = lab.settings.model_copy(update={"postprocess": PostProcessing(median_frames=3)})
    assert lab.label(video, tmp_path, heads=lower, settings=smoother).status == "labelled"

    # A crash after some outputs but before the record: the folder has no record and is redone.
    (folder / "record.json").unlink()
    (folder / "labels.csv").write_text("frame,time_s\n0,")
    redo = lab.label(video, tmp_path, heads=lower, settings=smoother)
    assert redo.status == "labelled"
    assert list(pd.read_csv(folder / "labels.csv").columns) == COLUMNS
    assert (folder / "record.json").is_file()


def _write_still_video(path: Path) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 64))
    for _ in range(10):
        writer.write(np.full((64, 64, 3), 200, np.uint8))
    writer.release()


def test_batch_quarantines_bad_videos_and_labels_the_rest(lab, tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    (inbox / "day2").mkdir(parents=True)
    shutil.copy(lab.videos["c1"], inbox / "c1.mp4")
    shutil.copy(lab.videos["c2"], inbox / "day2" / "c2.MP4")
    (inbox / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (inbox / "empty.avi").touch()
    _write_still_video(inbox / "still.mp4")
    (inbox / ".c3.tmp.mp4").write_bytes(b"half a copy")
    (inbox / "notes.txt").write_text("not a video")

    videos, duplicates = find_videos([inbox])
    assert duplicates == []
    names = [v.name for _, v in videos]
    assert names == ["c1.mp4", "c2.MP4", "corrupt.mp4", "empty.avi", "still.mp4"]
    outcomes = [lab.label(video, outbox, video_id=video_id) for video_id, video in videos]
    status = {o.video_id: o.status for o in outcomes}
    assert status == {
        "c1": "labelled",
        "c2": "labelled",
        "corrupt": "quarantined",
        "empty": "quarantined",
        "still": "quarantined",
    }
    reasons = {o.video_id: o.reason for o in outcomes}
    assert "cannot be opened as a video" in reasons["corrupt"]
    assert "empty (0 bytes)" in reasons["empty"]
    assert "the picture does not change" in reasons["still"]
    assert sorted(p.name for p in outbox.iterdir()) == ["c1", "c2"]  # nothing for the bad ones

    text = write_batch_report(outcomes, "inbox", outbox)
    assert "{'quarantined': 3, 'labelled': 2}" in text
    assert "- still: quarantined — " in text
    written = pd.read_csv(outbox / "report.csv", keep_default_na=False)
    assert list(written.columns) == [
        "video_id",
        "video",
        "status",
        "reason",
        "outputs",
        "drift_flagged",
        "drift_reasons",
    ]
    assert written.video_id.tolist() == ["c1", "c2", "corrupt", "empty", "still"]
    assert written.outputs.tolist()[:2] == [str(outbox / "c1"), str(outbox / "c2")]
    quarantine = pd.read_csv(outbox / "quarantine.csv")
    assert list(quarantine.columns) == ["video_id", "video", "reason"]
    assert quarantine.video_id.tolist() == ["corrupt", "empty", "still"]

    # The next batch overwrites both reports with its own videos only.
    write_batch_report(outcomes[:1], "inbox", outbox)
    assert pd.read_csv(outbox / "report.csv").video_id.tolist() == ["c1"]
    assert pd.read_csv(outbox / "quarantine.csv").empty


def test_video_broken_after_labelling_moves_its_old_outputs_aside(lab, tmp_path):
    video = tmp_path / "inbox" / "rec.mp4"
    video.parent.mkdir()
    shutil.copy(lab.videos["c1"], video)
    outbox = tmp_path / "outbox"
    assert lab.label(video, outbox).status == "labelled"
    labels = (outbox / "rec" / "labels.csv").read_bytes()

    video.write_bytes(b"\x00" * 1000)
    broken = lab.label(video, outbox)
    assert broken.status == "quarantined" and broken.outputs is None
    # Old labels do not sit next to the quarantine as if current, and they are not lost.
    assert not (outbox / "rec").exists()
    (stale,) = (outbox / ".stale").iterdir()
    assert stale.name.startswith("rec-") and str(stale) in broken.reason
    assert (stale / "labels.csv").read_bytes() == labels

    shutil.copy(lab.videos["c1"], video)
    assert lab.label(video, outbox).status == "labelled"
    assert (outbox / "rec" / "record.json").is_file()


def test_find_videos_gives_each_video_its_own_id(tmp_path):
    for name in ("a/x.mp4", "b/x.avi", "b/y.mov", "z.mkv", ".cache/w.mp4", "a/.v.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    videos, quarantined = find_videos([tmp_path])
    assert quarantined == []
    assert videos == [
        ("a-x", tmp_path / "a" / "x.mp4"),
        ("b-x", tmp_path / "b" / "x.avi"),
        ("y", tmp_path / "b" / "y.mov"),
        ("z", tmp_path / "z.mkv"),
    ]


def test_named_videos_are_checked_like_an_inbox(tmp_path):
    """Files named on the command line: missing ones are quarantined, shared stems told apart."""
    for name in ("cage1/m1.mp4", "cage2/m1.mp4", "m2.avi", "m2.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    named = [tmp_path / n for n in ("cage1/m1.mp4", "cage2/m1.mp4", "m2.avi", "m2.avi", "gone.mp4")]
    videos, quarantined = find_videos([*named, tmp_path / "m2.mp4"])
    assert [video_id for video_id, _ in videos] == ["cage1-m1", "cage2-m1", "m2-avi", "m2-mp4"]
    assert [(q.video_id, q.reason) for q in quarantined] == [("gone", "file not found")]


def test_inbox_files_still_being_copied_wait_for_the_next_run(tmp_path):
    old, fresh = tmp_path / "old.mp4", tmp_path / "fresh.mp4"
    old.write_bytes(b"")
    fresh.write_bytes(b"")
    os.utime(old, (time.time() - 600, time.time() - 600))
    videos, quarantined = find_videos([tmp_path], settle_seconds=60)
    assert videos == [("old", old)]
    assert quarantined[0].video == fresh
    assert "still being written" in quarantined[0].reason
    assert "labelled on the next run" in quarantined[0].reason


def _posture_only(lab: Lab) -> tuple[Settings, dict[str, HeadModel]]:
    """``features.cnn: false`` settings and untrained heads for their features."""
    from ethoflow.models import build_model

    settings = lab.settings.model_copy(
        update={"features": lab.settings.features.model_copy(update={"cnn": False})}
    )
    featurization = featurization_id(settings)
    model = build_model("tcn", HP, Featurization.from_settings(settings).feature_count(None))
    heads = {h: HeadModel(h, model_name(h), "1", model, 0.5, WINDOW, featurization) for h in HEADS}
    return settings, heads


def test_posture_only_labelling_needs_no_cnn(lab, tmp_path):
    """``features.cnn: false``: no ResNet, 7 posture and motion features per frame, same outputs."""
    settings, heads = _posture_only(lab)
    assert build_extractor(settings) is None
    featurization = featurization_id(settings)
    assert featurization.startswith("no-cnn-") and featurization != featurization_id(lab.settings)
    outcome = lab.label(lab.videos["c1"], tmp_path, heads=heads, extractor=None, settings=settings)
    assert outcome.status == "labelled", outcome.reason
    labels = pd.read_csv(outcome.outputs / "labels.csv")
    assert list(labels.columns) == COLUMNS and len(labels) == 30
    # A champion trained on CNN features is refused for posture-only settings.
    with pytest.raises(ValueError, match="trained on features"):
        lab.label(lab.videos["c1"], tmp_path, extractor=None, settings=settings)


def test_labelled_distance_holds_at_any_resolution_and_warns_when_too_small(
    lab, real_walk_clips, tmp_path
):
    """The real walk's labels (x, y on the 10 fps clock, their jitter measured on that table):
    the same distance at 640x480 and 160x120; at 64x48 the distance is flagged, with the number."""
    settings, heads = _posture_only(lab)
    summaries = {}
    for size in [(640, 480), (160, 120), (64, 48)]:
        outcome = lab.label(
            real_walk_clips[size], tmp_path, heads=heads, extractor=None, settings=settings
        )
        assert outcome.status == "labelled", outcome.reason
        summaries[size] = json.loads((outcome.outputs / "summary.json").read_text())
    large, small, tiny = summaries.values()
    assert small["distance_px"] * 4 == pytest.approx(large["distance_px"], rel=0.1)
    for summary in (large, small):
        assert summary["position_noise_px"] > 0
        assert summary["track_quality"]["distance_reliable"] and "warning" not in summary
    assert tiny["track_quality"]["distance_reliable"] is False
    assert (
        f"the mouse covers only {tiny['track_quality']['body_area_px']:.0f} px" in tiny["warning"]
    )
