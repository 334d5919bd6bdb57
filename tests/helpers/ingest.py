"""A small lab to ingest: two 6-second recordings per set-up, features with the CNN or without."""

from pathlib import Path

import yaml

from ethoflow.config import load_settings
from helpers.labs import small_lab

PARAMS = """
seed: 5
synth: {videos_per_condition: 2, minutes: 0.1, light_mouse_fraction: 0.5}
ingest: {crop_size: 64}
features: {batch_size: 16, cnn: true}
"""


def ingest_project(root: Path, *, cnn: bool = True) -> Path:
    """``PARAMS`` in ``root`` (``cnn=False``: posture-only features, seconds quicker), and its
    lab in the folder they name; returns the params file."""
    root.mkdir(parents=True, exist_ok=True)
    params = root / "params.yaml"
    settings = yaml.safe_load(PARAMS)
    settings["features"]["cnn"] = cnn
    params.write_text(yaml.safe_dump(settings))
    s = load_settings(params)
    small_lab(s.paths.raw, s.paths.truth, videos=2, minutes=0.1, seed=5, light_mouse_fraction=0.5)
    return params


def feature_files(features: Path) -> dict[str, bytes]:
    """The bytes of each feature (.npy) and label (.csv) file under ``features``."""
    return {
        str(p.relative_to(features)): p.read_bytes()
        for p in sorted(features.rglob("*"))
        if p.is_file() and p.suffix in (".npy", ".csv")
    }
