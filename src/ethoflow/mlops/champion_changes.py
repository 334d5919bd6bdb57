"""Changing a head's champion: promoting the best evaluated version, or rolling back, by moving
the registry's ``champion`` and ``previous`` aliases; every decision is logged as a run.

The rules are :mod:`ethoflow.mlops.promotion`'s (pure); this module reads the scores from the
registry and applies the decision.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ethoflow.mlops.champions import CHAMPION, PREVIOUS, champion_version, model_aliases
from ethoflow.mlops.logged_evaluations import UNMEASURABLE_TAG
from ethoflow.mlops.mlflow_store import client_or_default, experiment_id
from ethoflow.mlops.promotion import DEFAULT_METRIC, Decision, Scored, decide, make_decision
from ethoflow.mlops.registered_models import model_name, quoted, search_versions

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

DECISIONS_EXPERIMENT = "ethoflow-decisions"


def _scored(version: ModelVersion | None, metric: str) -> Scored | None:
    """``version`` with its ``metric`` tag as a float (None when missing or not finite)."""
    if version is None:
        return None
    try:
        score = float(version.tags[metric])
    except (KeyError, ValueError):
        score = None
    unmeasurable = tuple(c for c in version.tags.get(UNMEASURABLE_TAG, "").split(",") if c)
    return Scored(
        str(version.version),
        score if score is not None and math.isfinite(score) else None,
        unmeasurable,
    )


def best_candidate(
    client: MlflowClient,
    name: str,
    architecture: str = "tcn",
    metric: str = DEFAULT_METRIC,
) -> ModelVersion | None:
    """The evaluated ``architecture`` version of ``name`` with the highest finite ``metric`` tag,
    among those measured on every condition if any is.

    Ties go to the newer version. None if no version qualifies.
    """
    query = (
        f"name = {quoted(name)} AND tags.architecture = {quoted(architecture)}"
        " AND tags.evaluated = 'true'"
    )
    scored = [
        (not s.unmeasurable, s.score, int(v.version), v)
        for v in search_versions(client, query)
        if (s := _scored(v, metric)) is not None and s.score is not None
    ]
    if not scored:
        return None
    return max(scored, key=lambda item: item[:3])[3]


def _record(client: MlflowClient, decision: Decision, action: str, **params: str) -> str:
    """Log ``decision`` as a run of the decisions experiment; return the run id."""
    from datetime import UTC, datetime

    from mlflow.entities import Metric, Param, RunTag

    user = decision.decided_by.partition("@")[0]
    tags = {
        "mlflow.user": user,  # client.create_run records "unknown" otherwise
        "action": action,
        "head": decision.head,
        "promoted": str(decision.promoted).lower(),
        "reason": decision.reason,
        "decided_by": decision.decided_by,
    }
    experiment = experiment_id(client, DECISIONS_EXPERIMENT)
    run = client.create_run(experiment, run_name=f"{action}-{decision.head}", tags=tags)
    run_id = run.info.run_id
    try:
        values = {
            "head": decision.head,
            "model_name": decision.model_name,
            "metric": decision.metric,
            "candidate_version": decision.candidate_version,
            "champion_version": decision.champion_version,
            **params,
        }
        scores = {
            "candidate_score": decision.candidate_score,
            "champion_score": decision.champion_score,
        }
        now = int(datetime.now(UTC).timestamp() * 1000)
        client.log_batch(
            run_id,
            # MLflow params and metrics cannot be None: absent versions and scores are left out.
            params=[Param(k, str(v)) for k, v in values.items() if v is not None],
            metrics=[Metric(k, v, now, 0) for k, v in scores.items() if v is not None],
            tags=[RunTag("decided_at", decision.decided_at)],
        )
        client.log_dict(run_id, decision.as_dict(), "decision.json")
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def promote_if_better(
    head: str,
    *,
    architecture: str = "tcn",
    metric: str = DEFAULT_METRIC,
    min_improvement: float = 0.0,
    client: MlflowClient | None = None,
) -> Decision:
    """Make the best evaluated ``architecture`` version champion if it beats the champion.

    It must score strictly more than the champion's ``metric`` plus ``min_improvement``
    (:func:`ethoflow.mlops.promotion.decide`); the replaced champion becomes ``previous``. Every
    decision, a refusal too, is logged as a run of the ``ethoflow-decisions`` experiment.
    """
    client = client_or_default(client)
    name = model_name(head)
    candidate = _scored(best_candidate(client, name, architecture, metric), metric)
    champion = _scored(champion_version(head, client), metric)
    promoted, reason = decide(
        candidate,
        champion,
        architecture=architecture,
        metric=metric,
        min_improvement=min_improvement,
    )
    decision = make_decision(
        head,
        name,
        promoted=promoted,
        reason=reason,
        candidate=candidate,
        champion=champion,
        metric=metric,
    )
    if promoted:
        # `previous` first: if we stop in between, no version has lost its alias.
        if champion is not None:
            client.set_registered_model_alias(name, PREVIOUS, champion.version)
        assert candidate is not None  # decide() promotes only a candidate
        client.set_registered_model_alias(name, CHAMPION, candidate.version)
    # Re-runs keep the tag that says why the champion was promoted rather than overwrite it.
    if candidate is not None and not (champion and champion.version == candidate.version):
        verdict = "promoted" if promoted else "refused"
        client.set_model_version_tag(
            name, candidate.version, "promotion_decision", f"{verdict}: {reason}"
        )
    _record(
        client,
        decision,
        "promote",
        architecture=architecture,
        min_improvement=str(min_improvement),
    )
    return decision


def rollback(head: str, *, client: MlflowClient | None = None) -> Decision:
    """Swap the ``champion`` and ``previous`` aliases, so that rolling back twice undoes itself.

    Raises ValueError if there is no ``previous`` version to go back to.
    """
    client = client_or_default(client)
    name = model_name(head)
    aliases = model_aliases(client, name)
    previous = aliases.get(PREVIOUS)
    current = aliases.get(CHAMPION)
    if previous is None:
        raise ValueError(
            f"{name} has no {PREVIOUS!r} alias, so there is nothing to roll back to. Make a "
            f"version champion with promote_if_better({head!r}) or set the alias by hand: "
            f"MlflowClient().set_registered_model_alias({name!r}, {CHAMPION!r}, <version>)"
        )
    if previous == current:
        raise ValueError(
            f"{name}: {CHAMPION!r} and {PREVIOUS!r} are both version {current}, so rolling back "
            f"changes nothing. Set {CHAMPION!r} to the version to serve by hand."
        )
    restored = client.get_model_version(name, previous)
    replaced = None if current is None else client.get_model_version(name, current)
    decision = make_decision(
        head,
        name,
        promoted=True,
        reason="rollback",
        candidate=_scored(restored, DEFAULT_METRIC),
        champion=_scored(replaced, DEFAULT_METRIC),
        metric=DEFAULT_METRIC,
    )
    # `champion` first: serving the restored version is the point of a rollback.
    client.set_registered_model_alias(name, CHAMPION, previous)
    if current is None:
        client.delete_registered_model_alias(name, PREVIOUS)
    else:
        client.set_registered_model_alias(name, PREVIOUS, current)
    replaced_text = "no champion" if current is None else f"v{current}"
    client.set_model_version_tag(
        name, previous, "promotion_decision", f"rollback: champion again, replacing {replaced_text}"
    )
    _record(client, decision, "rollback")
    return decision
