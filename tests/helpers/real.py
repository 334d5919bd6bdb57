"""The real recordings of other labs kept in ``tests/data/real`` (files and licences there)."""

from pathlib import Path

REAL = Path(__file__).parents[1] / "data" / "real"
REAL_VIDEO = REAL / "tracktor_mouse_video.mp4"
# 3 s where the mouse walks slowly and turns (frames 7500-7589, 4:10-4:13): its steps are a few
# pixels, so the jitter of a small image added 14 % to the summed steps at 160x120.
WALK_START, WALK_FRAMES = 7500, 90
WALK_SIZES = [(640, 480), (320, 240), (160, 120), (64, 48)]
