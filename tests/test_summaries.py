import json

import numpy as np
import pandas as pd
import pytest

from ethoflow.summaries import video_summary


def test_video_summary_counts_bouts_and_movement():
    frames = np.arange(10)
    table = pd.DataFrame(
        {
            "frame": frames * 3,  # a 30 fps source standardised to 10 fps
            "time_s": (frames * 3 / 30).round(4),
            "grooming": [0, 1, 1, 0, 0, 1, 1, 1, 0, 0],
            "rearing": [0] * 10,
            "x": [0.0, 3.0] + [3.0] * 8,  # one 3-4-5 step, then still
            "y": [0.0, 4.0] + [4.0] * 8,
        }
    )
    summary = video_summary(table, ["grooming", "rearing"])
    assert summary["frames"] == 10
    assert summary["frame_period_s"] == pytest.approx(0.1)
    assert summary["duration_s"] == pytest.approx(1.0)
    assert summary["distance_px"] == pytest.approx(5.0)
    assert summary["mean_speed_px_s"] == pytest.approx(5.0 / 0.9, abs=0.01)
    assert summary["heads"]["grooming"] == {"bouts": 2, "total_s": 0.5, "latency_s": 0.1}
    assert summary["heads"]["rearing"] == {"bouts": 0, "total_s": 0.0, "latency_s": None}
    json.dumps(summary)  # goes into summary.json as is
    assert "distance_cm" not in summary  # no calibration, no cm
    calibrated = video_summary(table, ["grooming"], pixels_per_cm=2.0)
    assert calibrated["distance_cm"] == pytest.approx(2.5)
    assert calibrated["mean_speed_cm_s"] == pytest.approx(5.0 / 0.9 / 2, abs=0.01)

    single = video_summary(table.iloc[1:2], ["grooming"])
    assert single["heads"]["grooming"] == {"bouts": 1, "total_s": 0.0, "latency_s": 0.1}
    assert (single["duration_s"], single["distance_px"], single["mean_speed_px_s"]) == (0, 0, 0)
