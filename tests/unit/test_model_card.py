"""The model card's text from a version's tags, evaluation table and training profile."""

import json
import re

import numpy as np
import pandas as pd

from ethoflow.features.drift import DriftLimits, recording_profile
from ethoflow.mlops.model_card import DESCRIPTION_LIMIT, model_card, registry_description

LIMITS = DriftLimits(max_camera_ratio=1.25, max_look_ratio=1.5, max_feature_sigma=3.0)
TAGS = {
    "data_version": "3f2a",
    "featurization": "no-cnn-10fps+posture-v2+motion-v3-tracker-background-3",
    "threshold": "0.42",
    "postprocess": json.dumps(
        {"median_frames": 5, "min_bout_frames": 1, "low_threshold_share": 0.8}
    ),
    "unmeasurable_conditions": "set_b",
    "promotion_decision": "promoted: no champion yet",
}


def _profile() -> dict:
    setup = {"fps": 10.0, "frame_width_px": 320.0, "mouse_area_px": 900.0}
    grooming = pd.DataFrame({"grooming": [0, 1, 1, 0, 1, 0]})  # 3 frames, 2 bouts
    # Partly labelled: two frames unknown (empty cells).
    partial = pd.DataFrame({"grooming": pd.array([0, 0, None, None, 0, 0], dtype="Int8")})
    recordings = [
        recording_profile(video_id, condition, setup, np.zeros((6, 2)), split=split, labels=labels)
        for video_id, condition, split, labels in (
            ("a1", "set_a", "train", grooming),
            ("a2", "set_a", "validation", grooming),
            ("b1", "set_b", "train", partial),
            ("b2", "set_b", "validation", grooming * 0),
        )
    ]
    return {"feature_count": 2, "recordings": recordings}


def _metrics() -> pd.DataFrame:
    rows = [
        ("condition", "set_a", False, 6, 3, 0.9, 0.8, 0.85, 0.95),
        ("condition", "set_b", False, 6, 0, 1.0, 1.0, 1.0, np.nan),
        ("all", "all", False, 12, 3, 0.9, 0.8, 0.85, 0.95),
        ("video", "a2", False, 6, 3, 0.9, 0.8, 0.85, 0.95),
    ]
    columns = ["scope", "name", "postprocessed", "n_frames", "n_positive"]
    columns += ["precision", "recall", "f1", "pr_auc"]
    return pd.DataFrame(rows, columns=columns).assign(condition="")


def test_the_card_says_what_the_version_was_trained_on_and_where_it_does_not_hold():
    card = model_card("grooming", "ethoflow-grooming", "3", TAGS, _metrics(), _profile(), LIMITS)
    assert card.startswith("# ethoflow-grooming v3: grooming\n\npromoted: no champion yet")
    assert "data version (DVC): `3f2a`" in card
    assert "4 recordings from set_a, set_b" in card
    rows = re.sub(r" +", " ", card)  # table cells without their padding
    # Per condition and split: recordings, frames, labelled frames, positive frames, bouts.
    assert "| set_a | train | 1 | 6 | 6 | 3 | 2 |" in rows
    assert "| set_b | train | 1 | 6 | 4 | 0 | 0 |" in rows
    assert "- grooming labelled on 22 of 24 frames (92%); the others are unknown" in card
    # Validation rows carry labelled frames, positive frames and bouts; per-video rows stay out.
    assert "| post-processed | grooming labelled | grooming frames | grooming bouts |" in rows
    assert "| set_a | no | 6 | 3 | 2 | 0.900 | 0.800 | 0.850 | 0.950 |" in rows
    assert "| a2 " not in rows
    assert "threshold 0.42" in card and "median filter over 5 frames" in card
    assert "bouts grown into adjacent frames scoring at least 0.8 × the threshold" in card
    assert "1.25× the nearest trained set-up" in card
    assert "- not measured in set_b: its validation videos show no grooming" in card
    assert "- grooming was learnt from 2 bouts (fewer than 20)" in card
    assert "- no grooming bout in the training recordings of set_b" in card


def test_a_profile_stored_before_partial_labels_counts_every_frame_labelled():
    profile = _profile()
    for recording in profile["recordings"]:
        for counts in recording["behaviours"].values():
            del counts["labelled"]
    card = model_card("grooming", "ethoflow-grooming", "2", TAGS, _metrics(), profile, LIMITS)
    rows = re.sub(r" +", " ", card)
    assert "| set_b | train | 1 | 6 | 6 | 0 | 0 |" in rows
    assert "grooming labelled on" not in card  # no frame unknown


def test_a_card_without_a_profile_says_drift_cannot_be_told():
    card = model_card("rearing", "ethoflow-rearing", "1", {}, _metrics(), None, LIMITS)
    assert "recordings: not stored with this version" in card
    assert "labelling cannot tell drift for this version" in card
    assert "post-processing: none" in card


def test_a_long_card_is_cut_at_a_section_for_the_registry():
    card = "# title\n\n## one\n" + "x" * 3000 + "\n\n## two\n" + "y" * 3000 + "\n"
    description = registry_description(card, "model_card.md in run r1")
    assert len(description) <= DESCRIPTION_LIMIT
    assert "## one" in description and "## two" not in description
    assert description.endswith("(The full card is model_card.md in run r1.)\n")
    assert registry_description("short", "x") == "short"
