import itertools
from pathlib import Path

import pytest

from ethoflow.mlops.champion_changes import (
    DECISIONS_EXPERIMENT,
    best_candidate,
    promote_if_better,
    rollback,
)
from ethoflow.mlops.champions import CHAMPION, PREVIOUS, champion_version
from ethoflow.mlops.mlflow_store import configure_tracking, local_tracking_uri
from ethoflow.mlops.promotion import Scored, decide, setup_improves
from ethoflow.mlops.registered_models import model_name
from ethoflow.runtime.users import login_name

_heads = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One SQLite store for the module (creating its tables takes seconds); tests use own heads."""
    root = tmp_path_factory.mktemp("promotion")
    configure_tracking(local_tracking_uri(root / "runs"), "test-promotion")
    return root


@pytest.fixture
def client(store, monkeypatch):
    """A client on the module's store, run from an empty directory to catch stray writes."""
    from mlflow import MlflowClient

    cwd = store / "cwd"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    # Other test modules may have moved the tracking URI since the store was made.
    configure_tracking(local_tracking_uri(store / "runs"), "test-promotion")
    return MlflowClient()


@pytest.fixture
def head() -> str:
    """A head name no other test uses, so each test starts with an empty registered model."""
    return f"head{next(_heads)}"


def _register(client, head: str, architecture: str = "tcn", score: float | None = None, **tags):
    """A real version of ``ethoflow-<head>`` pointing at an empty run; evaluated if scored."""
    import mlflow

    name = model_name(head)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    run = mlflow.start_run()
    mlflow.end_run()
    all_tags = {"architecture": architecture, "head": head}
    if score is not None:
        all_tags |= {"evaluated": "true", "worst_condition_pr_auc": str(score), "threshold": "0.5"}
    all_tags |= tags
    return client.create_model_version(
        name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id, tags=all_tags
    )


def _aliases(client, head: str) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(model_name(head)).aliases.items()}


def _decision_runs(client, head: str):
    experiment = client.get_experiment_by_name(DECISIONS_EXPERIMENT)
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.head = '{head}'",
        order_by=["attributes.start_time ASC"],
    )


def test_model_name():
    assert model_name("grooming") == "ethoflow-grooming"


def test_first_evaluated_tcn_becomes_champion(client, head):
    _register(client, head, score=0.6)
    decision = promote_if_better(head, client=client)
    assert decision.promoted and decision.reason == "no champion yet"
    assert (decision.candidate_version, decision.candidate_score) == ("1", 0.6)
    assert (decision.champion_version, decision.champion_score) == (None, None)
    assert _aliases(client, head) == {CHAMPION: "1"}
    assert str(champion_version(head, client).version) == "1"
    tag = client.get_model_version(model_name(head), "1").tags["promotion_decision"]
    assert tag == "promoted: no champion yet"


def test_worse_candidate_refused_and_recorded(client, head):
    # The champion is an LSTM: a worse TCN is the best TCN yet not better than the champion.
    _register(client, head, architecture="lstm", score=0.8)
    promote_if_better(head, architecture="lstm", client=client)
    _register(client, head, score=0.7)
    decision = promote_if_better(head, client=client)
    assert not decision.promoted
    assert (decision.candidate_version, decision.candidate_score) == ("2", 0.7)
    assert (decision.champion_version, decision.champion_score) == ("1", 0.8)
    assert _aliases(client, head) == {CHAMPION: "1"}
    assert (
        client.get_model_version(model_name(head), "2")
        .tags["promotion_decision"]
        .startswith("refused: ")
    )
    run = _decision_runs(client, head)[-1]
    assert run.data.metrics == {"candidate_score": 0.7, "champion_score": 0.8}
    assert run.data.tags["promoted"] == "false"
    assert run.data.tags["reason"] == decision.reason
    assert run.data.params["candidate_version"] == "2"
    assert run.data.params["champion_version"] == "1"


def test_equal_score_or_improvement_below_margin_refused(client, head):
    _register(client, head, score=0.7)
    promote_if_better(head, client=client)
    _register(client, head, score=0.7)
    assert not promote_if_better(head, client=client).promoted  # strictly better only
    _register(client, head, score=0.75)
    assert not promote_if_better(head, min_improvement=0.1, client=client).promoted
    assert promote_if_better(head, min_improvement=0.01, client=client).promoted
    assert _aliases(client, head) == {CHAMPION: "3", PREVIOUS: "1"}


def test_better_candidate_promoted_old_champion_becomes_previous(client, head):
    _register(client, head, score=0.7)
    promote_if_better(head, client=client)
    _register(client, head, score=0.8)
    decision = promote_if_better(head, client=client)
    assert decision.promoted
    assert (decision.champion_version, decision.champion_score) == ("1", 0.7)
    assert _aliases(client, head) == {CHAMPION: "2", PREVIOUS: "1"}


def test_candidate_already_champion(client, head):
    _register(client, head, score=0.7)
    promote_if_better(head, client=client)
    _register(client, head, score=0.6)  # a worse TCN: the champion stays the best TCN
    decision = promote_if_better(head, client=client)
    assert not decision.promoted and decision.reason == "already champion"
    assert (decision.candidate_version, decision.champion_version) == ("1", "1")
    assert _aliases(client, head) == {CHAMPION: "1"}
    # The tag keeps saying why the version was promoted.
    tag = client.get_model_version(model_name(head), "1").tags["promotion_decision"]
    assert tag == "promoted: no champion yet"


def test_other_architectures_ignored(client, head):
    _register(client, head, score=0.6)
    _register(client, head, architecture="lstm", score=0.9)
    decision = promote_if_better(head, client=client)
    assert decision.candidate_version == "1"
    assert str(champion_version(head, client).version) == "1"
    # The same rule picks the LSTM when asked for LSTMs, and it beats the TCN champion.
    assert promote_if_better(head, architecture="lstm", client=client).promoted
    assert str(champion_version(head, client).version) == "2"


def test_unevaluated_and_unscored_versions_ignored(client, head):
    _register(client, head, score=0.5)
    _register(client, head, worst_condition_pr_auc="0.9")  # no `evaluated` tag
    _register(client, head, score=0.9, evaluated="false")
    _register(client, head, score=float("nan"))
    _register(client, head, evaluated="true", threshold="0.5")  # metric tag missing
    _register(client, head, evaluated="true", worst_condition_pr_auc="n/a")
    assert str(best_candidate(client, model_name(head)).version) == "1"


def test_no_evaluated_version_recorded_not_promoted(client, head):
    _register(client, head)
    decision = promote_if_better(head, client=client)
    assert not decision.promoted and decision.reason == "no evaluated tcn version"
    assert decision.candidate_version is None
    assert champion_version(head, client) is None
    assert len(_decision_runs(client, head)) == 1


def test_metric_tag_decides(client, head):
    # A high overall score must not hide a poor worst condition.
    _register(client, head, score=0.5, test_pr_auc="0.99")
    _register(client, head, score=0.6, test_pr_auc="0.70")
    assert str(best_candidate(client, model_name(head)).version) == "2"
    by_overall = best_candidate(client, model_name(head), metric="test_pr_auc")
    assert str(by_overall.version) == "1"


def test_ties_go_to_newer_version(client, head):
    for _ in range(3):
        _register(client, head, score=0.7)
    assert str(best_candidate(client, model_name(head)).version) == "3"


def test_rollback_swaps_and_twice_restores(client, head):
    _register(client, head, score=0.7)
    promote_if_better(head, client=client)
    _register(client, head, score=0.8)
    promote_if_better(head, client=client)
    decision = rollback(head, client=client)
    assert decision.promoted and decision.reason == "rollback"
    assert (decision.candidate_version, decision.champion_version) == ("1", "2")
    assert (decision.candidate_score, decision.champion_score) == (0.7, 0.8)
    assert _aliases(client, head) == {CHAMPION: "1", PREVIOUS: "2"}
    rollback(head, client=client)
    assert _aliases(client, head) == {CHAMPION: "2", PREVIOUS: "1"}
    assert [r.data.tags["action"] for r in _decision_runs(client, head)] == [
        "promote",
        "promote",
        "rollback",
        "rollback",
    ]


def test_rollback_without_previous_raises(client, head):
    _register(client, head, score=0.7)
    with pytest.raises(ValueError, match="no 'previous' alias.*promote_if_better"):
        rollback(head, client=client)
    promote_if_better(head, client=client)
    with pytest.raises(ValueError, match="nothing to roll back"):
        rollback(head, client=client)
    assert _aliases(client, head) == {CHAMPION: "1"}


def test_decision_json_matches_decision(client, head, store):
    import mlflow

    _register(client, head, score=0.6)
    decision = promote_if_better(head, client=client)
    (run,) = _decision_runs(client, head)
    assert run.info.status == "FINISHED"
    assert run.data.tags["decided_by"] == decision.decided_by
    assert run.data.tags["mlflow.user"] == login_name()  # no MLflow user signed in
    stored = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/decision.json")
    assert stored == decision.as_dict()
    # Artifacts go beside the database, not into the working directory.
    assert run.info.artifact_uri.startswith((store / "runs" / "artifacts").as_uri())
    assert list(Path.cwd().iterdir()) == []


def test_champion_version_of_unknown_model_is_none(client, head):
    assert champion_version(head, client) is None


def test_negative_min_improvement_rejected(client, head):
    with pytest.raises(ValueError, match="min_improvement"):
        promote_if_better(head, min_improvement=-0.1, client=client)


def test_unscored_champion_not_replaced(client, head):
    # A champion set by hand without evaluation cannot be compared, so it is kept.
    unscored = _register(client, head)
    client.set_registered_model_alias(model_name(head), CHAMPION, str(unscored.version))
    _register(client, head, score=0.9)
    decision = promote_if_better(head, client=client)
    assert not decision.promoted and "has no finite worst_condition_pr_auc" in decision.reason
    assert (decision.champion_version, decision.champion_score) == ("1", None)
    assert _aliases(client, head) == {CHAMPION: "1"}


def test_unscored_candidate_not_promoted_over_a_scored_champion():
    promoted, reason = decide(
        Scored("2", None),
        Scored("1", 0.5),
        architecture="tcn",
        metric="worst_condition_pr_auc",
        min_improvement=0.0,
    )
    assert (
        not promoted and reason == "v2 has no finite worst_condition_pr_auc tag; evaluate it first"
    )


def test_a_condition_without_positives_is_not_taken_as_fine(client, head):
    """A version measured on fewer conditions than it must serve: said when it is the first
    champion, and never enough to replace a champion."""
    _register(client, head, score=0.7, unmeasurable_conditions="condition_3")
    first = promote_if_better(head, client=client)
    assert first.promoted
    assert first.reason == "no champion yet (not measurable in condition_3)"
    _register(client, head, score=0.99, unmeasurable_conditions="condition_1,condition_3")
    blind = promote_if_better(head, client=client)
    assert not blind.promoted and _aliases(client, head) == {CHAMPION: "1"}
    assert blind.reason.startswith("v2 cannot be measured in condition_1, condition_3")
    _register(client, head, score=0.8, unmeasurable_conditions="")
    assert promote_if_better(head, client=client).promoted  # measured everywhere, and better


def test_a_decision_records_the_user_mlflow_authenticates(client, head, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "maya")
    _register(client, head, score=0.6)
    decision = promote_if_better(head, client=client)
    assert decision.decided_by.startswith("maya@")
    (run,) = _decision_runs(client, head)
    assert run.data.tags["mlflow.user"] == "maya"


def test_a_set_up_being_adapted_to_must_improve():
    assert setup_improves("new", 0.8, 0.7, min_improvement=0.05) == (
        True,
        "new PR-AUC 0.8000 > champion 0.7000 + 0.05",
    )
    refused, why = setup_improves("new", 0.74, 0.7, min_improvement=0.05)
    assert not refused and why == "new PR-AUC 0.7400 <= champion 0.7000 + 0.05"
    assert setup_improves("new", None, 0.7, min_improvement=0.0)[0] is False
    assert setup_improves("new", 0.5, None, min_improvement=0.0)[0] is True
