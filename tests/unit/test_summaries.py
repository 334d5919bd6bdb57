import json

import numpy as np
import pandas as pd
import pytest

from ethoflow.evaluation.summaries import video_summary
from ethoflow.vision.fps import kept_frame_indices


def test_video_summary_counts_bouts_and_movement():
    frames = np.arange(10)
    table = pd.DataFrame(
        {
            "frame": frames * 3,  # a 30 fps source standardised to 10 fps
            "time_s": (frames * 3 / 30).round(4),
            "grooming": [0, 1, 1, 0, 0, 1, 1, 1, 0, 0],
            "rearing": [0] * 10,
            "x": [0.0] * 5 + [3.0] * 5,  # still, one 3-4-5 step, still
            "y": [0.0] * 5 + [4.0] * 5,
        }
    )
    summary = video_summary(table, ["grooming", "rearing"], 10)
    assert summary["frames"] == 10
    assert summary["frame_period_s"] == pytest.approx(0.1)
    assert summary["duration_s"] == pytest.approx(1.0)
    # The step beyond the centre's jitter (ethoflow.vision.distance), lightly smoothed: nearly
    # whole.
    assert summary["distance_px"] == pytest.approx(5.0, abs=0.1)
    assert summary["mean_speed_px_s"] == pytest.approx(summary["distance_px"] / 0.9, abs=0.01)
    assert summary["position_noise_px"] > 0
    assert summary["heads"]["grooming"] == {"bouts": 2, "total_s": 0.5, "latency_s": 0.1}
    assert summary["heads"]["rearing"] == {"bouts": 0, "total_s": 0.0, "latency_s": None}
    json.dumps(summary)  # goes into summary.json as is
    assert "distance_cm" not in summary  # no calibration, no cm
    calibrated = video_summary(table, ["grooming"], 10, pixels_per_cm=2.0)
    assert calibrated["distance_cm"] == pytest.approx(summary["distance_px"] / 2, abs=0.01)
    assert calibrated["mean_speed_cm_s"] == pytest.approx(summary["mean_speed_px_s"] / 2, abs=0.01)

    single = video_summary(table.iloc[1:2], ["grooming"], 10)
    assert single["heads"]["grooming"] == {"bouts": 1, "total_s": 0.1, "latency_s": 0.1}
    assert (single["duration_s"], single["distance_px"], single["mean_speed_px_s"]) == (0.1, 0, 0)


def test_a_persons_unknown_frames_are_in_no_bout():
    table = pd.DataFrame(
        {
            "frame": range(8),
            "time_s": np.arange(8) / 10,
            "grooming": pd.array([1, 1, None, 1, 0, None, None, 1], dtype="Int8"),
            "x": 0.0,
            "y": 0.0,
        }
    )
    summary = video_summary(table, ["grooming"], 10)
    assert summary["heads"]["grooming"] == {"bouts": 3, "total_s": 0.4, "latency_s": 0.0}


@pytest.mark.parametrize("source_fps", [5, 7.5, 10, 12, 12.5, 15, 24, 25, 29.97, 30, 50, 60])
def test_durations_and_totals_hold_for_every_camera_rate(source_fps):
    """A 62.8 s recording whose first half is grooming, standardised to 10 fps."""
    n = round(62.8 * source_fps)
    kept = kept_frame_indices(n, source_fps, 10)
    grooming = (np.arange(n) < n / 2).astype(int)[kept]
    table = pd.DataFrame({"frame": kept, "time_s": np.arange(len(kept)) / 10, "grooming": grooming})
    table["x"] = table["y"] = 0.0
    summary = video_summary(table, ["grooming"], 10)
    assert summary["duration_s"] == pytest.approx(n / source_fps, abs=0.1)
    assert summary["heads"]["grooming"]["total_s"] == pytest.approx(31.4, abs=0.2)
