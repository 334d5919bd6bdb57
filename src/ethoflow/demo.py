"""The main job end to end on the embedded defaults: synthesise a lab, version it with DVC,
retrain, then label recordings from a camera set-up held out of training and score the labels
against the synthetic ground truth."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from ethoflow.config import Settings, TrainingBudget
from ethoflow.evaluation.agreement import label_agreement
from ethoflow.evaluation.reports import retrain_text
from ethoflow.io.atomic import write_csv


def write_lab(
    settings: Settings,
    *,
    videos_per_condition: int | None = None,
    minutes: float | None = None,
    seed: int | None = None,
    conditions: list[str] | None = None,
) -> pd.DataFrame:
    """The synthetic lab in ``paths.raw`` (truth in ``paths.truth``); returns its inventory.

    ``conditions`` names the camera set-ups to record (default: the lab's trained ones);
    ValueError names the known ones for an unknown name.
    """
    from ethoflow.synth.conditions import CONDITIONS, condition_by_name
    from ethoflow.synth.lab import synthesize_lab

    chosen = tuple(map(condition_by_name, conditions)) if conditions else CONDITIONS
    return synthesize_lab(
        settings.paths.raw,
        settings.paths.truth,
        videos_per_condition=videos_per_condition or settings.synth.videos_per_condition,
        minutes=minutes or settings.synth.minutes,
        seed=settings.seed if seed is None else seed,
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=chosen,
        workers=settings.synth.workers,
    )


def inbox_truth_dir(settings: Settings) -> Path:
    return settings.paths.truth.with_name("inbox_truth")


def write_inbox(settings: Settings, workers: int | None = None) -> None:
    """New recordings from the held-out camera set-up into ``paths.inbox``, drawn by ``workers``
    processes (default: ``synth.workers``)."""
    from ethoflow.synth.conditions import HELD_OUT_CONDITION
    from ethoflow.synth.lab import synthesize_lab

    synthesize_lab(
        settings.paths.inbox,
        inbox_truth_dir(settings),
        videos_per_condition=settings.synth.inbox_videos,
        minutes=settings.synth.minutes,
        seed=settings.seed,  # condition 4 draws its own streams: no clash with the lab
        light_mouse_fraction=settings.synth.light_mouse_fraction,
        conditions=(HELD_OUT_CONDITION,),
        workers=workers or settings.synth.workers,
    )


def agreement(settings: Settings, outcomes: list[dict]) -> pd.DataFrame:
    """Labels of the demo inbox against its ground truth; also written to the outbox."""
    from ethoflow.synth.recording import truth_labels

    tables = []
    for outcome in outcomes:
        if outcome["status"] == "quarantined":
            continue
        labels = pd.read_csv(Path(outcome["outputs"]) / "labels.csv")
        truth = truth_labels(pd.read_csv(inbox_truth_dir(settings) / f"{outcome['video_id']}.csv"))
        table = label_agreement(labels, truth, list(settings.train.heads))
        tables.append(table.assign(video_id=outcome["video_id"]))
    result = pd.concat(tables, ignore_index=True)[
        ["video_id", "head", "n_frames", "n_positive", "accuracy", "precision", "recall", "f1"]
    ]
    write_csv(result, settings.paths.outbox / "agreement.csv")
    return result


def demo_budget(settings: Settings) -> TrainingBudget:
    """The demo's search budget: ``demo``'s numbers where set, else ``train``'s."""
    return settings.train.budget.override(**settings.demo.model_dump())


def run_demo(settings: Settings, params: Path, echo: Callable[[str], None] = print) -> None:
    """Run the demo with the settings read from ``params``, telling progress through ``echo``."""
    from ethoflow.mlops.deployments import use_local_prefect

    # Before Prefect is imported: it reads its settings (home, timeouts) from the environment then.
    use_local_prefect(settings)
    from ethoflow.flows.label import label_flow
    from ethoflow.flows.retrain import retrain_flow
    from ethoflow.mlops.versioning import push_data, track_data

    root = params.resolve().parent
    echo("1/5 synthesising the lab …")
    inventory = write_lab(settings)
    echo(inventory.groupby("condition").frames.agg(["count", "sum"]).to_string())
    echo("2/5 versioning the recordings with DVC …")
    track_data(root, [settings.paths.raw, settings.paths.truth])
    pushed = push_data(root)
    echo(f"DVC: tracked {settings.paths.raw} and {settings.paths.truth}; pushed {pushed} files")
    budget = demo_budget(settings)
    t = settings.train
    echo(
        "3/5 retraining: ingest → train → evaluate → promote (Prefect flow `retrain`) with the "
        f"demo's budget: {budget.n_trials} trials per head and architecture, at most "
        f"{budget.max_epochs} epochs, patience {budget.patience} (params.yaml `demo`; "
        f"`ethoflow retrain` uses `train`: {t.n_trials} trials, {t.max_epochs} epochs, "
        f"patience {t.patience}) …"
    )
    # The held-out set-up's new recordings are drawn by one process in the background while
    # the models train, which keeps about one core busy (drawn afterwards, they took 25 s).
    # Spawned, not forked: TensorFlow's threads run in this process.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as background:
        inbox = background.submit(write_inbox, settings, 1)
        result = retrain_flow(params=str(params.resolve()), budget=budget)
        echo(result["ingest"]["text"])
        echo(retrain_text(result))
        echo(
            f"4/5 new recordings from a camera set-up held out of training → {settings.paths.inbox}"
            " (drawn while the models trained)"
        )
        inbox.result()
    echo("5/5 labelling the inbox with the champions (Prefect flow `label`) …")
    # Named, not found by the nightly scan: these files were just written, not being copied.
    batch = label_flow(params=str(params.resolve()), videos=[str(settings.paths.inbox)])
    echo(f"labelled into {settings.paths.outbox}: {batch['counts']}")
    echo("per-frame agreement with the synthetic ground truth:")
    echo(agreement(settings, batch["outcomes"]).round(3).to_string(index=False))
