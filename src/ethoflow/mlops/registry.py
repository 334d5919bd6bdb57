"""Everything ethoflow asks of MLflow: tracking, logging and loading models, the registry's
champions and their promotion, evaluations and their comparison.

The rest of the package is MLflow-free (pure scoring, plotting, featurisation); only this module,
the search's trial tracking (:mod:`ethoflow.training.search`) and the flows talk to MLflow.

Models are logged with ``mlflow.keras``, MLflow's Keras 3 flavor: it saves ``data/model.keras``
beside the ``MLmodel`` file and records the signature, so a registered version is a plain
``.keras`` file plus metadata. (``mlflow.tensorflow`` would pickle custom objects with cloudpickle;
a custom pyfunc would only re-implement this.) Loading goes around the flavor's loader on purpose:
``load_keras_model`` downloads the artifacts and hands the ``.keras`` file to
``ethoflow.models.load_model``, the one place that knows our custom layers and that always loads in
Keras safe mode (no deserialised Python code such as ``Lambda`` layers).

MLflow is imported inside the functions: it takes seconds to import and most callers of this
package never touch it.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethoflow.config import PostProcessing, Settings
from ethoflow.evaluation.metrics import Evaluation, evaluate_model, pr_curve_points
from ethoflow.features.drift import DriftLimits
from ethoflow.labelling.recording import HeadModel
from ethoflow.mlops.model_card import model_card, registry_description
from ethoflow.mlops.promotion import DEFAULT_METRIC, Decision, Scored, decide, make_decision
from ethoflow.training.fit import Split

if TYPE_CHECKING:
    import keras
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

CHAMPION = "champion"
PREVIOUS = "previous"
DECISIONS_EXPERIMENT = "ethoflow-decisions"
_REQUIRED_TAGS = ("window", "featurization", "threshold")

# Pinned into each model's requirements.txt. Passing them explicitly also skips MLflow's
# requirement inference, which reloads the model in a subprocess (~8 s) and cannot load models
# with custom layers anyway.
_MODEL_DISTRIBUTIONS = ("keras", "tensorflow", "keras-tcn")


UNMEASURABLE_TAG = "unmeasurable_conditions"
# The training recordings' set-up profile in a model's run
# (ethoflow.features.drift.training_profile).
PROFILE_ARTIFACT = "profile.json"
MODEL_CARD_ARTIFACT = "model_card.md"  # in a model's run, written on promotion


def local_tracking_uri(folder: Path) -> str:
    """``sqlite:///`` URI of ``<folder>/mlflow.db`` (absolute), creating ``folder``.

    ``configure_tracking`` puts the artifacts of experiments it creates in ``<folder>/artifacts``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'mlflow.db').resolve()}"


def _artifact_location(tracking_uri: str) -> str | None:
    """``artifacts`` beside a SQLite database; None (the server decides) for other stores."""
    database = _sqlite_database(tracking_uri)
    return None if database is None else (database.resolve().parent / "artifacts").as_uri()


def experiment_id(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created (or restored, if deleted) when needed."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            # Without an explicit location a SQLite store writes artifacts to the CWD's ./mlruns.
            return client.create_experiment(
                name, artifact_location=_artifact_location(client.tracking_uri)
            )
        except MlflowException as error:  # another worker created it since we looked
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            found = client.get_experiment_by_name(name)
            assert found is not None  # creating it failed because it exists
    if found.lifecycle_stage == "deleted":
        # Deleted experiments accept no runs, and the pipeline must not stop for that.
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def configure_tracking(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and ``experiment`` (created if missing); return its id.

    For entry points only: it changes process-wide MLflow state. It also turns MLflow's usage
    telemetry off unless ``MLFLOW_DISABLE_TELEMETRY`` is already set, because a lab pipeline must
    not contact outside servers. The model registry follows the tracking URI unless
    ``MLFLOW_REGISTRY_URI`` is set.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    found = experiment_id(mlflow.MlflowClient(), experiment)
    mlflow.set_experiment(experiment_id=found)
    return found


def start_tracking(settings: Settings, *, create: bool = True) -> str:
    """``configure_tracking`` with the settings' tracking URI (SQLite under ``paths.mlflow`` by
    default) and experiment; returns the URI.

    ``create=False`` (labelling: it only reads champions) refuses a SQLite store that does not
    exist yet with :class:`NoChampionError`, rather than create an empty one at a mistyped path.
    """
    uri = settings.tracking_uri
    database = _sqlite_database(uri)
    if not create and database is not None and not database.is_file():
        raise NoChampionError(
            f"no MLflow store at {database} (train.tracking_uri {uri}): nothing was trained "
            "there yet. Run `ethoflow retrain`, or point train.tracking_uri at the lab's store"
        )
    if settings.train.tracking_uri is None:
        settings.paths.mlflow.mkdir(parents=True, exist_ok=True)
    configure_tracking(uri, settings.train.experiment)
    return uri


def _sqlite_database(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///").split("?")[0])


def log_keras_model(
    model: keras.Model,
    *,
    name: str,
    example_input: np.ndarray,
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelVersion | None:
    """Log ``model`` to the active run as MLflow model ``name``; register it if asked.

    The signature is inferred from ``example_input`` (batch first) and the model's prediction on
    it. ``tags`` go on the logged model and, when ``registered_model_name`` is given, on the new
    model version, which is returned.
    """
    import mlflow
    from mlflow.models import infer_signature

    if mlflow.active_run() is None:
        raise RuntimeError("log_keras_model needs an active MLflow run (mlflow.start_run())")
    if example_input.ndim < 2:
        raise ValueError(f"example_input must be a batch, got shape {example_input.shape}")
    signature = infer_signature(example_input, model.predict(example_input, verbose=0))
    requirements = [f"{dist}=={metadata.version(dist)}" for dist in _MODEL_DISTRIBUTIONS]
    info = mlflow.keras.log_model(
        model, name=name, signature=signature, pip_requirements=requirements, tags=tags
    )
    if registered_model_name is None:
        return None
    return mlflow.register_model(info.model_uri, registered_model_name, tags=tags)


def load_keras_model(model_uri: str) -> keras.Model:
    """Load the Keras model at ``model_uri`` in safe mode, uncompiled.

    Accepts any MLflow model URI: ``runs:/<run_id>/<name>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>``, ``models:/<model_id>``.
    """
    import mlflow

    from ethoflow.models import load_model

    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        files = sorted(local.rglob("*.keras"))
        if len(files) != 1:
            raise ValueError(f"{model_uri}: expected one .keras file, found {len(files)}")
        # Keras reads the whole file, so the temporary copy can go once this returns.
        return load_model(files[0])


# --- registered models, their champions ---------------------------------------------------------


def model_name(head: str) -> str:
    """Registered model name of ``head``'s models."""
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


def _search_versions(client: MlflowClient, query: str) -> list[ModelVersion]:
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(query, page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            return versions


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
        f"name = {_quoted(name)} AND tags.architecture = {_quoted(architecture)}"
        " AND tags.evaluated = 'true'"
    )
    scored = [
        (not s.unmeasurable, s.score, int(v.version), v)
        for v in _search_versions(client, query)
        if (s := _scored(v, metric)) is not None and s.score is not None
    ]
    if not scored:
        return None
    return max(scored, key=lambda item: item[:3])[3]


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


class NoChampionError(RuntimeError):
    """A head has no usable champion model; the message says which head and what to run."""


def _usable_tags(name: str, version: str, tags: dict[str, str]) -> tuple[float, int, str]:
    """The champion's threshold, window and featurisation tags, or a NoChampionError."""
    missing = [tag for tag in _REQUIRED_TAGS if tag not in tags]
    if not missing:
        try:
            threshold, window = float(tags["threshold"]), int(tags["window"])
        except ValueError:
            threshold, window = math.nan, 0
        if math.isfinite(threshold) and window >= 1:
            return threshold, window, tags["featurization"]
    problem = f"lacks the tag(s) {missing}" if missing else "has an unusable threshold or window"
    raise NoChampionError(
        f"{name} version {version} (the {CHAMPION!r}) {problem}; training sets "
        "window and featurization, evaluation sets threshold. Run `ethoflow retrain` to train and "
        "evaluate models, then `ethoflow promote` to make an evaluated one champion"
    )


def load_champions(
    heads: Sequence[str], *, client: MlflowClient | None = None, models: bool = True
) -> dict[str, HeadModel]:
    """Load each head's ``champion`` version with its window, featurisation and threshold tags.

    ``client`` finds the champion; the model itself is downloaded through MLflow's current
    tracking/registry URI, so both must point at the same store. ``models=False`` reads the
    tags only (``model`` None): a check in a fraction of a second, before any work. With the
    models comes each version's training profile (:func:`training_profile`; None for a version
    logged without one).
    """
    loaded = {}
    for head in heads:
        name = model_name(head)
        champion = champion_version(head, client)
        if champion is None:
            raise NoChampionError(
                f"{name} has no {CHAMPION!r} version, so {head!r} cannot be labelled: train and "
                "evaluate models with `ethoflow retrain`, then choose one with `ethoflow promote`"
            )
        version = str(champion.version)
        threshold, window, featurization = _usable_tags(name, version, champion.tags)
        # By version, not alias: the alias may move between reading the tags and the download.
        model = load_keras_model(f"models:/{name}/{version}") if models else None
        assert champion.run_id is not None  # versions are registered from runs
        profile = training_profile(champion.run_id, client) if models else None
        loaded[head] = HeadModel(
            head, name, version, model, threshold, window, featurization, profile
        )
        log.info("%s: champion version %s, threshold %.4g", name, version, threshold)
    return loaded


def training_profile(run_id: str, client: MlflowClient | None = None) -> dict | None:
    """The set-up profile of the training recordings logged with a model's run; None when the
    run has none (trained before profiles were stored)."""
    import mlflow

    names = {artifact.path for artifact in _client(client).list_artifacts(run_id)}
    if PROFILE_ARTIFACT not in names:
        return None
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{PROFILE_ARTIFACT}")


# --- promotion ----------------------------------------------------------------------------------


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
    client = _client(client)
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


def write_model_card(
    head: str, version: str, limits: DriftLimits, *, client: MlflowClient | None = None
) -> str:
    """Write the model card of ``head``'s version ``version`` (:func:`ethoflow.mlops.model_card.
    model_card`, with the drift ``limits`` labelling applies) as the version's description in
    the registry and as ``model_card.md`` in its run; return the card."""
    client = _client(client)
    name = model_name(head)
    model_version = client.get_model_version(name, version)
    assert model_version.run_id is not None  # versions are registered from runs
    metrics = evaluation_table(name, version, client=client)
    profile = training_profile(model_version.run_id, client)
    card = model_card(head, name, version, model_version.tags, metrics, profile, limits)
    client.log_text(model_version.run_id, card, MODEL_CARD_ARTIFACT)
    where = f"{MODEL_CARD_ARTIFACT} in run {model_version.run_id}"
    client.update_model_version(name, version, description=registry_description(card, where))
    return card


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


# --- evaluations --------------------------------------------------------------------------------


def versions_to_evaluate(
    name: str, features_version: str, setting: PostProcessing, client: MlflowClient | None = None
) -> list[str]:
    """Versions of ``name`` trained on ``features_version`` that are not evaluated yet, or were
    evaluated with other post-processing than ``setting``.

    Versions trained on other features are left alone: scoring them on today's validation
    videos would compare them on data they were not built for.
    """
    wanted = setting.model_dump_json()
    found = _search_versions(_client(client), f"name = {_quoted(name)}")
    return sorted(
        (
            str(v.version)
            for v in found
            if v.tags.get("features_version") == features_version
            and (v.tags.get("evaluated") != "true" or v.tags.get("postprocess") != wanted)
        ),
        key=int,
    )


def evaluate_version(
    name: str,
    version: str,
    test: Split,
    validation: Split,
    *,
    setting: PostProcessing,
    fps: float,
    client: MlflowClient | None = None,
) -> Evaluation:
    """Evaluate version ``version`` of ``name``
    (:func:`ethoflow.evaluation.metrics.evaluate_model`) and
    log the evaluation to its run (:func:`log_evaluation`)."""
    client = _client(client)
    model_version = client.get_model_version(name, version)
    model = load_keras_model(f"models:/{name}/{version}")
    evaluation = evaluate_model(
        model,
        int(model_version.tags["window"]),
        model_version.tags["head"],
        test,
        validation,
        setting,
    )
    log_evaluation(name, model_version, evaluation, setting=setting, fps=fps, client=client)
    return evaluation


def log_evaluation(
    name: str,
    model_version: ModelVersion,
    evaluation: Evaluation,
    *,
    setting: PostProcessing,
    fps: float,
    client: MlflowClient,
) -> None:
    """Log an evaluation to the version's run and tag the version with what promotion reads.

    The run receives metrics ``val_<condition>_<metric>`` (``…_pp`` when post-processed), the
    table (CSV and markdown), the PR curve points and the figures of
    :func:`ethoflow.evaluation.plots.evaluation_figures` under ``evaluation/v<N>/``. The version is
    tagged ``threshold``, ``worst_condition_pr_auc``, ``unmeasurable_conditions`` (comma-separated
    conditions without positives, whose PR-AUC is undefined), ``postprocess`` and, last,
    ``evaluated``.
    """
    from ethoflow.evaluation.plots import evaluation_figures, slug

    version = str(model_version.version)
    run_id = model_version.run_id
    assert run_id is not None  # versions are registered from runs
    table = evaluation.table
    summary = table[table.scope != "video"]
    metrics = {
        f"val_{slug(str(row.name))}_{metric}{'_pp' if row.postprocessed else ''}": float(value)
        for row in summary.itertuples()
        for metric in ("accuracy", "precision", "recall", "f1", "pr_auc")
        if math.isfinite(value := getattr(row, metric))
    }
    worst = evaluation.worst_condition_pr_auc
    metrics |= {"threshold": evaluation.threshold, "val_worst_condition_pr_auc": worst}
    from mlflow.entities import Metric

    now = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    folder = f"evaluation/v{version}"
    client.log_text(run_id, table.to_csv(index=False), f"{folder}/metrics.csv")
    client.log_text(
        run_id, summary.to_markdown(index=False, floatfmt=".3f"), f"{folder}/metrics.md"
    )
    client.log_text(
        run_id, pr_curve_points(evaluation).to_csv(index=False), f"{folder}/pr_curves.csv"
    )
    title = f"{name} v{version}: validation"
    for file_name, figure in evaluation_figures(evaluation, title, fps).items():
        client.log_figure(run_id, figure, f"{folder}/{file_name}")
    tags = {
        "threshold": f"{evaluation.threshold:.6g}",
        "worst_condition_pr_auc": f"{worst:.6g}",
        UNMEASURABLE_TAG: ",".join(evaluation.unmeasurable),
        "postprocess": setting.model_dump_json(),
        "evaluated": "true",  # last: promotion only considers fully evaluated versions
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def evaluation_table(
    name: str, version: str, artifact: str = "metrics.csv", client: MlflowClient | None = None
) -> pd.DataFrame:
    """A table logged by :func:`log_evaluation` (``metrics.csv`` or ``pr_curves.csv``)."""
    import mlflow

    model_version = _client(client).get_model_version(name, version)
    if model_version.tags.get("evaluated") != "true":
        raise ValueError(f"{name} v{version} is not evaluated yet: run `ethoflow evaluate`")
    text = mlflow.artifacts.load_text(
        f"runs:/{model_version.run_id}/evaluation/v{version}/{artifact}"
    )
    return pd.read_csv(io.StringIO(text))


def evaluations_of(
    entries: list[dict], client: MlflowClient | None = None
) -> list[tuple[dict, pd.DataFrame, pd.DataFrame]]:
    """(entry, metrics table, PR curve points) of each ``{head, model_version, …}`` entry."""
    evaluated = []
    for entry in entries:
        name, version = model_name(entry["head"]), str(entry["model_version"])
        metrics = evaluation_table(name, version, client=client)
        curves = evaluation_table(name, version, "pr_curves.csv", client=client)
        evaluated.append((entry, metrics, curves))
    return evaluated


def compare_versions(
    name: str, first: str, second: str, client: MlflowClient | None = None
) -> pd.DataFrame:
    """Two evaluated versions' validation metrics per condition (raw predictions), side by side.

    Rows are conditions and "all"; columns ``<metric> v<first>``, ``<metric> v<second>`` and
    ``<metric> Δ`` (second minus first) for PR-AUC, precision, recall and F1.
    """
    metrics = ["pr_auc", "precision", "recall", "f1"]
    tables = []
    for version in (first, second):
        table = evaluation_table(name, version, client=client)
        table = table[(table.scope != "video") & ~table.postprocessed].set_index("name")
        tables.append(table[metrics].add_suffix(f" v{version}"))
    side = tables[0].join(tables[1], how="outer")
    for metric in metrics:
        side[f"{metric} Δ"] = side[f"{metric} v{second}"] - side[f"{metric} v{first}"]
    columns = [f"{m}{suffix}" for m in metrics for suffix in (f" v{first}", f" v{second}", " Δ")]
    return side[columns].rename_axis("condition")
