"""Typed settings loaded from ``params.yaml``: the only module that reads it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
    mlflow: Path = Path("mlflow")
    reports: Path = Path("reports")
    inbox: Path = Path("data/inbox")
    outbox: Path = Path("data/outbox")


class SynthConfig(_Section):
    videos_per_condition: PositiveInt = 4
    minutes: PositiveFloat = 1.0
    light_mouse_fraction: Annotated[float, Field(ge=0, le=1)] = 0.25
    inbox_videos: PositiveInt = 2  # demo: new recordings from a held-out camera set-up
    workers: PositiveInt = 2  # recordings drawn at once (processes); the bytes are the same


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
    cnn: bool = False  # ResNet50 features (the design's path; off: they transfer worse, bench/)
    posture: bool = True  # the mouse blob's shape and speed
    motion: bool = True  # change inside the body, frame to frame (grooming's strokes)
    # What runs the CNN: OpenVINO in fp32 gives Keras's features faster; bf16 faster still, but
    # other features (its own extractor id), and only on CPUs with bfloat16.
    backend: Literal["keras", "openvino"] = "keras"
    precision: Literal["fp32", "bf16"] = "fp32"

    @model_validator(mode="after")
    def _some_features(self) -> FeaturesConfig:
        if not (self.cnn or self.posture or self.motion):
            raise ValueError("cnn, posture and motion are all off: no features left")
        return self

    @model_validator(mode="after")
    def _bf16_needs_openvino(self) -> FeaturesConfig:
        if self.precision == "bf16" and self.backend != "openvino":
            raise ValueError("precision bf16 needs backend openvino (Keras runs fp32 only)")
        return self


IntRange = tuple[PositiveInt, PositiveInt]
FloatRange = tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]
Head = Literal["grooming", "rearing"]
Architecture = Literal["lstm", "bilstm", "tcn", "transformer"]


class SearchSpace(_Section):
    """Optuna's search space: lists are categorical choices, pairs are [low, high] ranges."""

    window: list[PositiveInt] = [32, 64, 128]
    batch_size: list[PositiveInt] = [16, 32]
    layers: IntRange = (1, 3)
    units: IntRange = (16, 128)  # log scale
    dropout: FloatRange = (0.0, 0.5)
    learning_rate: FloatRange = (1e-4, 1e-2)  # log scale
    kernel_size: list[PositiveInt] = [2, 3, 5]  # TCN
    dilation_depth: IntRange = (3, 6)  # TCN: dilations 1, 2, 4, … 2**(depth-1)
    stacks: IntRange = (1, 2)  # TCN
    causal: list[bool] = [False]  # TCN: offline labelling may look ahead
    heads: list[PositiveInt] = [2, 4]  # Transformer attention heads


# Upper bounds of the budget's numbers: far beyond any search here, they catch a typo (an extra
# zero or two) in a form or on the command line before it books the machine for weeks.
_MAX_TRIALS = 1000
_MAX_EPOCHS = 1000


class TrainingBudget(_Section):
    """What one training run searches and for how long: the train and retrain flows' parameter
    (its JSON schema is the Prefect UI's form) and the ``train`` section's first keys."""

    # The descriptions are the form's help texts.
    heads: list[Head] = Field(
        ["grooming", "rearing"], min_length=1, description="Behaviours to train a model for."
    )
    architectures: list[Architecture] = Field(
        ["lstm", "bilstm", "tcn", "transformer"],
        min_length=1,
        description="Architectures searched for each behaviour.",
    )
    n_trials: int = Field(
        20, ge=1, le=_MAX_TRIALS, description="Optuna trials per (behaviour, architecture)."
    )
    max_epochs: int = Field(30, ge=1, le=_MAX_EPOCHS, description="Epoch limit of a trial.")
    patience: int = Field(
        5,
        ge=1,
        le=_MAX_EPOCHS,
        description="Epochs without a better test PR-AUC before a trial stops.",
    )

    def override(self, **changes: object) -> TrainingBudget:
        """This budget with the fields ``changes`` gives (None: unchanged), validated."""
        given = {name: value for name, value in changes.items() if value is not None}
        return TrainingBudget.model_validate(self.model_dump() | given)


class TrainConfig(TrainingBudget):
    stride_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5  # training window overlap
    experiment: str = "ethoflow"
    tracking_uri: str | None = None  # None: SQLite under paths.runs
    optuna_storage: str | None = None  # None: SQLite under paths.runs; any SQLAlchemy URL
    search_space: SearchSpace = SearchSpace()

    @field_validator("tracking_uri", "optuna_storage")
    @classmethod
    def _empty_is_null(cls, value: str | None) -> str | None:
        # ${NAME:-} of an unset variable: the local default, as null.
        return value or None

    @property
    def budget(self) -> TrainingBudget:
        """The training budget this section sets: every run's unless it says otherwise."""
        return TrainingBudget.model_validate(
            self.model_dump(include=set(TrainingBudget.model_fields))
        )


class DemoConfig(_Section):
    """``ethoflow demo``'s search budget, in place of ``train``'s for the demo's retraining only
    (null: ``train``'s). The demo shows the whole path in minutes; ``train`` holds the real one."""

    n_trials: PositiveInt | None = None
    max_epochs: PositiveInt | None = None
    patience: PositiveInt | None = None


class ParallelConfig(_Section):
    """How much runs at once (docs/scaling.md). Ingest and labelling make the same outputs with
    any number of workers; parallel trials see each other's results in an order set by timing."""

    # Videos featurised at once in ingest and labelling, on threads: OpenCV's decoding and
    # tracking and TensorFlow release the GIL for most of a video (bench/bench_parallel.py).
    video_workers: PositiveInt = 1
    # Processes running one Optuna study's trials at once; they share train.optuna_storage.
    trial_workers: PositiveInt = 1


class PostProcessing(_Section):
    """Smoothing of thresholded per-frame predictions, applied per video."""

    median_frames: PositiveInt = 1  # odd window of a median filter; 1 = off
    min_bout_frames: PositiveInt = 1  # shorter positive bouts are removed; 1 = off
    # Hysteresis: a bout grows into the adjacent frames scoring at least this share of the
    # threshold (frames above it only, never a bout of its own); 1 = off.
    low_threshold_share: Annotated[float, Field(gt=0, le=1)] = 1.0

    @field_validator("median_frames")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"median_frames must be odd, got {value}")
        return value


class PromoteConfig(_Section):
    architecture: Architecture = "tcn"
    metric: str = "worst_condition_pr_auc"
    min_improvement: Annotated[float, Field(ge=0)] = 0.0


class LabelConfig(_Section):
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    # Inner side of the (square) arena in cm: distances and speeds are then also given in cm.
    arena_side_cm: PositiveFloat | None = None
    # A recording whose mouse is missing in more than this share of frames is reported.
    max_missing_share: Annotated[float, Field(ge=0, le=1)] = 0.1
    # The nightly run leaves an inbox file modified less than this many seconds ago (still being
    # copied) for the next run.
    settle_seconds: Annotated[float, Field(ge=0)] = 60.0


class DriftConfig(_Section):
    """When a recording to label is flagged as unlike the champions' training recordings
    (:mod:`ethoflow.features.drift`). The defaults flag every recording of the synthetic lab's
    held-out set-up and none of the trained set-ups' (docs/drift_and_model_cards.md)."""

    # Frame rate, frame size and arena side against the nearest trained set-up: the product of
    # the ratios outside its ranges.
    max_camera_ratio: Annotated[float, Field(ge=1)] = 1.25
    # Floor brightness and texture, mouse size and contrast against all training recordings.
    max_look_ratio: Annotated[float, Field(ge=1)] = 1.5
    # Mean |z| of the recording's mean features against the training recordings' means.
    max_feature_sigma: PositiveFloat = 3.0


class LabelsConfig(_Section):
    """Label files from other tools (:mod:`ethoflow.io.interchange`): which of their behaviour
    names mean ours, and which rater's rows to read from a file that holds several."""

    # Our behaviour -> the names other tools give it, compared by letters and digits only; a
    # behaviour's own name always maps to it. Names mapping to no behaviour are ignored.
    mapping: dict[Head, list[str]] = {
        "grooming": ["Grooming", "Face grooming", "Body grooming", "Paw licking"],
        "rearing": ["Rearing", "Supported", "Unsupported", "Mid Rearing", "Wall Rearing"],
    }
    # A name mapped to two behaviours is refused where names are compared
    # (ethoflow.io.interchange.name_lookup), which normalises them as io/labels.py does.
    rater_column: str | None = None  # e.g. Experimenter: the column telling raters apart
    rater: str | None = None  # read only the rows whose rater_column holds this; null: all rows

    @model_validator(mode="after")
    def _rater_needs_column(self) -> LabelsConfig:
        if self.rater is not None and self.rater_column is None:
            raise ValueError("rater needs rater_column, the column that holds it")
        return self


class UIConfig(_Section):
    """The researchers' web app (``ethoflow ui``)."""

    port: Annotated[int, Field(ge=1, le=65535)] = 8501
    max_upload_mb: PositiveInt = 500  # per uploaded file; a 10 min 30 fps mp4 is ~100-300 MB
    # Everything the app writes (uploads, their labels, review corrections) goes under this folder;
    # a relative one is taken from params.yaml's folder (by the app, ethoflow.ui.files.data_folder).
    data: Path = Path("data/ui")


class Settings(_Section):
    """All of ethoflow's settings; paths are absolute once loaded."""

    seed: int = 42
    paths: PathsConfig = PathsConfig()
    synth: SynthConfig = SynthConfig()
    ingest: IngestConfig = IngestConfig()
    features: FeaturesConfig = FeaturesConfig()
    train: TrainConfig = TrainConfig()
    demo: DemoConfig = DemoConfig()
    parallel: ParallelConfig = ParallelConfig()
    postprocess: PostProcessing = PostProcessing()
    promote: PromoteConfig = PromoteConfig()
    label: LabelConfig = LabelConfig()
    drift: DriftConfig = DriftConfig()
    labels: LabelsConfig = LabelsConfig()
    ui: UIConfig = UIConfig()

    @property
    def tracking_uri(self) -> str:
        """MLflow's store: ``train.tracking_uri``, or SQLite in ``paths.mlflow``."""
        return self.train.tracking_uri or f"sqlite:///{self.paths.mlflow / 'mlflow.db'}"

    @property
    def optuna_storage_uri(self) -> str:
        """Optuna's storage: ``train.optuna_storage``, or SQLite in ``paths.runs``."""
        return self.train.optuna_storage or f"sqlite:///{self.paths.runs / 'optuna.db'}"


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid settings"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


# ${NAME} or ${NAME:-default}, as in a shell: the default also stands in for an empty variable.
_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def _expand_env(value: object, key: str) -> object:
    """``value`` with ``${NAME}`` and ``${NAME:-default}`` in its strings taken from the
    environment; ConfigError naming ``key`` for a variable that is unset and has no default."""
    if isinstance(value, dict):
        return {
            name: _expand_env(item, f"{key}.{name}" if key else str(name))
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_expand_env(item, f"{key}.{index}") for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if default is not None:
            return os.environ.get(name) or default
        if name not in os.environ:
            raise ConfigError(
                f"{key}: environment variable {name} is not set "
                f"(${{{name}:-default}} would give a default)"
            )
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def load_settings(path: str | Path = "params.yaml") -> Settings:
    """Read ``path`` into :class:`Settings`; relative paths in it resolve against its folder.

    String values may name environment variables: ``${NAME}`` or ``${NAME:-default}``.
    """
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
        raw = _expand_env(raw, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
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
