"""The registry's side of an adaptation round (``ethoflow adapt``): each model version's scores on
every set-up, whether the best candidate improves the set-up being adapted to, and the round
logged as one run of the ``ethoflow-adapt`` experiment, so the curve of minutes reviewed against
the set-up's F1 shows in MLflow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ethoflow.labelling.adaptation import condition_scores
from ethoflow.mlops.champion_changes import best_candidate
from ethoflow.mlops.champions import champion_version
from ethoflow.mlops.logged_evaluations import evaluation_table
from ethoflow.mlops.mlflow_store import client_or_default, experiment_id
from ethoflow.mlops.promotion import setup_improves
from ethoflow.mlops.registered_models import model_name, quoted

if TYPE_CHECKING:
    from mlflow import MlflowClient

ADAPT_EXPERIMENT = "ethoflow-adapt"
Scores = dict[str, dict[str, float | None]]  # set-up → {"f1": …, "pr_auc": …}


def version_scores(head: str, version: str, client: MlflowClient | None = None) -> Scores:
    """Version ``version`` of ``head``'s model on each set-up of its last evaluation."""
    return condition_scores(evaluation_table(model_name(head), version, client=client))


def champion_scores(head: str, client: MlflowClient | None = None) -> tuple[str | None, Scores]:
    """``head``'s champion version and its scores per set-up ({} without a champion)."""
    champion = champion_version(head, client)
    if champion is None:
        return None, {}
    version = str(champion.version)
    return version, version_scores(head, version, client)


def candidate_improves(
    head: str,
    setup: str,
    *,
    architecture: str,
    metric: str,
    min_improvement: float,
    client: MlflowClient | None = None,
) -> tuple[bool, str]:
    """Whether the version the promotion would pick (:func:`best_candidate`) scores better on
    ``setup`` than the champion (:func:`~ethoflow.mlops.promotion.setup_improves`), with why."""
    client = client_or_default(client)
    candidate = best_candidate(client, model_name(head), architecture, metric)
    if candidate is None:
        return False, f"no evaluated {architecture} version"
    version, champion = champion_scores(head, client)
    if str(candidate.version) == version:
        return False, f"the champion v{version} is still the best evaluated version"
    new = version_scores(head, str(candidate.version), client).get(setup, {}).get("pr_auc")
    return setup_improves(
        setup, new, champion.get(setup, {}).get("pr_auc"), min_improvement=min_improvement
    )


def next_round(setup: str, client: MlflowClient | None = None) -> int:
    """The number of ``setup``'s next round: one more than its rounds logged so far."""
    client = client_or_default(client)
    experiment = experiment_id(client, ADAPT_EXPERIMENT)
    runs = client.search_runs([experiment], f"params.setup = {quoted(setup)}")
    return len(runs) + 1


def log_round(
    setup: str,
    number: int,
    *,
    strategy: str,
    minutes: float,
    stretches: int,
    after: dict[str, Scores],
    promoted: dict[str, bool],
    client: MlflowClient | None = None,
) -> str:
    """Log round ``number`` of ``setup`` as a run: params setup, round, strategy; metrics
    ``minutes_reviewed`` and ``stretches_answered`` (all answers so far), ``<set-up>.<head>.f1``
    and ``.pr_auc`` of each head's champion after the round (``after``: head → scores), and
    ``<head>.promoted`` (1 or 0). Return the run id."""
    from mlflow.entities import Metric, Param

    client = client_or_default(client)
    experiment = experiment_id(client, ADAPT_EXPERIMENT)
    run = client.create_run(experiment, run_name=f"adapt-{setup}-{number}")
    now = int(datetime.now(UTC).timestamp() * 1000)
    values = {"minutes_reviewed": minutes, "stretches_answered": float(stretches)}
    values |= {f"{head}.promoted": float(done) for head, done in promoted.items()}
    for head, scores in after.items():
        for condition, metrics in scores.items():
            for metric, value in metrics.items():
                if value is not None:  # MLflow takes no missing values
                    values[f"{condition}.{head}.{metric}"] = value
    try:
        client.log_batch(
            run.info.run_id,
            params=[
                Param("setup", setup),
                Param("round", str(number)),
                Param("strategy", strategy),
            ],
            metrics=[Metric(key, value, now, number) for key, value in values.items()],
        )
    except Exception:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def setup_rounds(setup: str, client: MlflowClient | None = None) -> list[dict[str, float]]:
    """``setup``'s rounds logged so far (:func:`log_round`), first to last: each one's ``round``
    and its metrics, keys as logged (``minutes_reviewed``, ``<set-up>.<head>.f1``, …). Reads
    only: no experiment yet is no round."""
    client = client_or_default(client)
    experiment = client.get_experiment_by_name(ADAPT_EXPERIMENT)
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], f"params.setup = {quoted(setup)}")
    rounds = [{"round": float(r.data.params["round"]), **r.data.metrics} for r in runs]
    return sorted(rounds, key=lambda r: r["round"])
