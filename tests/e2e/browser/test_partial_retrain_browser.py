"""A partial label file made on the Annotate page feeds a retrain of the tiny lab, and its unknown
frames count for nothing: one recording of the lab (its label file removed) annotated in the
browser as a reviewed stretch with a grooming bout, the rest unknown; the lab retrained; ingest
keeps the unknown frames empty, the training profile logged with each new version counts only
the labelled frames, and the model card says how many were labelled.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml
from annotating import annotate_page, move, open_recording, press
from ui_serving import ethoflow_ui

from ethoflow.config import load_settings
from ethoflow.io.labels import bouts, read_labels
from helpers.labs import small_lab
from helpers.retrain import LAB_CONDITIONS, PARAMS

HEADS = ("grooming", "rearing")
FPS = LAB_CONDITIONS[0].fps  # 10
REVIEWED = 80  # frames 0-79 reviewed, 10-69 grooming (the truth's bout); 80 on unknown
BOUT = (10, 70)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``ethoflow ui`` over test_import's tiny lab (six recordings of one set-up, 0.3 min each),
    one of them without its label file."""
    root = tmp_path_factory.mktemp("partial-retrain")
    params = root / "params.yaml"
    # Seed 0 puts the partly labelled recording in training (seed 3 would put it in test).
    params.write_text(yaml.safe_dump(yaml.safe_load(PARAMS) | {"seed": 0}))
    settings = load_settings(params)
    video = settings.paths.raw / LAB_CONDITIONS[0].name / "c1_v00.mp4"

    def prepare() -> None:
        small_lab(
            settings.paths.raw,
            settings.paths.truth,
            LAB_CONDITIONS[:1],
            videos=6,
            minutes=0.3,
            seed=2,
        )
        video.with_suffix(".csv").unlink()

    with ethoflow_ui(params, root / "ui.log", ready=prepare) as url:
        yield {"url": url, "params": params, "video": video}


@pytest.fixture
def page(browser, lab):
    yield from annotate_page(browser, lab["url"])


@pytest.mark.slow  # a retrain of the tiny lab: about 100 s in all on 2 busy cores
def test_a_partial_file_feeds_a_retrain_and_its_unknown_frames_do_not_count(
    page, lab, prefect_harness
):
    from mlflow import MlflowClient

    from ethoflow.flows.retrain import retrain_flow
    from ethoflow.mlops.registered_models import logged_training_profile, model_name

    video = lab["video"]
    open_recording(page, video, "Nothing: every frame unknown")
    page.get_by_role("heading", name="Annotate").click()  # the keys reach the page
    press(page, "v", "Reviewed started at frame 0")
    move(page, 0, BOUT[0], FPS)
    press(page, "g", f"Grooming started at frame {BOUT[0]}")
    move(page, BOUT[0], BOUT[1], FPS)
    press(page, "ArrowLeft", f"frame {BOUT[1] - 1} · ")
    press(page, "g", f"Grooming from frame {BOUT[0]} (1.00 s) to frame {BOUT[1] - 1}")
    move(page, BOUT[1] - 1, REVIEWED - 1, FPS)
    press(page, "v", f"Reviewed from frame 0 (0.00 s) to frame {REVIEWED - 1}")
    press(page, "s", re.compile("^Saved "))
    saved = read_labels(video.with_suffix(".csv"))
    frames = len(saved)
    assert frames > REVIEWED
    assert saved[:REVIEWED].notna().all(axis=None) and saved[REVIEWED:].isna().all(axis=None)
    assert bouts(saved.grooming.fillna(0).to_numpy()) == [BOUT]
    assert saved.rearing.sum() == 0

    settings = load_settings(lab["params"])
    result = retrain_flow(params=str(lab["params"]), budget=settings.train.budget)
    assert [d["promoted"] for d in result["promote"]] == [True, True]  # no champion yet
    features = settings.paths.features
    manifest = pd.read_csv(features / "manifest.csv").set_index("video_id")
    assert manifest.split[video.stem] == "train"
    # Ingest keeps the unknown frames empty: exactly the frames not reviewed.
    ingested = read_labels(features / "videos" / f"{video.stem}.csv")
    assert ingested[list(HEADS)].equals(saved[list(HEADS)])

    # What each recording labels, from the label files beside the videos.
    labelled = {
        path.stem: read_labels(path)[list(HEADS)].notna().sum()
        for path in (settings.paths.raw / LAB_CONDITIONS[0].name).glob("*.csv")
    }
    training = [v for v in labelled if manifest.split[v] == "train"]
    client = MlflowClient(settings.tracking_uri)
    for entry in result["train"]:
        head = entry["head"]
        version = client.get_model_version(model_name(head), str(entry["model_version"]))
        profile = logged_training_profile(version.run_id, client)
        assert profile is not None
        recordings = {r["video_id"]: r for r in profile["recordings"]}
        annotated = recordings[video.stem]
        counts = (annotated["frames"], annotated["behaviours"][head]["labelled"])
        assert counts == (frames, REVIEWED)
        assert sum(recordings[v]["behaviours"][head]["labelled"] for v in training) == sum(
            labelled[v][head] for v in training
        )
        # Its card (promoted) says how much of the lab was labelled.
        total = sum(r["frames"] for r in profile["recordings"])
        known = total - (frames - REVIEWED)
        assert sum(r["behaviours"][head]["labelled"] for r in profile["recordings"]) == known
        assert f"{head} labelled on {known} of {total} frames" in version.description
