"""End to end on a small synthetic lab: retrain → evaluate → promote gives a champion per head;
the label flow then labels an inbox from a held-out recording condition, skips what it has done,
quarantines a corrupt video, and survives being killed mid-batch."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from ethoflow.config import load_settings
from ethoflow.evaluation.agreement import label_agreement
from ethoflow.synth.conditions import HELD_OUT_CONDITION
from ethoflow.synth.recording import truth_labels
from helpers.labs import small_lab
from helpers.progress import progress_artifacts
from helpers.retrain import LAB_CONDITIONS, PARAMS


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_harness):
    from ethoflow.flows.retrain import retrain_flow

    root = tmp_path_factory.mktemp("lab")
    params = root / "params.yaml"
    params.write_text(PARAMS)
    s = load_settings(params)
    # Seed 2 puts both behaviours in the training and the test videos (training needs both).
    small_lab(s.paths.raw, s.paths.truth, LAB_CONDITIONS, videos=3, minutes=0.5, seed=2)
    result = retrain_flow(params=str(params), budget=s.train.budget)
    inbox = (HELD_OUT_CONDITION,)
    small_lab(s.paths.inbox, s.paths.truth / "inbox", inbox, videos=2, minutes=0.3, seed=11)
    (s.paths.inbox / "corrupt.mp4").write_bytes(os.urandom(4000))
    return params, result


def test_retrain_promotes_a_champion_per_head(project):
    params, result = project
    assert result["ingest"]["ingested"] == 3 * len(LAB_CONDITIONS)
    assert {(r["head"], r["architecture"]) for r in result["train"]} == {
        ("grooming", "tcn"),
        ("rearing", "tcn"),
    }
    assert len(result["evaluate"]) == 2
    assert [(d["head"], d["promoted"]) for d in result["promote"]] == [
        ("grooming", True),
        ("rearing", True),
    ]
    client = mlflow.MlflowClient()
    for head in ("grooming", "rearing"):
        champion = client.get_model_version_by_alias(f"ethoflow-{head}", "champion")
        assert champion.tags["architecture"] == "tcn" and champion.tags["evaluated"] == "true"
        # The model card, written on promotion: the registry description and an artifact.
        card = champion.description
        assert card.startswith(f"# ethoflow-{head} v{champion.version}: {head}")
        for section in ("## Data", "## Validation, per condition", "## Known limits"):
            assert section in card
        assert f"featurisation: `{champion.tags['featurization']}`" in card
        assert f"threshold {champion.tags['threshold']}" in card
        assert "6 recordings from condition_1, condition_3" in card
        artifact = mlflow.artifacts.load_text(f"runs:/{champion.run_id}/model_card.md")
        assert artifact == card
        # Its OpenVINO copy, which labelling runs (no TensorFlow), made on promotion.
        copy = load_settings(params).paths.runs / "champions" / f"ethoflow-{head}"
        assert (copy / f"v{champion.version}-{champion.run_id}" / "model.xml").is_file()
        # The search's progress in the Prefect UI: its trials done of all.
        search = progress_artifacts(f"search-{head}-tcn-progress")[0]
        assert float(search.data) == 100.0
        assert re.match(rf"search {head}/tcn: (\d+) of \1 trials? done in ", search.description)


def _outputs(outbox: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outbox)): p.read_bytes() for p in sorted(outbox.rglob("*.*"))}


def test_label_flow_labels_the_held_out_inbox_and_quarantines_the_corrupt_video(project):
    from ethoflow.flows.label import label_flow

    params, _ = project
    s = load_settings(params)
    result = label_flow(params=str(params))
    assert result["counts"] == {"labelled": 2, "quarantined": 1}
    progress = progress_artifacts("label-progress")[0]  # this run's, the newest
    assert float(progress.data) == 100.0
    assert progress.description.startswith("label: 3 of 3 recordings done in ")
    [bad] = [o for o in result["outcomes"] if o["status"] == "quarantined"]
    assert bad["video_id"] == "corrupt" and bad["reason"]
    report = pd.read_csv(s.paths.outbox / "report.csv")
    assert sorted(report.status) == ["labelled", "labelled", "quarantined"]
    assert list(pd.read_csv(s.paths.outbox / "quarantine.csv").video_id) == ["corrupt"]

    for video_id in ("c4_v00", "c4_v01"):
        folder = s.paths.outbox / video_id
        assert {p.name for p in folder.iterdir()} == {
            "labels.csv",
            "summary.json",
            "ethogram.png",
            "record.json",
        }
        labels = pd.read_csv(folder / "labels.csv")
        truth = truth_labels(pd.read_csv(s.paths.truth / "inbox" / f"{video_id}.csv"))
        # 25 fps standardised to 10 fps: the labelled frames are a subset of the truth frames.
        assert set(labels.frame) <= set(truth.frame) and len(labels) >= len(truth) * 0.39
        summary = json.loads((folder / "summary.json").read_text())
        # Calibrated by the arena: condition_4's 300 px arena side is 40 cm.
        scale = summary["distance_px"] / summary["distance_cm"]
        assert scale == pytest.approx(HELD_OUT_CONDITION.arena_side / 40, rel=0.03)
        agreement = label_agreement(labels, truth, ["grooming", "rearing"])
        assert agreement.n_frames.eq(len(labels)).all()
        assert agreement.accuracy.between(0, 1).all()

    # A re-run changes nothing: same content, same champions.
    before = _outputs(s.paths.outbox / "c4_v00")
    again = label_flow(params=str(params))
    assert again["counts"] == {"skipped": 2, "quarantined": 1}
    assert _outputs(s.paths.outbox / "c4_v00") == before


def test_cli_label_killed_mid_batch_then_rerun_completes_once(project, tmp_path):
    params, _ = project
    s = load_settings(params)
    videos = sorted(str(p) for p in s.paths.inbox.rglob("*.mp4") if p.stem != "corrupt")
    assert len(videos) == 2
    outbox = tmp_path / "out"
    command = [sys.executable, "-m", "ethoflow.cli", "label", *videos]
    command += ["--params", str(params), "--out", str(outbox)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Its own process group (no PREFECT_API_URL: as on a lab PC), killed as a power cut would.
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(outbox.glob("*/record.json")) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the first video done, the second in flight
    assert process.wait() == -signal.SIGKILL, "the batch finished before it could be killed"
    assert len(list(outbox.glob("*/record.json"))) == 1

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    # Without a Prefect server, `ethoflow label` runs the label flow's batch in its own process.
    log = re.search(r"^log: (.+)$", finished.stderr, re.MULTILINE)
    assert log and "labelling without Prefect" in Path(log.group(1)).read_text(), finished.stderr
    assert "label: 2 of 2 recordings done in " in finished.stderr  # the batch's progress
    folders = sorted(p.name for p in outbox.iterdir() if p.is_dir())
    assert folders == ["c4_v00", "c4_v01"]
    for folder in folders:
        assert (outbox / folder / "record.json").is_file()
        labels = pd.read_csv(outbox / folder / "labels.csv")
        assert labels.frame.is_unique and labels.frame.is_monotonic_increasing


def test_the_held_out_set_up_is_flagged_for_drift_and_trained_set_ups_are_not(project, tmp_path):
    from ethoflow.flows.label import label_flow

    params, _ = project
    s = load_settings(params)
    # New recordings (another seed: other mice, lengths, lighting) of the two trained set-ups.
    trained = tmp_path / "trained"
    small_lab(trained, tmp_path / "truth", LAB_CONDITIONS, videos=1, minutes=0.3, seed=5)
    held_out = sorted(str(p) for p in s.paths.inbox.rglob("c4_*.mp4"))
    outbox = tmp_path / "out"
    result = label_flow(params=str(params), videos=[str(trained), *held_out], outbox=str(outbox))
    assert result["counts"] == {"labelled": 4}
    flags = {o["video_id"]: o["drift_flagged"] for o in result["outcomes"]}
    assert flags == {"c1_v00": False, "c3_v00": False, "c4_v00": True, "c4_v01": True}

    for video_id in ("c4_v00", "c4_v01"):
        drift = json.loads((outbox / video_id / "summary.json").read_text())["drift"]
        assert drift["flagged"] and drift["score"] > 1
        [camera] = [r for r in drift["reasons"] if r.startswith("camera set-up unlike any")]
        # Trained at 10 fps on 320×320 and 384×288 frames; condition_4 films 400×400 at 25 fps.
        assert "frame rate 2.50× higher than in condition_" in camera
        assert "(25 vs 10 fps)" in camera
        assert set(drift["heads"]) == {"grooming", "rearing"}
        assert drift["setup"]["fps"] == 25.0
        assert (outbox / video_id / "labels.csv").is_file()  # labels are still written
    for video_id in ("c1_v00", "c3_v00"):
        drift = json.loads((outbox / video_id / "summary.json").read_text())["drift"]
        assert not drift["flagged"] and drift["reasons"] == [] and drift["score"] < 1

    report = pd.read_csv(outbox / "report.csv").set_index("video_id")
    assert report.drift_flagged.to_dict() == flags
    assert "frame rate 2.50× higher" in report.loc["c4_v00", "drift_reasons"]
