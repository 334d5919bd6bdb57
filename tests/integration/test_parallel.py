"""Parallel work gives what sequential work gives: ingest and labelling with two video workers
(threads sharing one extractor and one set of models), and an Optuna search with two trial
workers (spawned processes sharing one study)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ethoflow.config import load_settings
from ethoflow.errors import InputError
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.training.fit import Budget, load_split
from ethoflow.training.search import Search, search_and_register
from helpers.champions import synthetic_frames, write_video
from helpers.features import SPACE, write_features
from helpers.ingest import feature_files, ingest_project

pytestmark = pytest.mark.slow  # each comparison runs the work twice

INGEST_FILES = ("manifest.csv", "quarantine.csv", "summary.json")


def _with_workers(params: Path, workers: int) -> Path:
    """A copy of ``params`` next to it (so its paths resolve alike) with ``workers`` video
    workers."""
    settings = yaml.safe_load(params.read_text())
    settings["parallel"] = {"video_workers": workers}
    copy = params.with_name(f"params-{workers}-workers.yaml")
    copy.write_text(yaml.safe_dump(settings))
    return copy


def test_ingest_with_two_workers_matches_one(tmp_path, prefect_harness, monkeypatch):
    from ethoflow.data import screening
    from ethoflow.flows.ingest import ingest_flow

    params = ingest_project(tmp_path / "lab")
    raw = tmp_path / "lab" / "data" / "raw"
    # A bad video found before featurisation (it does not open)...
    (raw / "condition_1" / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    shutil.copy(raw / "condition_1" / "c1_v00.csv", raw / "condition_1" / "corrupt.csv")
    # ... and one whose featurisation fails, in a worker thread when there are two.
    featurize_recording = screening.featurize_recording

    def failing_c2_v01(recording, *args, **kwargs):
        if recording.video_id == "c2_v01":
            raise InputError(recording.labels, "label rows and decoded frames disagree")
        return featurize_recording(recording, *args, **kwargs)

    monkeypatch.setattr(screening, "featurize_recording", failing_c2_v01)
    features = tmp_path / "lab" / "data" / "features"
    outputs, summaries = {}, {}
    for workers in (1, 2):
        shutil.rmtree(features, ignore_errors=True)
        summaries[workers] = ingest_flow(params=str(_with_workers(params, workers)))
        outputs[workers] = feature_files(features) | {
            name: (features / name).read_bytes() for name in INGEST_FILES
        }
    assert summaries[2] == summaries[1]
    assert set(summaries[2]["quarantined"]) == {"corrupt", "c2_v01"}
    assert "label rows and decoded frames disagree" in summaries[2]["quarantined"]["c2_v01"]
    assert summaries[2]["ingested"] == 2 * len(CONDITIONS) - 1  # all but the failing one
    assert outputs[2] == outputs[1]  # features, labels, manifest, quarantine list: byte for byte


def _label_files(outbox: Path) -> dict[str, object]:
    """Each labelled video's labels (bytes) and summary (without its time), and the batch's
    report without the output folders."""
    files: dict[str, object] = {}
    for folder in sorted(p for p in outbox.iterdir() if (p / "record.json").is_file()):
        files[f"{folder.name}/labels.csv"] = (folder / "labels.csv").read_bytes()
        summary = json.loads((folder / "summary.json").read_text())
        summary.pop("labelled_at")
        files[f"{folder.name}/summary.json"] = summary
    report = pd.read_csv(outbox / "report.csv", keep_default_na=False)
    files["report"] = report.drop(columns="outputs").to_dict("records")
    files["quarantine.csv"] = (outbox / "quarantine.csv").read_bytes()
    return files


def test_label_with_two_workers_matches_one(project, tmp_path):
    from ethoflow.flows.label import label_flow

    videos = tmp_path / "videos"
    for seed in (1, 2, 3):
        write_video(videos / f"mouse{seed}.mp4", synthetic_frames(3, 10, seed=seed), 10)
    (videos / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    results, files = {}, {}
    for workers in (1, 2):
        params = project.write_params(
            tmp_path / f"{workers}-workers", parallel={"video_workers": workers}
        )
        outbox = tmp_path / f"out-{workers}"
        results[workers] = label_flow(params=str(params), videos=[str(videos)], outbox=str(outbox))
        files[workers] = _label_files(outbox)
    assert results[2]["counts"] == results[1]["counts"] == {"labelled": 3, "quarantined": 1}
    assert files[2] == files[1]
    assert [row["video_id"] for row in files[2]["report"]] == [
        "corrupt",
        "mouse1",
        "mouse2",
        "mouse3",
    ]


def test_search_with_two_trial_workers_runs_each_trial_once_in_one_study(tracking, tmp_path):
    import mlflow
    import optuna

    root = write_features(tmp_path / "features")
    train, test = load_split(root, "train"), load_split(root, "test")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    search = Search(
        "grooming",
        "tcn",
        train,
        test,
        space=SPACE,
        n_trials=3,  # uneven: one worker runs two trials, the other one
        storage=storage,
        budget=Budget(max_epochs=2, patience=1, stride_fraction=1.0, seed=0),
        workers=2,
    )
    statuses = []
    result = search_and_register(
        search, lineage={"features_version": "parallel"}, report=statuses.append
    )
    assert result.n_trials == 3 and result.model_version == "1"
    # The workers' finished trials, counted as they end: from none to all, never back.
    counts = [status.done for status in statuses]
    assert counts[0] == 0 and counts[-1] == 3 and counts == sorted(set(counts))
    [summary] = optuna.get_all_study_summaries(storage)
    assert summary.study_name == result.study_name
    study = optuna.load_study(study_name=result.study_name, storage=storage)
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    # Each worker's sampler has its own seed: no configuration is tried twice.
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 3

    runs = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'", output_format="list"
    )
    assert sorted(int(run.data.params["trial"]) for run in runs) == [0, 1, 2]
    assert all("duration_s" in run.data.metrics for run in runs)
    assert all(run.info.status == "FINISHED" for run in runs)
    # The two workers' first trials ran at the same time.
    spans = sorted((run.info.start_time, run.info.end_time) for run in runs)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_below_one_are_refused(tmp_path, workers):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"parallel": {"video_workers": workers}}))
    with pytest.raises(ValueError, match="parallel.video_workers"):
        load_settings(params)
