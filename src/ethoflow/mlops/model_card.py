"""A model card per champion: what a model version was trained on, how well it does where, with
which threshold and post-processing, on what set-ups, and where it is known not to hold.

Pure: :func:`model_card` writes Markdown from a version's tags, its evaluation table
(:func:`ethoflow.evaluation.metrics.evaluate_model`'s, as logged) and its training profile
(:func:`ethoflow.features.drift.training_profile`).
:func:`ethoflow.mlops.model_card_writer.write_model_card` gathers them from MLflow on promotion
and stores the card as the version's description and as ``model_card.md`` in its run.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ethoflow.features.drift import CAMERA_MEASURES, LOOK_MEASURES, SETUP_MEASURES, DriftLimits

# A behaviour with fewer bouts than this in the training split is learnt from few examples.
FEW_BOUTS = 20


def model_card(
    head: str,
    name: str,
    version: str,
    tags: dict[str, str],
    metrics: pd.DataFrame,
    profile: dict[str, Any] | None,
    limits: DriftLimits,
) -> str:
    """The Markdown card of version ``version`` of registered model ``name`` (behaviour
    ``head``); ``metrics`` is its evaluation table, ``profile`` its training profile (None when
    it was trained before profiles were stored)."""
    recordings = pd.DataFrame(profile["recordings"] if profile else [])
    sections = [
        f"# {name} v{version}: {head}",
        tags.get("promotion_decision", ""),
        _data(tags, recordings, head),
        _metrics(metrics, recordings, head),
        _decision(tags),
        _profile(recordings, profile, limits),
        _limits(tags, recordings, head, limits),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _data(tags: dict[str, str], recordings: pd.DataFrame, head: str) -> str:
    lines = [
        "## Data",
        f"- data version (DVC): `{tags.get('data_version', 'unknown')}`; "
        f"features version `{tags.get('features_version', 'unknown')}`; "
        f"code `{tags.get('git_commit', 'unknown')}`",
        f"- featurisation: `{tags.get('featurization', 'unknown')}`",
        f"- architecture: {tags.get('architecture', 'unknown')}, window "
        f"{tags.get('window', '?')} frames; test PR-AUC {tags.get('test_pr_auc', '?')}",
    ]
    if recordings.empty:
        return "\n".join([*lines, "- recordings: not stored with this version"])
    counts = _behaviour_counts(recordings, head)
    table = (
        counts.groupby(["condition", "split"])
        .agg(
            recordings=("video_id", "size"),
            frames=("frames", "sum"),
            **{
                f"{head} labelled": ("labelled", "sum"),
                f"{head} frames": ("positive", "sum"),
                f"{head} bouts": ("bouts", "sum"),
            },
        )
        .reset_index()
    )
    conditions = ", ".join(sorted(recordings.condition.unique()))
    labelled, frames = int(counts.labelled.sum()), int(counts.frames.sum())
    if labelled < frames:
        lines.append(
            f"- {head} labelled on {labelled} of {frames} frames ({labelled / frames:.0%}); "
            "the others are unknown, left out of training and evaluation"
        )
    lines.append(f"- {len(recordings)} recordings from {conditions}:")
    return "\n".join(lines) + "\n\n" + table.to_markdown(index=False)


def _behaviour_counts(recordings: pd.DataFrame, head: str) -> pd.DataFrame:
    """Per recording: video id, condition, split, frames, and ``head``'s labelled frames,
    positive frames and bouts among them."""
    counts = recordings[["video_id", "condition", "split", "frames"]].copy()
    # Profiles stored before partial labels have no ``labelled``: every frame was labelled then.
    counts["labelled"] = [
        b.get(head, {}).get("labelled", frames)
        for b, frames in zip(recordings.behaviours, recordings.frames, strict=True)
    ]
    counts["positive"] = [b.get(head, {}).get("frames", 0) for b in recordings.behaviours]
    counts["bouts"] = [b.get(head, {}).get("bouts", 0) for b in recordings.behaviours]
    return counts


def _metrics(metrics: pd.DataFrame, recordings: pd.DataFrame, head: str) -> str:
    rows = metrics[metrics.scope != "video"].copy()
    rows["post-processed"] = rows.postprocessed.map({True: "yes", False: "no"})
    # The evaluation measures labelled frames only.
    table = rows.drop(columns="condition").rename(
        columns={"name": "condition", "n_frames": f"{head} labelled"}
    )
    table[f"{head} frames"] = table.pop("n_positive")
    columns = ["condition", "post-processed", f"{head} labelled", f"{head} frames"]
    if not recordings.empty:
        validation = _behaviour_counts(recordings, head).query("split == 'validation'")
        bouts = validation.groupby("condition").bouts.sum().to_dict()
        bouts["all"] = sum(bouts.values())
        table[f"{head} bouts"] = table.condition.map(bouts).fillna(0).astype(int)
        columns.append(f"{head} bouts")
    columns += ["precision", "recall", "f1", "pr_auc"]
    return (
        "## Validation, per condition (frames pooled; `all`: every validation video)\n\n"
        + table[columns].to_markdown(index=False, floatfmt=".3f")
    )


def _decision(tags: dict[str, str]) -> str:
    postprocess = json.loads(tags.get("postprocess", "{}"))
    steps = [
        f"bouts grown into adjacent frames scoring at least {share:g} × the threshold"
        if (share := postprocess.get("low_threshold_share", 1.0)) < 1
        else "",
        f"median filter over {postprocess['median_frames']} frames"
        if postprocess.get("median_frames", 1) > 1
        else "",
        f"bouts shorter than {postprocess['min_bout_frames']} frames dropped"
        if postprocess.get("min_bout_frames", 1) > 1
        else "",
    ]
    steps = [step for step in steps if step] or ["none"]
    return "\n".join(
        [
            "## Threshold and post-processing",
            f"- threshold {tags.get('threshold', '?')} on the per-frame probability "
            "(the cut with the best F1 in the test split's worst condition)",
            f"- post-processing: {'; '.join(steps)}",
        ]
    )


def _profile(recordings: pd.DataFrame, profile: dict[str, Any] | None, limits: DriftLimits) -> str:
    title = "## Set-up profile (drift alert)"
    if profile is None or recordings.empty:
        return f"{title}\n\nNo profile stored: labelling cannot tell drift for this version."
    setups = pd.DataFrame(list(recordings.setup)).assign(condition=list(recordings.condition))
    rows = []
    for condition, group in setups.groupby("condition"):
        row = {"condition": condition}
        for measure in (*CAMERA_MEASURES, *LOOK_MEASURES):
            # A profile from another ethoflow version may lack a measure.
            values = group.get(measure, pd.Series(dtype=float)).dropna()
            low, high = (values.min(), values.max()) if len(values) else (None, None)
            row[SETUP_MEASURES[measure][0]] = (
                "–" if low is None else f"{low:.4g}" if low == high else f"{low:.4g}–{high:.4g}"
            )
        rows.append(row)
    return "\n".join(
        [
            title,
            f"New recordings are flagged beyond {limits.max_camera_ratio:g}× the nearest trained "
            f"set-up's frame rate, frame size or arena side (product of ratios), "
            f"{limits.max_look_ratio:g}× the training range of floor and mouse look, or "
            f"{limits.max_feature_sigma:g} σ of feature distance over the "
            f"{profile['feature_count']} features per frame (per-feature summaries in "
            "`profile.json`).",
            "",
            pd.DataFrame(rows).to_markdown(index=False),
        ]
    )


def _limits(tags: dict[str, str], recordings: pd.DataFrame, head: str, limits: DriftLimits) -> str:
    known = []
    unmeasurable = [c for c in tags.get("unmeasurable_conditions", "").split(",") if c]
    if unmeasurable:
        known.append(
            f"not measured in {', '.join(unmeasurable)}: its validation videos show no {head}, "
            "so precision and recall there are unknown"
        )
    if not recordings.empty:
        training = _behaviour_counts(recordings, head).query("split == 'train'")
        bouts = int(training.bouts.sum())
        if bouts < FEW_BOUTS:
            known.append(
                f"{head} was learnt from {bouts} bouts (fewer than {FEW_BOUTS}) in the "
                "training recordings"
            )
        for condition, count in training.groupby("condition").bouts.sum().items():
            if count == 0:
                known.append(f"no {head} bout in the training recordings of {condition}")
        conditions = ", ".join(sorted(recordings.condition.unique()))
        known.append(
            f"trained only on the set-ups {conditions}: labels of other set-ups are flagged "
            "(`drift` in each recording's summary.json) and less trustworthy"
        )
    return "## Known limits\n" + "\n".join(f"- {item}" for item in known or ["none recorded"])


# Registry databases hold a version's description in 5,000 characters (MLflow's schema).
DESCRIPTION_LIMIT = 5000


def registry_description(card: str, artifact: str) -> str:
    """``card`` as a registry description: whole if it fits :data:`DESCRIPTION_LIMIT`, else its
    leading sections that do, and where the rest is (``artifact``)."""
    if len(card) <= DESCRIPTION_LIMIT:
        return card
    note = f"\n\n(The full card is {artifact}.)\n"
    kept = ""
    for section in card.split("\n\n## "):
        candidate = f"{kept}\n\n## {section}" if kept else section
        if len(candidate) + len(note) > DESCRIPTION_LIMIT:
            break
        kept = candidate
    return kept[: DESCRIPTION_LIMIT - len(note)] + note
