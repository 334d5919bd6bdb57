from pathlib import Path

import pytest

from ethoflow.config import ConfigError, Settings, load_settings

PROJECT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


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
