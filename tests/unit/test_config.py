from pathlib import Path

import pytest
from pydantic import ValidationError

from ethoflow.config import ConfigError, Settings, TrainingBudget, load_settings

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_project_params_load_and_match_defaults():
    settings = load_settings(PROJECT_PARAMS)
    assert settings.ingest.target_fps == 10
    assert settings.ingest.crop_size == 160
    assert settings.features.layer == "conv3_block4_out"
    assert settings.paths.raw == PROJECT_PARAMS.parent / "data" / "raw"


def test_relative_paths_resolve_against_the_params_file(tmp_path):
    settings = load_settings(_write(tmp_path, "paths:\n  raw: recordings\n"))
    assert settings.paths.raw == tmp_path.resolve() / "recordings"
    assert settings.paths.truth == tmp_path.resolve() / "data" / "truth"


def test_empty_file_gives_defaults(tmp_path):
    assert load_settings(_write(tmp_path, "")).train == Settings().train


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("ingest:\n  target_fsp: 10\n", r"ingest\.target_fsp: Extra inputs are not permitted"),
        ("sed: 1\n", r"sed: Extra inputs"),
        ("ingest:\n  target_fps: ten\n", r"ingest\.target_fps: Input should be a valid number"),
        ("ingest:\n  target_fps: 0\n", r"ingest\.target_fps: Input should be greater than 0"),
        ("ingest:\n  crop_size: 16\n", r"ingest\.crop_size: Input should be greater than or"),
        ("synth:\n  light_mouse_fraction: 2\n", r"synth\.light_mouse_fraction"),
        ("train: 5\n", r"train: Input should be a valid dictionary"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, names):
    with pytest.raises(ConfigError, match=names):
        load_settings(_write(tmp_path, text))


def test_error_names_the_file(tmp_path):
    path = _write(tmp_path, "seed: [1]\n")
    with pytest.raises(ConfigError, match=str(path.resolve())):
        load_settings(path)


@pytest.mark.parametrize(
    ("text", "problem"), [("- a\n- b\n", "expected a mapping"), ("a: [\n", "not valid YAML")]
)
def test_malformed_files(tmp_path, text, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings(_write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_features_need_cnn_posture_or_motion(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("features: {cnn: false, posture: false, motion: false}\n")
    with pytest.raises(ConfigError, match="no features left"):
        load_settings(params)


def test_environment_variables_fill_string_values(tmp_path, monkeypatch):
    monkeypatch.setenv("ETHOFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("OPTUNA_HOST", "postgres")
    monkeypatch.delenv("ETHOFLOW_EXPERIMENT", raising=False)
    params = _write(
        tmp_path,
        "train:\n"
        "  tracking_uri: ${ETHOFLOW_TRACKING_URI}\n"
        "  optuna_storage: postgresql://ethoflow@${OPTUNA_HOST}:5432/optuna\n"
        "  experiment: ${ETHOFLOW_EXPERIMENT:-lab}\n"
        "  heads: ['${HEAD:-grooming}']\n",
    )
    train = load_settings(params).train
    assert train.tracking_uri == "http://mlflow:5000"
    assert train.optuna_storage == "postgresql://ethoflow@postgres:5432/optuna"
    assert train.experiment == "lab"
    assert train.heads == ["grooming"]


@pytest.mark.parametrize(("value", "expected"), [("", "embedded"), ("8502", "8502")])
def test_a_default_stands_in_for_an_unset_or_empty_variable(tmp_path, monkeypatch, value, expected):
    monkeypatch.setenv("EXPERIMENT", value)
    params = _write(tmp_path, "train:\n  experiment: ${EXPERIMENT:-embedded}\n")
    assert load_settings(params).train.experiment == expected


def test_expanded_values_are_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("UI_PORT", "eighty")
    with pytest.raises(ConfigError, match=r"ui\.port: Input should be a valid integer"):
        load_settings(_write(tmp_path, "ui:\n  port: ${UI_PORT}\n"))
    monkeypatch.setenv("UI_PORT", "8502")
    assert load_settings(_write(tmp_path, "ui:\n  port: ${UI_PORT}\n")).ui.port == 8502


def test_an_unset_variable_without_default_names_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ETHOFLOW_TRACKING_URI", raising=False)
    params = _write(tmp_path, "train:\n  tracking_uri: ${ETHOFLOW_TRACKING_URI}\n")
    with pytest.raises(
        ConfigError,
        match=r"params\.yaml: train\.tracking_uri: environment variable ETHOFLOW_TRACKING_URI "
        r"is not set",
    ):
        load_settings(params)


def test_an_empty_server_url_means_the_local_store(tmp_path, monkeypatch):
    monkeypatch.delenv("ETHOFLOW_TRACKING_URI", raising=False)
    params = _write(tmp_path, "train:\n  tracking_uri: ${ETHOFLOW_TRACKING_URI:-}\n")
    settings = load_settings(params)
    assert settings.train.tracking_uri is None
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow' / 'mlflow.db'}"


def test_the_training_budget_is_the_train_sections_and_changes_are_validated(tmp_path):
    params = _write(tmp_path, "train:\n  heads: [rearing]\n  n_trials: 3\n")
    budget = load_settings(params).train.budget
    assert type(budget) is TrainingBudget
    assert (budget.heads, budget.n_trials) == (["rearing"], 3)
    assert budget.architectures == TrainingBudget().architectures
    changed = budget.override(n_trials=7, patience=None)
    assert (changed.n_trials, changed.patience) == (7, budget.patience)
    with pytest.raises(ValidationError, match="grooming"):
        budget.override(heads=["sniffing"])
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        budget.override(max_epochs=0)
