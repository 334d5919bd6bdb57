"""One synthetic recording: its frames with their truth, written as an mp4, a label CSV in the
set-up's format and a ground-truth table."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.atomic import atomic_path, write_csv
from ethoflow.synth import walk
from ethoflow.synth.behaviour import ACTIVITIES, activity_at, lab_timeline
from ethoflow.synth.conditions import Condition, Polarity
from ethoflow.synth.mouse import Mouse, coat_pattern, mouse_parts
from ethoflow.synth.scene import Scene

_OLD_HEADERS = (
    ("Grooming", "Mid Rearing", "Wall Rearing"),
    ("grooming", "mid_rearing", "wall_rearing"),
    (" Grooming", "MidRearing ", "Wall  Rearing"),
    ("GROOMING", "Mid rearing", "Wall-Rearing"),
)
_NEW_HEADERS = (("Grooming", "Rearing"), ("grooming", "rearing"), ("Grooming ", " Rearing"))


@dataclass(frozen=True)
class TruthFrame:
    frame: int
    x: float
    y: float
    behaviour: str
    activity: str  # what was drawn, finer than the label: see ACTIVITIES


def render_recording(
    condition: Condition, *, seconds: float, seed: int, polarity: Polarity = "dark_on_light"
) -> Iterator[tuple[np.ndarray, TruthFrame]]:
    """Yield ``(frame, truth)`` for each frame of one synthetic recording, one at a time.

    A dropped frame (``condition.frame_drops``) is drawn but not yielded, as a camera that
    skips one: the frames and their truth stay in step. A condition with its own
    ``polarity`` draws that mouse, whatever ``polarity`` says.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if polarity not in ("dark_on_light", "light_on_dark"):
        raise ValueError(f"polarity must be 'dark_on_light' or 'light_on_dark', got {polarity!r}")
    polarity = condition.polarity or polarity
    rng = np.random.default_rng(seed)
    # The activities' details and the camera's faults draw from their own stream.
    acts = np.random.default_rng([seed, 2])
    scene = Scene(condition, polarity, rng, np.random.default_rng([seed, 1]))
    side = condition.arena_side
    wall = condition.wall_fraction * side
    body = condition.body_fraction * side * rng.uniform(0.85, 1.15)
    noise_sigma = condition.noise_sigma * rng.uniform(0.8, 1.3)
    speed = body * rng.uniform(0.9, 1.4)  # body lengths per second
    margin = wall + 0.3 * body
    mouse = Mouse(
        x=rng.uniform(margin, side - margin),
        y=rng.uniform(margin, side - margin),
        heading=rng.uniform(-math.pi, math.pi),
        body=body,
        stroke_hz=float(acts.uniform(2.8, 4.5)),
        coat=coat_pattern(np.random.default_rng([seed, 3]), body) * scene.mouse_contrast,
    )
    flicker_hz, flicker_phase = acts.uniform(0.3, 2.0), acts.uniform(0, 2 * math.pi)
    if condition.arena_shape == "round":
        keep_inside, next_waypoint, along_wall = (
            walk.keep_inside_ring,
            walk.ring_waypoint,
            walk.along_ring,
        )
    else:
        keep_inside, next_waypoint, along_wall = (
            walk.keep_inside,
            walk.next_waypoint,
            walk.along_wall,
        )

    dt = 1.0 / condition.fps
    n_frames = int(round(seconds * condition.fps))
    timeline = lab_timeline(rng, acts, seconds)
    bout_index, bout_start = 0, 0.0
    target: tuple[float, float] | None = None
    following = False  # the target lies further along the wall the mouse walked into
    pause_left, pause_length = 0.0, 0.0
    current = "neutral"
    written = 0
    for i in range(n_frames):
        t = i * dt
        while t >= bout_start + timeline[bout_index].seconds:
            bout_start += timeline[bout_index].seconds
            bout_index += 1
            current = timeline[bout_index].kind
            if current == "rearing":
                # A rear next to a wall is a wall rear: the mouse turns to face the wall.
                facing, distance = walk.nearest_wall(mouse, condition)
                if distance < wall + 0.6 * body:
                    current = "wall_rearing"
                    mouse.heading = facing + rng.normal(0, 0.15)
                else:
                    current = "mid_rearing"
            elif current == "grooming":
                mouse.lick_side = timeline[bout_index].side
        bout = timeline[bout_index]
        t_bout = t - bout_start
        if bout.kind == "neutral":
            if pause_left > 0:
                pause_left -= dt
                # Settled in a long sit (ordinary pauses last 3 s at most), a mouse barely turns.
                mouse.heading += rng.normal(0, 0.05) * (0.2 if pause_left > 3.0 else 1.0)
            else:
                if target is None:
                    target, following = next_waypoint(rng, side, wall, body), False
                dx, dy = target[0] - mouse.x, target[1] - mouse.y
                distance = math.hypot(dx, dy)
                # Within reach: the turning circle (speed / 4 rad/s ≤ 0.35 body) fits inside
                # it, so a mouse never orbits a waypoint it cannot turn tightly enough to reach.
                if distance < max(speed * dt, 0.4 * body):
                    target = None
                    pause_left = rng.uniform(0.3, 3.0) if rng.random() < 0.5 else 0.0
                    pause_length = pause_left
                else:
                    turn = math.atan2(
                        math.sin(math.atan2(dy, dx) - mouse.heading),
                        math.cos(math.atan2(dy, dx) - mouse.heading),
                    )
                    mouse.heading += float(np.clip(turn, -4 * dt, 4 * dt))
                    step = speed * dt * max(0.2, math.cos(turn))
                    mouse.x += step * math.cos(mouse.heading)
                    mouse.y += step * math.sin(mouse.heading)
        activity, blend = activity_at(bout, current, t_bout, pause_left, pause_length)
        if keep_inside(mouse, mouse_parts(mouse, activity, blend, t), wall, side) and target:
            # Walked into a wall: mostly it follows the wall from here (thigmotaxis). One that
            # was following a wall is pressed flank to it or into a corner, and may sit there
            # (drawn only for conditions with sits, so the others keep their walks).
            if following and condition.wall_sitting and rng.random() < condition.wall_sitting * dt:
                target, pause_left = None, rng.uniform(5.0, 20.0)
                pause_length = pause_left
            else:
                target = along_wall(mouse, rng, side, wall, body) if rng.random() < 0.8 else None
            following = target is not None
        gain = 1.0 + condition.flicker * (
            math.sin(2 * math.pi * flicker_hz * t + flicker_phase) + acts.normal(0.0, 0.3)
        )
        frame, cx, cy = scene.render(mouse, activity, blend, t, rng, noise_sigma, gain)
        if acts.random() < condition.frame_drops:
            continue
        truth = TruthFrame(written, cx, cy, ACTIVITIES[activity], activity)
        written += 1
        yield frame, truth


def write_recording(
    video_path: str | Path,
    label_path: str | Path,
    truth_path: str | Path,
    *,
    condition: Condition,
    seconds: float,
    seed: int,
    polarity: Polarity = "dark_on_light",
) -> int:
    """Write one synthetic recording (mp4), its label CSV and its ground truth; return frames.

    Frames are encoded as they are drawn; only the per-frame table is kept in memory.
    """
    w, h = condition.frame_size
    truth: list[TruthFrame] = []
    with atomic_path(video_path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), condition.fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"{video_path}: OpenCV cannot write mp4 video here")
        try:
            for frame, row in render_recording(
                condition, seconds=seconds, seed=seed, polarity=polarity
            ):
                writer.write(frame)
                truth.append(row)
        finally:
            writer.release()

    table = pd.DataFrame([vars(row) for row in truth])
    header_rng = np.random.default_rng(seed)
    headers: tuple[str, ...]
    if condition.old_label_format:
        headers = _OLD_HEADERS[header_rng.integers(len(_OLD_HEADERS))]
        values = [table.behaviour == b for b in ("grooming", "mid_rearing", "wall_rearing")]
    else:
        headers = _NEW_HEADERS[header_rng.integers(len(_NEW_HEADERS))]
        values = [table.behaviour == "grooming", table.behaviour.str.endswith("rearing")]
    labels = pd.DataFrame({name: v.astype(int) for name, v in zip(headers, values, strict=True)})
    write_csv(labels, label_path)
    write_csv(table.round(2), truth_path)
    return len(table)


def truth_labels(truth: pd.DataFrame) -> pd.DataFrame:
    """``frame, grooming, rearing`` (0/1) from a ground-truth table's ``behaviour`` column."""
    return pd.DataFrame(
        {
            "frame": truth.frame,
            "grooming": (truth.behaviour == "grooming").astype(np.int8),
            "rearing": truth.behaviour.str.endswith("rearing").astype(np.int8),
        }
    )
