"""The review loop on a tiny lab (issue 36): champions trained on one set-up; a new set-up's
recordings labelled and ranked; the simulated reviewer answers the queue; `ethoflow adapt` imports
the answers as partial labels beside the set-up's fully labelled held-out recording, retrains,
and logs the round to MLflow; a second round with more answers updates the labels."""

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from ethoflow.config import load_settings
from ethoflow.io.labels import read_labels
from ethoflow.labelling.adaptation import QUEUE_FILE, adapt_folder, adapted_setups
from ethoflow.labelling.review_queue import ANSWER_COLUMNS, Answer
from ethoflow.mlops.adaptation import ADAPT_EXPERIMENT
from ethoflow.synth.reviewer import Truth, answer_queue
from helpers.adapt import SETUP, TRAINED, copy_project, run_adapt
from helpers.champions import assert_exit


@pytest.fixture(scope="module")
def project(adapt_champions, tmp_path_factory):
    """Champions of a lab set-up; a new set-up's unlabelled recording, its truth, and one fully
    labelled held-out recording."""
    return copy_project(adapt_champions, tmp_path_factory.mktemp("adapt"))


def _write_answers(answers: list[Answer], path: Path) -> Path:
    rows = [[getattr(a, c) for c in ANSWER_COLUMNS] for a in answers]
    pd.DataFrame(rows, columns=list(ANSWER_COLUMNS)).to_csv(path, index=False)
    return path


def _known_frames_match(answers: list[Answer], raw: Path, truth: dict[str, Truth]) -> None:
    """Each answered video's imported labels: known exactly on its answered stretches (to a
    frame of the 10 fps clock at their ends), with the answers' values."""
    for video in {a.video for a in answers}:
        labels = read_labels(raw / f"{video}.csv")
        fps = truth[video].fps
        seconds = pd.Series(range(len(labels))) / fps
        for head in ("grooming", "rearing"):
            mine = [a for a in answers if a.video == video and a.head == head]
            inside = pd.Series(False, index=labels.index)
            core = pd.Series(False, index=labels.index)
            for a in mine:
                inside |= (seconds >= a.start_s - 0.1) & (seconds < a.end_s + 0.1)
                core |= (seconds >= a.start_s + 0.1) & (seconds < a.end_s - 0.1)
            known = labels[head].notna()
            assert not (known & ~inside).any(), f"{video} {head}: known outside the answers"
            assert known[core].all(), f"{video} {head}: an answered frame is unknown"
            for a in mine[-1:]:
                middle = round((a.start_s + a.end_s) / 2 * fps)
                assert labels[head][middle] == a.value


@pytest.mark.slow  # two retrains of a tiny lab
def test_two_rounds_of_review_answers_retrain_and_log_the_curve(project, tmp_path):
    params, truth = project.params, project.truth
    settings = load_settings(params)
    raw = settings.paths.raw / SETUP

    first = run_adapt(project)
    assert_exit(first, 0)
    assert "not retrained: no answers on these recordings yet" in first.output
    queue = pd.read_csv(adapt_folder(settings, SETUP) / QUEUE_FILE)
    assert len(queue) and set(queue.video) <= set(truth)
    # The behaviours take turns, each one's most unsure first, then its sure bouts to confirm.
    for _, mine in queue.groupby("head"):
        assert mine.score.is_monotonic_decreasing
    assert set(queue["head"].iloc[:2]) == {"grooming", "rearing"}
    # The web UI's review page starts the next round on the same folders.
    sources = {"recordings": str(project.recordings), "holdout": str(project.holdout)}
    assert adapted_setups(settings) == {SETUP: sources}

    queued = (queue.end_s - queue.start_s).sum() / 60  # minutes to review the whole queue
    answers = answer_queue(queue, truth, minutes=queued / 2)
    assert answers
    one = run_adapt(project, "--answers", str(_write_answers(answers, tmp_path / "a1.csv")))
    assert_exit(one, 0)
    assert f"round 1 of {SETUP}: {len(answers)} stretches answered" in one.output
    assert f"grooming: {SETUP} F1 " in one.output and f"rearing: {SETUP} F1 " in one.output
    _known_frames_match(answers, raw, truth)
    held = sorted(project.holdout.glob("*.mp4"))[0].stem
    assert read_labels(raw / f"{held}.csv").notna().all(axis=None)
    split = pd.read_csv(settings.paths.features / "manifest.csv").set_index("video_id").split
    assert split[held] == "validation"  # the set-up is judged on its fully labelled recording
    assert all(split[v] != "validation" for v in {a.video for a in answers})

    more = answer_queue(queue, truth, minutes=queued)
    assert len(more) > len(answers) and more[: len(answers)] == answers
    two = run_adapt(project, "--answers", str(_write_answers(more, tmp_path / "a2.csv")))
    assert_exit(two, 0)
    print(one.output, two.output, sep="\n")  # the round's summary, in the test's log
    assert f"round 2 of {SETUP}: {len(more)} stretches answered" in two.output
    _known_frames_match(more, raw, truth)

    mlflow.set_tracking_uri(settings.tracking_uri)
    runs = mlflow.search_runs(experiment_names=[ADAPT_EXPERIMENT], order_by=["params.round"])
    assert runs["params.round"].tolist() == ["1", "2"]
    assert set(runs["params.setup"]) == {SETUP} and set(runs["params.strategy"]) == {"queue"}
    minutes = runs["metrics.minutes_reviewed"].tolist()
    assert minutes == pytest.approx(
        [sum(a.seconds for a in x) / 60 for x in (answers, more)], abs=1e-3
    )
    assert runs["metrics.stretches_answered"].tolist() == [len(answers), len(more)]
    for head in ("grooming", "rearing"):
        assert runs[f"metrics.{SETUP}.{head}.f1"].notna().all()
        assert runs[f"metrics.{SETUP}.{head}.pr_auc"].notna().all()
        assert runs[f"metrics.{head}.promoted"].isin([0.0, 1.0]).all()
        for trained in TRAINED:
            assert runs[f"metrics.{trained.name}.{head}.f1"].notna().all()
