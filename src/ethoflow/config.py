"""Typed settings loaded from ``params.yaml``: the only module that reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class ConfigError(ValueError):
    """``params.yaml`` is missing, unreadable, or has an unknown key or a wrong value."""


class _Section(BaseModel):
    # Unknown keys are errors: a typo in params.yaml must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(_Section):
    raw: Path = Path("data/raw")
    truth: Path = Path("data/truth")
    features: Path = Path("data/features")
    runs: Path = Path("runs")


class SynthConfig(_Section):
    videos_per_condition: PositiveInt = 4
    minutes: PositiveFloat = 1.0
    light_mouse_fraction: Annotated[float, Field(ge=0, le=1)] = 0.25


class IngestConfig(_Section):
    target_fps: PositiveFloat = 10.0
    # ResNet50 downsamples by 32: a smaller crop has no spatial extent left at conv5.
    crop_size: Annotated[int, Field(ge=32)] = 160
    label_tolerance_frames: Annotated[int, Field(ge=0)] = 2
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    augment_brightness: tuple[PositiveFloat, PositiveFloat] = (0.75, 1.25)
    augment_zoom: tuple[PositiveFloat, PositiveFloat] = (0.9, 1.15)


class FeaturesConfig(_Section):
    layer: str = "conv3_block4_out"
    weights: str | None = None
    batch_size: PositiveInt = 8


class TrainConfig(_Section):
    window_length: PositiveInt = 64
    n_trials: PositiveInt = 20


class Settings(_Section):
    """All of ethoflow's settings; paths are absolute once loaded."""

    seed: int = 42
    paths: PathsConfig = PathsConfig()
    synth: SynthConfig = SynthConfig()
    ingest: IngestConfig = IngestConfig()
    features: FeaturesConfig = FeaturesConfig()
    train: TrainConfig = TrainConfig()


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid settings"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def load_settings(path: str | Path = "params.yaml") -> Settings:
    """Read ``path`` into :class:`Settings`; relative paths in it resolve against its folder."""
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: settings file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None
    root = path.parent
    absolute = {
        name: (value if value.is_absolute() else root / value)
        for name, value in settings.paths.model_dump().items()
    }
    return settings.model_copy(update={"paths": PathsConfig(**absolute)})
