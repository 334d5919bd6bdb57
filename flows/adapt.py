"""Adapt flow: one round of the review loop on a new camera set-up.

Label the set-up's new recordings with the champions, rank their stretches for review, take the
answers given so far (the web UI's review queue or an answer file), import them as partial labels
beside the set-up's fully labelled held-out recordings, retrain (ingest → train → evaluate), and
promote a head only if the set-up improves and the promotion rule holds. The round is one run of
the ``ethoflow-adapt`` MLflow experiment. The steps are :mod:`ethoflow.labelling.adaptation` and
:mod:`ethoflow.mlops.adaptation`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from ethoflow.config import Settings, TrainingBudget, load_settings
from ethoflow.data.lab_import import import_recordings
from ethoflow.flows.evaluate import evaluate_flow
from ethoflow.flows.ingest import ingest_flow
from ethoflow.flows.label import label_flow
from ethoflow.flows.promote import promote_flow
from ethoflow.flows.tasks import start_tracking
from ethoflow.flows.train import train_flow
from ethoflow.labelling import adaptation as steps
from ethoflow.labelling.review_queue import Answer, read_answers
from ethoflow.mlops import adaptation as registry
from ethoflow.mlops.champions import champion_version
from ethoflow.runtime import interrupt


@task(cache_policy=NO_CACHE)
def rank(labelled: list[Path], path: Path) -> int:
    return len(steps.write_review_queue(labelled, path))


@task(cache_policy=NO_CACHE)
def read(answers: Path) -> list[Answer]:
    return read_answers(answers) if answers.exists() else []


@task(cache_policy=NO_CACHE)
def import_answers(
    answers: list[Answer],
    labelled: list[Path],
    holdout: Path | None,
    setup: str,
    settings: Settings,
) -> dict:
    """Import the partial labels (and the held-out recordings); refuse a set-up without a fully
    labelled recording to judge it."""
    folder = steps.adapt_folder(settings, setup) / steps.ANSWERED_FOLDER
    written = steps.write_answered_labels(answers, labelled, folder)
    sources = [folder] + ([holdout] if holdout else [])
    report = import_recordings(sources, setup, settings)
    if not steps.fully_labelled_recordings(report.folder):
        raise ValueError(
            f"{report.folder}: no fully labelled recording of {setup} to evaluate it on: "
            "pass --holdout FOLDER with one or more labelled recordings of the set-up"
        )
    refused = [f"{o.video.name}: {o.reason}" for o in report.outcomes if o.status == "refused"]
    changed = report.count("imported") + report.count("updated")
    return {"answered_videos": len(written), "changed": changed, "refused": refused}


@task(cache_policy=NO_CACHE, task_run_name="champion-{head}")
def champion(head: str) -> str | None:
    version = champion_version(head)
    return None if version is None else str(version.version)


@task(cache_policy=NO_CACHE, task_run_name="champion-scores-{head}")
def champion_scores(head: str) -> tuple[str | None, registry.Scores]:
    return registry.champion_scores(head)


@task(cache_policy=NO_CACHE, task_run_name="setup-check-{head}")
def setup_check(head: str, setup: str, settings: Settings) -> tuple[bool, str]:
    p = settings.promote
    return registry.candidate_improves(
        head,
        setup,
        architecture=p.architecture,
        metric=p.metric,
        min_improvement=p.min_improvement,
    )


@task(cache_policy=NO_CACHE)
def log_round(setup: str, strategy: str, summary: dict) -> tuple[int, str]:
    number = registry.next_round(setup)
    run_id = registry.log_round(
        setup,
        number,
        strategy=strategy,
        minutes=summary["minutes_reviewed"],
        stretches=summary["stretches_answered"],
        after=summary["after"],
        promoted={head: d["promoted"] for head, d in summary["decisions"].items()},
    )
    return number, run_id


@flow(name="adapt", log_prints=True)
def adapt_flow(
    params: str,
    setup: str,
    recordings: str,
    answers: str,
    budget: TrainingBudget,
    holdout: str | None = None,
    strategy: str = "queue",
) -> dict:
    """One round for ``setup``: ``recordings``, the folder of its new unlabelled videos;
    ``answers``, an answer file or the web UI's review folder (``<ui.data>/review``); ``holdout``,
    a folder of its fully labelled recordings (imported once); ``strategy``, how the answered
    stretches were chosen (``queue`` or ``random``), recorded with the round.

    Without answers, or with the same answers as the last round, it stops after writing the
    queue (nothing to retrain on)."""
    settings = load_settings(params)
    folder = steps.adapt_folder(settings, setup)
    steps.write_sources(settings, setup, Path(recordings), Path(holdout) if holdout else None)
    batch = label_flow(params=params, videos=[recordings])
    labelled = [
        Path(o["outputs"])
        for o in batch["outcomes"]
        if o["outputs"] and o["status"] != "quarantined"
    ]
    summary: dict = {
        "setup": setup,
        "queue": str(folder / steps.QUEUE_FILE),
        "stretches_ranked": rank(labelled, folder / steps.QUEUE_FILE),
        "labelling": batch,
    }
    given = steps.answers_on(read(Path(answers)), labelled)
    summary |= {
        "stretches_answered": len(given),
        "minutes_reviewed": round(steps.minutes_reviewed(given), 3),
    }
    if not given:
        return summary | {"retrained": False, "why": "no answers on these recordings yet"}
    imported = import_answers(given, labelled, Path(holdout) if holdout else None, setup, settings)
    summary["import"] = imported
    if not imported["changed"]:
        return summary | {"retrained": False, "why": "no new answers since the last round"}
    interrupt.check()
    summary["ingest"] = ingest_flow(params=params)
    interrupt.check()
    train_flow(params=params, budget=budget)
    interrupt.check()
    evaluate_flow(params=params, heads=budget.heads)
    start_tracking(settings)
    # The champions judged on the same validation recordings as the candidates: the new
    # set-up's included.
    before = {}
    for head in budget.heads:
        version = champion(head)
        if version is not None:
            evaluate_flow(params=params, heads=[head], versions=[version])
        before[head] = champion_scores(head)[1]
    checks = {head: setup_check(head, setup, settings) for head in budget.heads}
    interrupt.check()
    improving = [head for head, (ok, _) in checks.items() if ok]
    promoted = (
        {d["head"]: d for d in promote_flow(params=params, heads=improving)} if improving else {}
    )
    summary["decisions"] = {
        head: promoted.get(head, {"promoted": False, "reason": checks[head][1]})
        for head in budget.heads
    }
    summary["before"] = before
    summary["after"] = {head: champion_scores(head)[1] for head in budget.heads}
    summary["round"], summary["run_id"] = log_round(setup, strategy, summary)
    return summary | {"retrained": True}
