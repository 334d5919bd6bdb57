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
    raw: Path = Field(
        Path("data/raw"),
        description="Recordings: `<raw>/<condition>/<video>.mp4` and its label file (DVC-tracked).",
    )
    truth: Path = Field(
        Path("data/truth"),
        description="The synthetic lab's ground truth (mouse centre, behaviour) per video "
        "(DVC-tracked).",
    )
    features: Path = Field(
        Path("data/features"),
        description="Ingest's outputs: per-video features and labels, the manifest, quarantine.",
    )
    runs: Path = Field(
        Path("runs"),
        description="Local run-time state: Optuna's studies, Prefect's home, the commands' logs, "
        "OpenVINO's converted models.",
    )
    mlflow: Path = Field(
        Path("mlflow"),
        description="MLflow's embedded store: `mlflow.db` and `artifacts/` (when "
        "`train.tracking_uri` is null).",
    )
    reports: Path = Field(
        Path("reports"),
        description="Validation reports and the train and evaluate stages' DVC outputs.",
    )
    inbox: Path = Field(
        Path("data/inbox"), description="New recordings the nightly label flow labels."
    )
    outbox: Path = Field(
        Path("data/outbox"),
        description="Labels, summaries and ethograms, one folder per labelled recording.",
    )


class SynthConfig(_Section):
    videos_per_condition: PositiveInt = Field(
        4, description="Recordings drawn per camera set-up (condition)."
    )
    minutes: PositiveFloat = Field(1.0, description="Mean length of a recording, in minutes.")
    light_mouse_fraction: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25, description="Share of recordings with a light mouse on a dark floor."
    )
    inbox_videos: PositiveInt = Field(
        2,
        description="The demo's inbox: new recordings from condition_4, a camera set-up held "
        "out of training.",
    )
    workers: PositiveInt = Field(
        2,
        description="Recordings drawn at once (processes); the bytes are the same with any number.",
    )


class IngestConfig(_Section):
    target_fps: PositiveFloat = Field(
        10.0,
        description="The models' clock: every recording is standardised to this frame rate "
        "(a slower camera's frames are repeated for their time span).",
    )
    # ResNet50 downsamples by 32: a smaller crop has no spatial extent left at conv5.
    crop_size: Annotated[int, Field(ge=32)] = Field(
        160, description="Side in pixels of the square crop around the mouse (the CNN's input)."
    )
    label_tolerance_frames: Annotated[int, Field(ge=0)] = Field(
        2,
        description="Label rows may differ from the video's frames by this many before a "
        "recording is rejected.",
    )
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.3,
        description="Share of the majority condition's non-validation recordings that go to "
        "the test split.",
    )
    augment_brightness: tuple[PositiveFloat, PositiveFloat] = Field(
        (0.75, 1.25),
        description="Range of the per-video brightness gain of augmented training copies.",
    )
    augment_zoom: tuple[PositiveFloat, PositiveFloat] = Field(
        (0.9, 1.15), description="Range of the per-video zoom of augmented copies (never rotation)."
    )


class FeaturesConfig(_Section):
    layer: str = Field(
        "conv3_block4_out",
        description="Where ResNet50 is cut: `conv3_block4_out` gives 512 features, "
        "`conv5_block3_out` 2048.",
    )
    weights: str | None = Field(
        None,
        description="The CNN's weights: `imagenet` (Keras' cached or downloaded file), a path to "
        "a weights file, or null (random but seeded; works offline).",
    )
    batch_size: PositiveInt = Field(
        8, description="Crops per CNN batch; measured fastest on 2 CPU cores."
    )
    cnn: bool = Field(
        False,
        description="Add ResNet50 features of the crop (512). Off by default: with random "
        "weights they transfer worse to new set-ups (Validation: Recognition).",
    )
    posture: bool = Field(
        True,
        description="The mouse blob's shape and speed (5 features): area, length, width, "
        "elongation, speed in body lengths per second.",
    )
    motion: bool = Field(
        True,
        description="Change inside the body's two halves, frame to frame (2 features): "
        "grooming's strokes.",
    )
    # What runs the CNN: OpenVINO in fp32 gives Keras's features faster; bf16 faster still, but
    # other features (its own extractor id), and only on CPUs with bfloat16.
    backend: Literal["keras", "openvino"] = Field(
        "keras",
        description="What runs the CNN: `keras`, or `openvino` (the same fp32 features, "
        "1.2-1.7x Keras end to end).",
    )
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="`bf16` needs `openvino` and a CPU with bfloat16: 2-4.6x Keras, other "
        "features (its own extractor id, so models are retrained).",
    )

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

    window: list[PositiveInt] = Field(
        [32, 64, 128], description="Frames per training window (choices)."
    )
    batch_size: list[PositiveInt] = Field(
        [16, 32], description="Windows per batch (choices); on small data, smaller trains better."
    )
    layers: IntRange = Field((1, 3), description="Recurrent or encoder layers [low, high].")
    units: IntRange = Field((16, 128), description="Units or filters per layer, log scale.")
    dropout: FloatRange = Field((0.0, 0.5), description="Dropout rate [low, high].")
    learning_rate: FloatRange = Field(
        (1e-4, 1e-2),
        description="Adam's learning rate, log scale; TCNs diverge (saturate) from about 4e-3.",
    )
    kernel_size: list[PositiveInt] = Field([2, 3, 5], description="TCN: kernel size (choices).")
    dilation_depth: IntRange = Field(
        (3, 6), description="TCN: dilations 1, 2, 4, … 2^(depth-1) [low, high]."
    )
    stacks: IntRange = Field((1, 2), description="TCN: stacks of dilated blocks [low, high].")
    causal: list[bool] = Field(
        [False], description="TCN: causal convolutions (choices); offline labelling may look ahead."
    )
    heads: list[PositiveInt] = Field([2, 4], description="Transformer: attention heads (choices).")


# Upper bounds of the budget's numbers: far beyond any search here, they catch a typo (an extra
# zero or two) in a form or on the command line before it books the machine for weeks.
_MAX_TRIALS = 1000
_MAX_EPOCHS = 1000


class TrainingBudget(_Section):
    """What one training run searches and for how long: the train and retrain flows' parameter
    (its JSON schema is the Prefect UI's form) and the ``train`` section's first keys."""

    # The descriptions are the form's help texts.
    heads: list[Head] = Field(
        ["grooming", "rearing"], min_length=1, description="Behaviours with a binary head each."
    )
    architectures: list[Architecture] = Field(
        ["lstm", "bilstm", "tcn", "transformer"],
        min_length=1,
        description="Architectures searched per head.",
    )
    n_trials: int = Field(
        20,
        ge=1,
        le=_MAX_TRIALS,
        description="Optuna trials per (head, architecture) study; raise for a real search.",
    )
    max_epochs: int = Field(30, ge=1, le=_MAX_EPOCHS, description="Epoch limit of one trial.")
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
    stride_fraction: Annotated[float, Field(gt=0, le=1)] = Field(
        0.5, description="Step between training windows as a share of a window (0.5: half overlap)."
    )
    experiment: str = Field("ethoflow", description="MLflow experiment of the searches.")
    tracking_uri: str | None = Field(
        None,
        description="MLflow's store, e.g. `http://127.0.0.1:5000`; null or empty: SQLite in "
        "`paths.mlflow`. `params.yaml` reads it from `ETHOFLOW_TRACKING_URI` (the lab server's "
        "containers set it).",
    )
    optuna_storage: str | None = Field(
        None,
        description="Optuna's storage, any SQLAlchemy URL (`postgresql://…` to share studies "
        "between workers); null or empty: SQLite in `paths.runs`. `params.yaml` reads it from "
        "`ETHOFLOW_OPTUNA_STORAGE`.",
    )
    search_space: SearchSpace = Field(
        SearchSpace(),
        description="Optuna's search space: lists are categorical choices, pairs are "
        "[low, high] ranges.",
    )

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

    n_trials: PositiveInt | None = Field(
        None, description="Trials per (head, architecture) study in the demo; null: train's."
    )
    max_epochs: PositiveInt | None = Field(
        None, description="Epoch limit of a demo trial; null: train's."
    )
    patience: PositiveInt | None = Field(
        None, description="Patience of a demo trial; null: train's."
    )


class ParallelConfig(_Section):
    """How much runs at once (docs/scaling.md). Ingest and labelling make the same outputs with
    any number of workers; parallel trials see each other's results in an order set by timing."""

    # Threads: OpenCV's decoding and tracking and TensorFlow release the GIL for most of a
    # video (bench/bench_parallel.py).
    video_workers: PositiveInt = Field(
        1, description="Videos featurised at once by ingest and labelling (threads)."
    )
    trial_workers: PositiveInt = Field(
        1,
        description="Processes running one Optuna study's trials at once, sharing "
        "`train.optuna_storage`.",
    )


class PostProcessing(_Section):
    """Smoothing of thresholded per-frame predictions, applied per video."""

    median_frames: PositiveInt = Field(
        1, description="Odd window of a median filter, in frames of the models' clock; 1 = off."
    )
    min_bout_frames: PositiveInt = Field(
        1, description="Shorter positive bouts are removed (frames); 1 = off."
    )
    low_threshold_share: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0,
        description="Hysteresis: a bout grows into the adjacent frames scoring at least this "
        "share of the threshold (never a bout of its own); 1 = off.",
    )

    @field_validator("median_frames")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"median_frames must be odd, got {value}")
        return value


class PromoteConfig(_Section):
    architecture: Architecture = Field(
        "tcn", description="Only this architecture can become champion."
    )
    metric: str = Field(
        "worst_condition_pr_auc",
        description="What decides: a model must do well in every recording condition.",
    )
    min_improvement: Annotated[float, Field(ge=0)] = Field(
        0.0, description="A challenger must beat the champion's metric by more than this."
    )


class LabelConfig(_Section):
    cron: str = Field(
        "0 2 * * *",
        description="When the nightly label flow runs (cron); prefect.yaml's schedule keeps in "
        "step (a test checks).",
    )
    timezone: str = Field("UTC", description="The cron's time zone, an IANA name (Europe/Berlin).")
    arena_side_cm: PositiveFloat | None = Field(
        None,
        description="Inner side of the (square) open-field arena in cm: distances and speeds "
        "are then also given in cm; null: in pixels only.",
    )
    max_missing_share: Annotated[float, Field(ge=0, le=1)] = Field(
        0.1,
        description="A recording whose mouse is missing in more than this share of frames gets "
        "a warning.",
    )
    settle_seconds: Annotated[float, Field(ge=0)] = Field(
        60.0,
        description="An inbox file modified less than this many seconds ago is still being "
        "copied: the nightly run leaves it for the next run.",
    )


class DriftConfig(_Section):
    """When a recording to label is flagged as unlike the champions' training recordings
    (:mod:`ethoflow.features.drift`). The defaults flag every recording of the synthetic lab's
    held-out set-up and none of the trained set-ups' (docs/drift_and_model_cards.md)."""

    max_camera_ratio: Annotated[float, Field(ge=1)] = Field(
        1.25,
        description="Frame rate, frame size and arena side against the nearest trained set-up: "
        "the product of the ratios outside its ranges.",
    )
    max_look_ratio: Annotated[float, Field(ge=1)] = Field(
        1.5,
        description="Floor brightness and texture, mouse size and contrast against all "
        "training recordings.",
    )
    max_feature_sigma: PositiveFloat = Field(
        3.0,
        description="Mean |z| of the recording's mean features against the training "
        "recordings' means.",
    )


class LabelsConfig(_Section):
    """Label files from other tools (:mod:`ethoflow.io.interchange`): which of their behaviour
    names mean ours, and which rater's rows to read from a file that holds several."""

    mapping: dict[Head, list[str]] = Field(
        {
            "grooming": ["Grooming", "Face grooming", "Body grooming", "Paw licking"],
            "rearing": ["Rearing", "Supported", "Unsupported", "Mid Rearing", "Wall Rearing"],
        },
        description="Our behaviour → the names other tools give it, compared by letters and "
        "digits only; a behaviour's own name always maps to it, names mapping to none are "
        "ignored.",
    )
    # A name mapped to two behaviours is refused where names are compared
    # (ethoflow.io.interchange.name_lookup), which normalises them as io/labels.py does.
    rater_column: str | None = Field(
        None,
        description="The column telling raters apart in a file holding several raters' bouts, "
        "e.g. Experimenter.",
    )
    rater: str | None = Field(
        None, description="Read only the rows whose `rater_column` holds this; null: every row."
    )

    @model_validator(mode="after")
    def _rater_needs_column(self) -> LabelsConfig:
        if self.rater is not None and self.rater_column is None:
            raise ValueError("rater needs rater_column, the column that holds it")
        return self


class UIConfig(_Section):
    """The researchers' web app (``ethoflow ui``)."""

    port: Annotated[int, Field(ge=1, le=65535)] = Field(
        8501, description="Port on 127.0.0.1, unless `ethoflow ui --host` says otherwise."
    )
    max_upload_mb: PositiveInt = Field(
        500, description="Largest uploaded file in MB; a 10 min 30 fps mp4 is about 100-300 MB."
    )
    # A relative folder is taken from params.yaml's folder (by the app,
    # ethoflow.ui.files.data_folder).
    data: Path = Field(
        Path("data/ui"),
        description="Everything the app writes (uploads, their labels, review corrections) goes "
        "under this folder, nothing elsewhere.",
    )


class Settings(_Section):
    """All of ethoflow's settings; paths are absolute once loaded."""

    seed: int = Field(
        42, description="Seed of everything random: the lab, the split, augmentation, training."
    )
    paths: PathsConfig = Field(
        PathsConfig(), description="Where data and state live; relative to params.yaml's folder."
    )
    synth: SynthConfig = Field(
        SynthConfig(), description="The synthetic lab (`ethoflow synth`, `make demo`)."
    )
    ingest: IngestConfig = Field(
        IngestConfig(), description="Validation, split and preprocessing of the recordings."
    )
    features: FeaturesConfig = Field(
        FeaturesConfig(),
        description="Which features each frame gets and what computes them; a change makes a "
        "new featurisation id (retrain).",
    )
    train: TrainConfig = Field(
        TrainConfig(),
        description="The training search (`ethoflow train`, `retrain`, `dvc repro`) and where "
        "MLflow and Optuna keep their records.",
    )
    demo: DemoConfig = Field(
        DemoConfig(),
        description="`ethoflow demo`'s search budget, in place of train's for the demo only; "
        "null: train's.",
    )
    parallel: ParallelConfig = Field(
        ParallelConfig(),
        description="How much runs at once (Scaling out); outputs are the same with any number.",
    )
    postprocess: PostProcessing = Field(
        PostProcessing(),
        description="Smoothing of thresholded per-frame predictions, applied per video by "
        "evaluation (with and without) and labelling.",
    )
    promote: PromoteConfig = Field(
        PromoteConfig(), description="Which evaluated version becomes a head's champion."
    )
    label: LabelConfig = Field(
        LabelConfig(), description="Labelling, and the nightly run from `paths.inbox`."
    )
    drift: DriftConfig = Field(
        DriftConfig(),
        description="When a recording to label is flagged as unlike the champions' training "
        "set-ups.",
    )
    labels: LabelsConfig = Field(
        LabelsConfig(),
        description="Label files from other tools (`ethoflow labels`, ingest).",
    )
    ui: UIConfig = Field(UIConfig(), description="The researchers' web app (`ethoflow ui`).")

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
