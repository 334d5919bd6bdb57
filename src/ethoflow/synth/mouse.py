"""The synthetic mouse: its body, coat and posture as ellipses in arena coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ethoflow.synth.behaviour import HUNCHED


@dataclass
class Mouse:
    """The mouse as it is this frame, in arena coordinates."""

    x: float
    y: float
    heading: float  # radians, 0 = +x in arena coordinates
    body: float  # body length in pixels
    stroke_hz: float = 3.5  # grooming strokes per second: each mouse its own
    lick_side: float = 1.0  # body licking: +1 the left flank, -1 the right
    coat: np.ndarray | None = None  # grey-level offsets over body and head (:func:`coat_pattern`)


def coat_pattern(rng: np.random.Generator, body: float) -> np.ndarray:
    """A mouse's coat in its own frame (columns run tail to nose, centred on the body), in units
    of the mouse's contrast against the floor: hair, noise smeared along the body axis, and
    shading, the back catching the lamp and the flanks falling off. Fixed to the body, it moves
    and turns with it, as fur does; a still mouse's coat does not change."""
    size = 2 * int(body) + 1
    hair: np.ndarray = cv2.GaussianBlur(
        rng.normal(0.0, 1.0, (size, size)).astype(np.float32),
        (0, 0),
        sigmaX=0.05 * body,
        sigmaY=0.012 * body,
    )
    hair *= rng.uniform(0.03, 0.05) / max(float(hair.std()), 1e-6)
    offset = np.arange(size, dtype=np.float32) - size // 2
    along, across = offset[None, :] / (0.5 * body), offset[:, None] / (0.24 * body)
    back = 1.0 - np.clip(along**2 + across**2, 0.0, 1.0)  # 1 on the back, 0 on flanks and head
    return hair + rng.uniform(0.1, 0.2) * (back - 0.5)


def mouse_parts(
    mouse: Mouse, activity: str, blend: float, t: float
) -> list[tuple[tuple[float, float], tuple[float, float], float, str]]:
    """Ellipses ``(centre, half-axes, angle, part)`` of the mouse in arena coordinates.

    Resting and grooming share one hunched silhouette; grooming alone moves the head and
    forepaws in strokes, so only motion inside the body tells them apart, as on real mice.
    """
    L = mouse.body
    c, s = math.cos(mouse.heading), math.sin(mouse.heading)

    def at(forward: float, side: float = 0.0) -> tuple[float, float]:
        return (mouse.x + forward * c - side * s, mouse.y + forward * s + side * c)

    # Walking posture, then the activity's posture blended in.
    half_len, half_wid, head_fwd, head_side, head_scale = 0.5 * L, 0.24 * L, 0.52 * L, 0.0, 1.0
    yaw = 0.0  # the head swung about the neck, radians
    twist = 0.0  # the head turned in place (towards a flank), radians
    stroke = math.sin(2 * math.pi * mouse.stroke_hz * t)
    paws: list[tuple[float, float]] = []
    if activity in HUNCHED:
        half_len += blend * -0.15 * L
        half_wid += blend * 0.06 * L
        head_fwd += blend * -0.2 * L
    if activity == "resting":
        half_wid += blend * 0.006 * L * math.sin(2 * math.pi * 2.5 * t)  # breathing
    elif activity == "face_washing":
        # The paws stroke over the face while the head nods towards the camera: the strokes stay
        # inside the outline, so the silhouette barely changes.
        head_scale += blend * 0.05 * math.sin(math.pi * mouse.stroke_hz * t)
        paws = [(head_fwd + 0.05 * L + 0.07 * L * stroke, 0.07 * L)]
        paws.append((head_fwd + 0.05 * L - 0.07 * L * stroke, -0.07 * L))
    elif activity == "paw_licking":
        paws = [(head_fwd + 0.1 * L + 0.05 * L * stroke, side) for side in (0.04 * L, -0.04 * L)]
    elif activity == "body_licking":
        sweep = math.sin(math.pi * mouse.stroke_hz * t)
        head_fwd += blend * (-0.12 * L + 0.04 * L * sweep)
        head_side = blend * mouse.lick_side * 0.12 * L
        twist = blend * mouse.lick_side * math.radians(60 + 10 * sweep)
    elif activity == "sniffing":
        yaw = blend * math.radians(25) * math.sin(2 * math.pi * 1.3 * t)
    elif activity in ("mid_rearing", "wall_rearing"):
        bob = 0.015 * L * math.sin(2 * math.pi * 0.8 * t)
        half_len += blend * (-0.22 * L + bob)
        half_wid += blend * 0.03 * L
        head_fwd += blend * -0.24 * L
        head_scale += blend * 0.18  # the head is nearer the camera
        paws = [(head_fwd + 0.16 * L, 0.12 * L), (head_fwd + 0.16 * L, -0.12 * L)]
    neck = 0.3 * L
    ct, st = math.cos(yaw), math.sin(yaw)

    def on_head(forward: float, side: float) -> tuple[float, float]:
        """A point given relative to the head's centre, swung with the head about the neck."""
        f, sd = head_fwd - neck + forward, head_side + side
        return at(neck + f * ct - sd * st, f * st + sd * ct)

    angle = math.degrees(mouse.heading)
    head_angle = math.degrees(mouse.heading + yaw + twist)
    parts = [
        (at(0.0), (half_len, half_wid), angle, "body"),
        (on_head(0.0, 0.0), (0.2 * L * head_scale, 0.14 * L * head_scale), head_angle, "head"),
        (on_head(-0.08 * L, 0.11 * L), (0.05 * L, 0.05 * L), 0.0, "ear"),
        (on_head(-0.08 * L, -0.11 * L), (0.05 * L, 0.05 * L), 0.0, "ear"),
    ]
    if blend > 0.3:
        parts += [(at(f, side), (0.045 * L, 0.045 * L), 0.0, "paw") for f, side in paws]
    return parts


def tail_points(mouse: Mouse, t: float) -> list[tuple[float, float]]:
    """The tail's points in arena coordinates, base first, swaying with time ``t``."""
    L = mouse.body
    c, s = math.cos(mouse.heading), math.sin(mouse.heading)
    points = []
    for i in range(8):
        along = 0.5 * L + 0.1 * L * i
        sway = 0.06 * L * math.sin(2 * math.pi * 0.6 * t + 0.7 * i) * (i / 7)
        points.append((mouse.x - along * c - sway * s, mouse.y - along * s + sway * c))
    return points
