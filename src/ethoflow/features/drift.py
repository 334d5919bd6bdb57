"""Set-up drift: is a new recording like the recordings a model was trained on?

A model's labels hold on camera set-ups like the ones it was trained on. Each recording gets a few
cheap numbers about its set-up, measured while it is tracked (:func:`measure_setup`), and a
summary of the features the heads see (:func:`feature_summary`). A model version stores the
*profile* of its training recordings (:func:`training_profile`, ``profile.json`` in its MLflow
run), and labelling scores each new recording against it (:func:`score_recording`) three ways:

* **camera**: frame rate, frame size and the arena's side in pixels do not change between
  recordings of one set-up, so the recording is compared with the trained set-up nearest to it:
  the product of the ratios by which it lies outside that set-up's ranges;
* **look**: the floor's brightness and texture and the mouse's size and contrast change from
  recording to recording (mice, coats, lamps), so each is compared with the range over all
  training recordings ("mouse area 2.3× larger than in training");
* **features**: the mean |z| of the recording's mean features against the training recordings'
  means, in units of their spread (σ).

Pure functions on numbers and arrays; training logs profiles to MLflow and
:func:`ethoflow.mlops.registered_models.logged_training_profile` reads them back.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ethoflow.config import Settings
from ethoflow.io.labels import label_targets, labelled

# Set-up numbers: name -> (how a reason names it, unit, word for more, word for less).
SETUP_MEASURES: dict[str, tuple[str, str, str, str]] = {
    "fps": ("frame rate", " fps", "higher", "lower"),
    "frame_width_px": ("frame width", " px", "larger", "smaller"),
    "frame_height_px": ("frame height", " px", "larger", "smaller"),
    "arena_side_px": ("arena side", " px", "larger", "smaller"),
    "floor_brightness": ("floor brightness", "", "brighter", "darker"),
    "floor_contrast": ("floor texture (grey-level spread)", "", "higher", "lower"),
    "mouse_area_px": ("mouse area", " px²", "larger", "smaller"),
    "mouse_length_px": ("mouse length", " px", "larger", "smaller"),
    "mouse_contrast": ("mouse contrast against the floor", "", "higher", "lower"),
}
# Fixed by the camera and the arena: compared with the nearest trained set-up.
CAMERA_MEASURES = ("fps", "frame_width_px", "frame_height_px", "arena_side_px")
# Vary from recording to recording of one set-up: compared with all training recordings.
LOOK_MEASURES = (
    "floor_brightness",
    "floor_contrast",
    "mouse_area_px",
    "mouse_length_px",
    "mouse_contrast",
)
_GREY_MEASURES = ("floor_brightness", "floor_contrast", "mouse_contrast")
# Grey levels below which a brightness or contrast is noise: ratios of smaller values mean little.
_GREY_FLOOR = 8.0
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Columns of ingest's per-video label tables that are not behaviours.
_NOT_LABELS = ("frame", "time_s", "x", "y")
# A feature's spread is at least this share of its spread within a recording: with few training
# recordings, their means may agree by chance more closely than new ones can.
_MIN_SPREAD_SHARE = 0.1


def measure_setup(
    *,
    fps: float,
    background: np.ndarray,
    arena: np.ndarray,
    arena_side_px: float | None,
    track: pd.DataFrame,
    mouse_contrast: np.ndarray,
) -> dict[str, float | None]:
    """A recording's set-up numbers (:data:`SETUP_MEASURES`; None: not measurable).

    ``background`` is the recording's grey background (the arena without the mouse), ``arena``
    the mask of its floor, ``track`` the mouse per kept frame (``found``, ``area``, ``length``)
    and ``mouse_contrast`` the body's contrast against the floor around it per frame (NaN where
    not measured).
    """
    if background.ndim != 2 or background.shape != arena.shape:
        raise ValueError(
            f"background {background.shape} and arena {arena.shape} must be one grey image shape"
        )
    floor = background[arena > 0].astype(np.float64)
    found = track[track.found.astype(bool)]
    contrast = np.asarray(mouse_contrast, np.float64)
    contrast = contrast[np.isfinite(contrast)]
    height, width = background.shape
    return {
        "fps": float(fps),
        "frame_width_px": float(width),
        "frame_height_px": float(height),
        "arena_side_px": arena_side_px,
        "floor_brightness": float(np.median(floor)) if floor.size else None,
        # Quartile spread, not the standard deviation: the mouse's ghost or a dark corner is not
        # the floor's texture.
        "floor_contrast": float(np.subtract(*np.percentile(floor, [75, 25])))
        if floor.size
        else None,
        "mouse_area_px": float(found.area.median()) if len(found) else None,
        "mouse_length_px": float(found.length.median()) if len(found) else None,
        "mouse_contrast": float(np.median(contrast)) if contrast.size else None,
    }


def feature_summary(features: np.ndarray) -> dict[str, list[float]]:
    """Per feature column of a (frames, n) matrix: mean, std and :data:`QUANTILES` (``q05`` …)."""
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"features must be (frames > 0, n), got shape {features.shape}")
    values = features.astype(np.float64)
    quantiles = np.quantile(values, QUANTILES, axis=0)
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        **{
            f"q{round(100 * q):02d}": row.tolist()
            for q, row in zip(QUANTILES, quantiles, strict=True)
        },
    }


def recording_profile(
    video_id: str,
    condition: str,
    setup: dict[str, float | None],
    features: np.ndarray,
    *,
    split: str,
    labels: pd.DataFrame,
) -> dict[str, Any]:
    """One recording's entry in a profile: its set-up numbers, feature summary, split, and per
    behaviour (each 0/1 column of ``labels``, empty where unknown) its labelled frames
    (``labelled``), positive frames and bouts among them (for model cards)."""
    return {
        "video_id": video_id,
        "condition": condition,
        "split": split,
        "frames": len(features),
        "setup": setup,
        "features": feature_summary(features),
        "behaviours": {
            name: {
                "labelled": int(labelled(values).sum()),
                "frames": int(values.sum()),
                "bouts": count_bouts(label_targets(values)),
            }
            for name, values in labels.items()
        },
    }


def count_bouts(labels: np.ndarray) -> int:
    """Runs of 1 in a 0/1 sequence; unknown frames (NaN) end a run and start none, so only bouts
    within labelled stretches count."""
    marked = np.nan_to_num(np.asarray(labels, np.float64)) == 1
    return int(np.count_nonzero(np.diff(marked.astype(np.int8), prepend=0) == 1))


def training_profile(features_dir: Path) -> dict[str, Any]:
    """The profile of the recordings ingested into ``features_dir``: every original recording
    (augmented copies are the same set-ups), with the set-up numbers from its ingest record.

    Every split counts: a model is trained, stopped and measured on the set-ups of all three.
    """
    features_dir = Path(features_dir)
    manifest_path = features_dir / "manifest.csv"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: no manifest; run the ingest flow first")
    manifest = pd.read_csv(manifest_path)
    originals = manifest[~manifest.augmented.astype(bool)]
    videos = features_dir / "videos"
    recordings = []
    for row in originals.to_dict("records"):
        record = json.loads((videos / f"{row['video_id']}.json").read_text())
        if "setup" not in record:
            raise ValueError(
                f"{videos / row['video_id']}.json has no set-up numbers (ingested by an older "
                "ethoflow): run the ingest flow again"
            )
        features = np.load(videos / row["features"])
        table = pd.read_csv(videos / row["labels"])
        labels = table.drop(columns=[c for c in _NOT_LABELS if c in table.columns])
        recordings.append(
            recording_profile(
                row["video_id"],
                row["condition"],
                record["setup"],
                features,
                split=row["split"],
                labels=labels,
            )
        )
    return {"feature_count": int(features.shape[1]), "recordings": recordings}


@dataclass(frozen=True)
class DriftLimits:
    """Beyond any of these a recording is flagged (``drift`` in params.yaml)."""

    max_camera_ratio: float  # outside the nearest trained set-up's frame rate, size, arena
    max_look_ratio: float  # outside the training range of floor and mouse look, any measure
    max_feature_sigma: float  # mean |z| of the mean features

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftLimits:
        return cls(**settings.drift.model_dump())


@dataclass(frozen=True)
class Drift:
    """How unlike its training recordings a recording is, and whether that is too unlike.

    ``score`` is the largest of the three distances over its limit: above 1 is flagged.
    """

    flagged: bool
    score: float
    camera_ratio: float
    nearest_setup: str
    look_ratio: float
    feature_sigma: float
    reasons: list[str]


def _ratio_outside(value: float, low: float, high: float, measure: str) -> float:
    """How many times ``value`` lies above ``high`` or below ``low`` (1: inside the range)."""
    if measure in _GREY_MEASURES:
        value, low, high = (max(v, _GREY_FLOOR) for v in (value, low, high))
    return max(value / high, low / value, 1.0)


def _describe(measure: str, value: float, low: float, high: float, where: str) -> str:
    """``mouse area 2.30× larger than in training (4268 vs 944–2069 px²)``."""
    label, unit, more, less = SETUP_MEASURES[measure]
    ratio = _ratio_outside(value, low, high, measure)
    span = _number(low) if low == high else f"{_number(low)}–{_number(high)}"
    word = more if value > high else less
    return f"{label} {ratio:.2f}× {word} than in {where} ({_number(value)} vs {span}{unit})"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _ranges(setups: list[dict[str, float | None]], measure: str) -> tuple[float, float] | None:
    values = [value for setup in setups if (value := setup.get(measure)) is not None]
    return (min(values), max(values)) if values else None


def _camera_distance(
    setup: dict[str, float | None], profile: dict[str, Any]
) -> tuple[float, str, list[str]]:
    """(ratio, set-up, parts) against the trained set-up (condition) the recording is nearest:
    the product of its ratios outside that set-up's camera ranges, and each of them in words."""
    by_condition: dict[str, list[dict[str, float | None]]] = {}
    for recording in profile["recordings"]:
        by_condition.setdefault(recording["condition"], []).append(recording["setup"])
    nearest: tuple[float, str, list[str]] = (math.inf, "", [])
    for condition, setups in sorted(by_condition.items()):
        ratio, parts = 1.0, []
        for measure in CAMERA_MEASURES:
            span = _ranges(setups, measure)
            value = setup.get(measure)
            if span is None or value is None:
                continue
            outside = _ratio_outside(value, *span, measure)
            ratio *= outside
            if outside > 1.0:
                parts.append(_describe(measure, value, *span, condition))
        nearest = min(nearest, (ratio, condition, parts), key=lambda item: item[0])
    return nearest


def _look_distance(
    setup: dict[str, float | None], profile: dict[str, Any]
) -> tuple[float, dict[str, tuple[float, str]]]:
    """(the largest ratio outside the training range of a look measure, each measure's ratio
    in words)."""
    setups = [recording["setup"] for recording in profile["recordings"]]
    worst, parts = 1.0, {}
    for measure in LOOK_MEASURES:
        span = _ranges(setups, measure)
        value = setup.get(measure)
        if span is None or value is None:
            continue
        outside = _ratio_outside(value, *span, measure)
        worst = max(worst, outside)
        parts[measure] = (outside, _describe(measure, value, *span, "training"))
    return worst, parts


def feature_distance(features: np.ndarray, profile: dict[str, Any]) -> float:
    """Mean |z| over feature columns of ``features``' column means against the training
    recordings' means: z = (mean − their mean) / their spread (standard deviation, at least
    :data:`_MIN_SPREAD_SHARE` of the spread within a recording)."""
    recordings = profile["recordings"]
    means = np.array([r["features"]["mean"] for r in recordings])
    within = np.sqrt(np.mean([np.square(r["features"]["std"]) for r in recordings], axis=0))
    if features.ndim != 2 or features.shape[1] != means.shape[1] or len(features) == 0:
        raise ValueError(
            f"features must be (frames > 0, {means.shape[1]}) like the profile's, "
            f"got shape {features.shape}"
        )
    between = means.std(axis=0, ddof=1) if len(means) > 1 else np.zeros(means.shape[1])
    spread = np.maximum(np.maximum(between, _MIN_SPREAD_SHARE * within), 1e-9)
    z = (features.astype(np.float64).mean(axis=0) - means.mean(axis=0)) / spread
    return float(np.abs(z).mean())


def score_recording(
    setup: dict[str, float | None],
    features: np.ndarray,
    profile: dict[str, Any],
    limits: DriftLimits,
) -> Drift:
    """Score one recording (its :func:`measure_setup` numbers and feature matrix) against the
    ``profile`` of a model's training recordings; flagged when any distance passes its limit,
    with a reason for each that does."""
    if not profile.get("recordings"):
        raise ValueError("the profile holds no recordings")
    camera, nearest, camera_parts = _camera_distance(setup, profile)
    look, look_parts = _look_distance(setup, profile)
    sigma = feature_distance(features, profile)
    reasons = []
    if camera > limits.max_camera_ratio:
        reasons.append(
            f"camera set-up unlike any trained on: {camera:.2f}× from the nearest, {nearest} "
            f"(limit {limits.max_camera_ratio:g}×): " + "; ".join(camera_parts)
        )
    reasons += [text for ratio, text in look_parts.values() if ratio > limits.max_look_ratio]
    if sigma > limits.max_feature_sigma:
        reasons.append(
            f"feature distance {sigma:.1f} σ from the training recordings "
            f"(limit {limits.max_feature_sigma:g} σ)"
        )
    score = max(
        camera / limits.max_camera_ratio,
        look / limits.max_look_ratio,
        sigma / limits.max_feature_sigma,
    )
    return Drift(
        flagged=bool(reasons),
        score=round(score, 3),
        camera_ratio=round(camera, 3),
        nearest_setup=nearest,
        look_ratio=round(look, 3),
        feature_sigma=round(sigma, 3),
        reasons=reasons,
    )


def drift_summary(
    setup: dict[str, float | None],
    features: np.ndarray,
    profiles: dict[str, dict[str, Any] | None],
    limits: DriftLimits,
) -> dict[str, Any]:
    """A labelled recording's ``drift`` (in its summary.json): scored against each head's
    champion profile (``profiles``: head → profile, None when its champion stored none), flagged
    when any flags it, with the recording's set-up numbers.

    Champions trained together share one profile, so their reasons are given once; reasons from
    differing profiles name their head.
    """
    scored = {
        head: score_recording(setup, features, profile, limits)
        for head, profile in profiles.items()
        if profile is not None
    }
    shared = len({json.dumps(p, sort_keys=True) for p in profiles.values() if p}) <= 1
    reasons = [
        reason if shared else f"{head} champion: {reason}"
        for head, drift in scored.items()
        for reason in drift.reasons
    ]
    reasons += [
        f"not measured for {head}: its champion stored no set-up profile (retrain to store one)"
        for head, profile in profiles.items()
        if profile is None
    ]
    return {
        "flagged": any(drift.flagged for drift in scored.values()),
        "score": max((drift.score for drift in scored.values()), default=None),
        "reasons": list(dict.fromkeys(reasons)),
        "heads": {
            head: {k: v for k, v in asdict(drift).items() if k not in ("flagged", "reasons")}
            for head, drift in scored.items()
        },
        "setup": setup,
    }
