"""Automatic mode and nightly results: label videos with the champions, read labelled outputs.

Labelling is :func:`ethoflow.labelling.recording.label_video` with the champions of
:func:`ethoflow.mlops.champions.champions_for_labelling`, called as the label flow calls
them; the outputs read here are the files it writes (``labels.csv``, ``summary.json``,
``ethogram.png``, ``record.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ethoflow.config import Settings
from ethoflow.features.cnn import FeatureExtractor
from ethoflow.features.featurization import Featurization
from ethoflow.labelling.batch import LabelOutcome
from ethoflow.labelling.recording import (
    RECORD_FILE,
    SUMMARY_FILE,
    HeadModel,
    LabelSettings,
    label_video,
)
from ethoflow.labelling.review_queue import Labelled as Labelled
from ethoflow.labelling.review_queue import labelled_outputs
from ethoflow.ui.files import UserError
from ethoflow.ui.recording import bout_table


@dataclass(frozen=True)
class Labeller:
    """The champions and the feature extractor, loaded once and used for every video."""

    heads: dict[str, HeadModel]
    featurization: Featurization
    extractor: FeatureExtractor | None
    label_settings: LabelSettings


def champion_key(settings: Settings) -> tuple[tuple[str, str, float, int, str], ...]:
    """What identifies the champions (per head: version, threshold, window, featurisation),
    read from the registry's tags only (a fraction of a second), or :class:`UserError` saying
    what to run when there is none. Loaded models are kept under this key: a promotion, or a
    new threshold from an evaluation, loads them again."""
    heads = _champions(settings, models=False)
    return tuple((h, m.version, m.threshold, m.window, m.featurization) for h, m in heads.items())


def load_labeller(settings: Settings) -> Labeller:
    """The champions (downloaded from the registry) and the extractor their features need."""
    heads = _champions(settings, models=True)
    featurization = Featurization.from_settings(settings)
    return Labeller(
        heads,
        featurization,
        featurization.build_extractor(),
        LabelSettings.from_settings(settings),
    )


def _champions(settings: Settings, *, models: bool) -> dict[str, HeadModel]:
    """:func:`champions_for_labelling`, its refusal a :class:`UserError` with its message."""
    from ethoflow.errors import NoChampionError
    from ethoflow.mlops.champions import RegistryUnreadable, champions_for_labelling

    try:
        return champions_for_labelling(settings, models=models)
    except (NoChampionError, RegistryUnreadable, ValueError) as error:
        raise UserError(str(error)) from None


def label(labeller: Labeller, video: Path, outbox: Path) -> LabelOutcome:
    """Label ``video`` into ``outbox/<video id>/`` exactly as the label flow does."""
    return label_video(
        video,
        outbox,
        heads=labeller.heads,
        featurization=labeller.featurization,
        extractor=labeller.extractor,
        label_settings=labeller.label_settings,
    )


def drift_alert(summary: dict) -> str | None:
    """A summary's set-up drift flag in words; None when not flagged (or not scored)."""
    drift = summary.get("drift")
    if not drift or not drift["flagged"]:
        return None
    return "Set-up unlike the models' training recordings; trust these labels less: " + "; ".join(
        drift["reasons"]
    )


def read_labelled(folder: Path) -> Labelled:
    """A labelled video's outputs; :class:`UserError` if they are incomplete (no record)."""
    folder = Path(folder)
    if not (folder / RECORD_FILE).is_file():
        raise UserError(f"{folder.name} has no complete labels (it may still be in progress).")
    return labelled_outputs(folder)


def models_table(summary: dict) -> pd.DataFrame:
    """Which model version and threshold produced each behaviour's labels."""
    columns = ["behaviour", "model", "version", "threshold"]
    rows = [
        (head, m["model"], m["version"], m["threshold"]) for head, m in summary["models"].items()
    ]
    return pd.DataFrame(rows, columns=columns)


def bouts_of(labelled: Labelled) -> pd.DataFrame:
    """The bout table (count, total, mean duration, latency per behaviour) of a labelled video."""
    return bout_table(labelled.summary)


def list_outbox(outbox: Path) -> pd.DataFrame:
    """The outbox as a list, newest first: one row per labelled video (date, video, status
    ``labelled``, bouts per behaviour, folder) and per quarantined one (with its reason, from
    the last batch's ``quarantine.csv``)."""
    columns = ["date", "video", "status", "bouts", "drift", "reason", "folder"]
    rows = []
    outbox = Path(outbox)
    if outbox.is_dir():
        for folder in sorted(outbox.iterdir()):
            if folder.name.startswith(".") or not (folder / RECORD_FILE).is_file():
                continue
            try:
                summary = json.loads((folder / SUMMARY_FILE).read_text())
            except (OSError, ValueError):
                continue
            bouts = ", ".join(f"{head} {v['bouts']}" for head, v in summary["heads"].items())
            rows.append(
                {
                    "date": summary.get("labelled_at", ""),
                    "video": summary.get("video_id", folder.name),
                    "status": "labelled",
                    "bouts": bouts,
                    "drift": "flagged" if drift_alert(summary) else "",
                    "reason": summary.get("warning", ""),
                    "folder": str(folder),
                }
            )
        quarantine = outbox / "quarantine.csv"
        if quarantine.is_file():
            for row in pd.read_csv(quarantine, keep_default_na=False).itertuples():
                stamp = pd.Timestamp(quarantine.stat().st_mtime, unit="s", tz="UTC")
                date = stamp.isoformat(timespec="seconds")
                rows.append(
                    {
                        "date": date,
                        "video": row.video_id,
                        "status": "quarantined",
                        "bouts": "",
                        "drift": "",
                        "reason": row.reason,
                        "folder": "",
                    }
                )
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("date", ascending=False, ignore_index=True)
