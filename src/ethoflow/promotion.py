"""Champion/challenger promotion of registered models through MLflow registry aliases.

Each head's registered model ``ethoflow-<head>`` carries two aliases: ``champion`` (the version
to serve, loadable as ``models:/ethoflow-<head>@champion``) and ``previous`` (the champion it
replaced, for ``rollback``). Promotion reads only model-version tags, which the evaluation step
sets: ``evaluated`` = ``"true"``, ``worst_condition_pr_auc`` and ``threshold``. The worst
condition's PR-AUC is the default metric so that a model is not promoted for getting better on
easy recording conditions while getting worse on a hard one.

Every decision, including a refusal, is logged as a run of the ``ethoflow-decisions`` experiment
(params, scores, tags and the full decision as ``decision.json``), so who moved which alias when,
and why, survives alias changes.

MLflow is imported inside the functions: it takes seconds to import.
"""

from __future__ import annotations

import getpass
import math
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
PREVIOUS = "previous"
DECISIONS_EXPERIMENT = "ethoflow-decisions"
DEFAULT_METRIC = "worst_condition_pr_auc"


@dataclass(frozen=True)
class Decision:
    """One promotion or rollback decision; champion fields describe the state before it."""

    head: str
    model_name: str
    promoted: bool
    reason: str
    candidate_version: str | None
    candidate_score: float | None
    champion_version: str | None
    champion_score: float | None
    metric: str
    decided_at: str
    decided_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_name(head: str) -> str:
    """Registered model name of ``head``'s models (as registered by ``training.search``)."""
    return f"ethoflow-{head}"


def _client(client: MlflowClient | None) -> MlflowClient:
    if client is not None:
        return client
    from mlflow import MlflowClient

    return MlflowClient()


def _quoted(value: str) -> str:
    # MLflow's search filter has no escape for quotes; refuse rather than build a wrong query.
    if "'" in value:
        raise ValueError(f"quote in search value: {value!r}")
    return f"'{value}'"


def _score(version: ModelVersion, metric: str) -> float | None:
    """``version``'s ``metric`` tag as a float; None when missing, unparsable or not finite."""
    try:
        score = float(version.tags[metric])
    except (KeyError, ValueError):
        return None
    return score if math.isfinite(score) else None


def best_candidate(
    client: MlflowClient,
    name: str,
    architecture: str = "tcn",
    metric: str = DEFAULT_METRIC,
) -> ModelVersion | None:
    """The evaluated ``architecture`` version of ``name`` with the highest finite ``metric`` tag.

    Ties go to the newer version. None if no version qualifies.
    """
    query = (
        f"name = {_quoted(name)} AND tags.architecture = {_quoted(architecture)}"
        " AND tags.evaluated = 'true'"
    )
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(query, page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            break
    scored = [
        (score, int(v.version), v) for v in versions if (score := _score(v, metric)) is not None
    ]
    if not scored:
        return None
    return max(scored, key=lambda item: item[:2])[2]


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """Alias -> version of registered model ``name``; empty if the model does not exist."""
    from mlflow.exceptions import MlflowException

    # get_registered_model rather than get_model_version_by_alias: the latter reports a missing
    # alias as INVALID_PARAMETER_VALUE, indistinguishable from other bad requests.
    try:
        registered = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise
    # Versions come back as ints from the SQL store; keep one type throughout.
    return {alias: str(version) for alias, version in registered.aliases.items()}


def champion_version(head: str, client: MlflowClient | None = None) -> ModelVersion | None:
    """The version aliased ``champion`` of ``head``'s registered model; None if there is none."""
    client = _client(client)
    name = model_name(head)
    version = _aliases(client, name).get(CHAMPION)
    return None if version is None else client.get_model_version(name, version)


def _decided_by() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. a container user without a passwd entry
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _decision(
    head: str,
    *,
    promoted: bool,
    reason: str,
    candidate: ModelVersion | None,
    champion: ModelVersion | None,
    metric: str,
) -> Decision:
    return Decision(
        head=head,
        model_name=model_name(head),
        promoted=promoted,
        reason=reason,
        candidate_version=None if candidate is None else str(candidate.version),
        candidate_score=None if candidate is None else _score(candidate, metric),
        champion_version=None if champion is None else str(champion.version),
        champion_score=None if champion is None else _score(champion, metric),
        metric=metric,
        decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        decided_by=_decided_by(),
    )


def _decisions_experiment(client: MlflowClient) -> str:
    """Id of the decisions experiment, created (or restored) if needed."""
    from mlflow.exceptions import MlflowException

    from ethoflow.registry import _artifact_location

    found = client.get_experiment_by_name(DECISIONS_EXPERIMENT)
    if found is None:
        try:
            # Without an explicit location a SQLite store writes artifacts to the CWD's ./mlruns.
            return client.create_experiment(
                DECISIONS_EXPERIMENT, artifact_location=_artifact_location(client.tracking_uri)
            )
        except MlflowException as error:  # another process created it since we looked
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            found = client.get_experiment_by_name(DECISIONS_EXPERIMENT)
    if found.lifecycle_stage == "deleted":
        # Deleted experiments accept no runs, and the audit trail must not stop promotions.
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def _record(client: MlflowClient, decision: Decision, action: str, **params: str) -> str:
    """Log ``decision`` as a run of the decisions experiment; return the run id."""
    from mlflow.entities import Metric, Param, RunTag

    experiment_id = _decisions_experiment(client)
    user = decision.decided_by.partition("@")[0]
    tags = {
        "mlflow.user": user,  # client.create_run records "unknown" otherwise
        "action": action,
        "head": decision.head,
        "promoted": str(decision.promoted).lower(),
        "reason": decision.reason,
        "decided_by": decision.decided_by,
    }
    run = client.create_run(experiment_id, run_name=f"{action}-{decision.head}", tags=tags)
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

    It must score strictly more than the champion's ``metric`` plus ``min_improvement``; the
    replaced champion becomes ``previous``. The decision is recorded whatever it is.
    """
    if not (math.isfinite(min_improvement) and min_improvement >= 0):
        raise ValueError(f"min_improvement must be finite and >= 0, got {min_improvement}")
    client = _client(client)
    name = model_name(head)
    candidate = best_candidate(client, name, architecture, metric)
    champion = champion_version(head, client)
    tag_candidate = True

    if candidate is None:
        promoted, reason = False, f"no evaluated {architecture} version"
    elif champion is None:
        promoted, reason = True, "no champion yet"
    elif str(champion.version) == str(candidate.version):
        promoted, reason = False, "already champion"
        # Keep the tag that says why it was promoted rather than overwrite it on every re-run.
        tag_candidate = False
    else:
        new, old = _score(candidate, metric), _score(champion, metric)
        if old is None:
            # An unscored champion (promoted by hand, or evaluated before the metric existed)
            # cannot be compared; replacing it silently could serve a worse model.
            promoted = False
            reason = f"champion v{champion.version} has no finite {metric} tag; evaluate it first"
        elif new > old + min_improvement:
            promoted, reason = True, f"{new:.4f} > champion {old:.4f} + {min_improvement}"
        else:
            promoted, reason = False, f"{new:.4f} <= champion {old:.4f} + {min_improvement}"

    decision = _decision(
        head,
        promoted=promoted,
        reason=reason,
        candidate=candidate,
        champion=champion,
        metric=metric,
    )
    if promoted:
        # `previous` first: if we stop in between, no version has lost its alias.
        if champion is not None:
            client.set_registered_model_alias(name, PREVIOUS, str(champion.version))
        client.set_registered_model_alias(name, CHAMPION, str(candidate.version))
    if candidate is not None and tag_candidate:
        verdict = "promoted" if promoted else "refused"
        client.set_model_version_tag(
            name, str(candidate.version), "promotion_decision", f"{verdict}: {reason}"
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
    client = _client(client)
    name = model_name(head)
    aliases = _aliases(client, name)
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
    decision = _decision(
        head,
        promoted=True,
        reason="rollback",
        candidate=restored,
        champion=replaced,
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
