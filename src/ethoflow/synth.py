"""A synthetic lab: top-view mouse recordings with per-frame labels and ground-truth centres.

Four recording conditions mirror the lab's cameras (frame rate, frame size, arena shape and
placement, clutter, lighting, label format, lens and compression), and a fifth is held out of
training. A mouse walks along the walls and across the open field, pauses to sniff, rests, grooms
and rears (unsupported in the open, supported against a wall). Resting and grooming share one
hunched silhouette: grooming differs only by its strokes, head and forepaws moving while the body
stays still (paw licking, face washing, body licking, in the grooming chain's order), which is
what makes grooming hard to see on real mice. A mouse's coat (hair and shading) is fixed to its
body, so turning and walking change the pixels inside it, as on real fur. Every recording of
20 s or more shows both behaviours. Everything is drawn from seeded generators per video, so the
same seed gives the same bytes and the truth (centre, behaviour, activity) is exact.

The real-like conditions add what makes real footage hard to track: inner wall faces seen in
perspective, round arenas in a dark ring, dark surrounds, the mouse's shadow and its reflection on
the walls, long sits in corners, bedding under infrared light. Their looks draw from a second
generator seeded from the video seed, so they never change the walk.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.atomic import atomic_path, write_csv

Polarity = Literal["dark_on_light", "light_on_dark"]
Behaviour = Literal["neutral", "grooming", "mid_rearing", "wall_rearing"]

_WALL_FRACTION = 0.03  # wall band seen from above, as a share of the arena side
_BODY_FRACTION = 0.2  # mouse body length (nose to tail base) as a share of the arena side


@dataclass(frozen=True)
class Condition:
    """How one of the lab's camera set-ups looks."""

    name: str
    fps: float
    frame_size: tuple[int, int]  # (width, height)
    arena_center: tuple[float, float]
    arena_side: float
    arena_angle_deg: float
    light_gradient: float  # brightness drop across the frame from a side lamp, 0..1
    vignette: float  # brightness drop towards the corners, 0..1
    tint: tuple[float, float, float]  # per-channel (B, G, R) gain of the camera/lamp
    clutter: bool  # objects around the arena
    floor_lines: bool  # lines drawn on the arena floor
    noise_sigma: float
    blur_kernel: int
    old_label_format: bool  # Grooming / Mid Rearing / Wall Rearing columns
    # Failure modes of real footage; the defaults draw the plain arenas of the first conditions.
    arena_shape: Literal["square", "round"] = "square"  # round: arena_side is the rim's diameter
    wall_fraction: float = _WALL_FRACTION  # wall band from the rim to the floor, share of the side
    wall_faces: bool = False  # inner wall faces in perspective: each lit its own way, rim to floor
    floor_level: float | None = None  # grey level of the floor; None: light or dark by polarity
    wall_level: float | None = None  # grey level of the walls; None: a step off the floor
    surround_level: float | None = None  # grey level around the arena; None: mid grey
    bedding: float = 0.0  # grey-level spread of the bedding texture on the floor
    shadow: float = 0.0  # how much the mouse's soft shadow darkens the floor, 0..1
    reflection: float = 0.0  # opacity of the mouse's mirror image on a wall it is near, 0..1
    body_fraction: float = _BODY_FRACTION  # body length as a share of the arena side
    wall_sitting: float = 0.0  # long sits per second of walking pressed along a wall
    # The camera's own faults.
    flicker: float = 0.0  # amplitude of the lamp's brightness beat (mains flicker), 0..1
    lens: float = 0.0  # radial lens distortion k1 over the half-diagonal (< 0: barrel)
    jpeg_quality: int | None = None  # each frame through JPEG first (an MJPEG camera)
    frame_drops: float = 0.0  # share of frames the camera skips


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        name="condition_1",
        fps=10,
        frame_size=(320, 320),
        arena_center=(160, 160),
        arena_side=320,
        arena_angle_deg=0,
        light_gradient=0.06,
        vignette=0.05,
        tint=(1.0, 1.0, 1.0),
        clutter=False,
        floor_lines=False,
        noise_sigma=4,
        blur_kernel=3,
        old_label_format=True,
    ),
    Condition(
        name="condition_2",
        fps=30,
        frame_size=(480, 360),
        arena_center=(180, 185),
        arena_side=290,
        arena_angle_deg=0,
        light_gradient=0.3,
        vignette=0.1,
        tint=(0.92, 1.0, 1.06),
        clutter=True,
        floor_lines=False,
        noise_sigma=6,
        blur_kernel=3,
        old_label_format=False,
    ),
    Condition(
        name="condition_3",
        fps=10,
        frame_size=(384, 288),
        arena_center=(204, 144),
        arena_side=240,
        arena_angle_deg=7,
        light_gradient=0.12,
        vignette=0.35,
        tint=(1.05, 1.0, 0.93),
        clutter=False,
        floor_lines=True,
        noise_sigma=5,
        blur_kernel=5,
        old_label_format=False,
    ),
    # A round arena under infrared light, filmed by a cheap MJPEG camera through a wide lens:
    # grey image, mains flicker, barrel distortion, compression and the odd dropped frame.
    Condition(
        name="condition_5",
        fps=15,
        frame_size=(480, 480),
        arena_center=(240, 240),
        arena_side=420,
        arena_angle_deg=0,
        light_gradient=0.15,
        vignette=0.3,
        tint=(1.0, 1.0, 1.0),
        clutter=False,
        floor_lines=False,
        noise_sigma=6,
        blur_kernel=3,
        old_label_format=False,
        arena_shape="round",
        wall_fraction=0.04,
        wall_faces=True,
        floor_level=120,
        wall_level=70,
        surround_level=30,
        shadow=0.1,
        body_fraction=0.15,
        flicker=0.04,
        lens=-0.15,
        jpeg_quality=50,
        frame_drops=0.01,
    ),
)

# A camera set-up no model is trained on: the demo labels it to show how labels transfer.
HELD_OUT_CONDITION = Condition(
    name="condition_4",
    fps=25,
    frame_size=(400, 400),
    arena_center=(200, 205),
    arena_side=300,
    arena_angle_deg=-4,
    light_gradient=0.2,
    vignette=0.2,
    tint=(1.0, 0.96, 1.04),
    clutter=False,
    floor_lines=False,
    noise_sigma=5,
    blur_kernel=3,
    old_label_format=False,
)

# Recordings that look like the lab's real footage: where trackers fail on real videos, they
# should fail here too.
REAL_LIKE_CONDITIONS: tuple[Condition, ...] = (
    # An open-field box filling the frame: white floor, inner wall faces in perspective, a black
    # mouse (dark_on_light) with its shadow and wall reflection that sits in corners for long.
    Condition(
        name="openfield_perspective",
        fps=25,
        frame_size=(500, 500),
        arena_center=(250, 250),
        arena_side=470,
        arena_angle_deg=1,
        light_gradient=0.1,
        vignette=0.15,
        tint=(1.0, 1.0, 1.0),
        clutter=False,
        floor_lines=False,
        noise_sigma=4,
        blur_kernel=3,
        old_label_format=False,
        wall_fraction=0.09,
        wall_faces=True,
        surround_level=25,
        shadow=0.35,
        reflection=0.3,
        body_fraction=0.16,
        wall_sitting=0.3,
    ),
    # A round grey floor (400 px across) in a dark ring on a dark surround; a small black mouse
    # (dark_on_light), 25-35 px long.
    Condition(
        name="round_arena",
        fps=30,
        frame_size=(640, 480),
        arena_center=(320, 240),
        arena_side=440,
        arena_angle_deg=0,
        light_gradient=0.08,
        vignette=0.2,
        tint=(1.0, 1.0, 1.0),
        clutter=False,
        floor_lines=False,
        noise_sigma=4,
        blur_kernel=3,
        old_label_format=False,
        arena_shape="round",
        wall_fraction=0.045,
        wall_faces=True,
        floor_level=150,
        wall_level=30,
        surround_level=55,
        shadow=0.25,
        body_fraction=0.06,
        wall_sitting=1.0,
    ),
    # A home cage under infrared light: grey image, a white mouse (light_on_dark) on textured
    # bedding of about its own brightness, uneven light.
    Condition(
        name="ir_bedding",
        fps=15,
        frame_size=(480, 360),
        arena_center=(240, 180),
        arena_side=320,
        arena_angle_deg=2,
        light_gradient=0.25,
        vignette=0.45,
        tint=(1.0, 1.0, 1.0),
        clutter=False,
        floor_lines=False,
        noise_sigma=7,
        blur_kernel=3,
        old_label_format=False,
        wall_fraction=0.05,
        wall_faces=True,
        floor_level=140,
        surround_level=35,
        bedding=28,
        shadow=0.15,
        reflection=0.2,
        wall_sitting=0.2,
    ),
)

_OLD_HEADERS = (
    ("Grooming", "Mid Rearing", "Wall Rearing"),
    ("grooming", "mid_rearing", "wall_rearing"),
    (" Grooming", "MidRearing ", "Wall  Rearing"),
    ("GROOMING", "Mid rearing", "Wall-Rearing"),
)
_NEW_HEADERS = (("Grooming", "Rearing"), ("grooming", "rearing"), ("Grooming ", " Rearing"))


_ALL_CONDITIONS = (*CONDITIONS, HELD_OUT_CONDITION, *REAL_LIKE_CONDITIONS)


def condition_by_name(name: str) -> Condition:
    """Return the :class:`Condition` called ``name``."""
    for condition in _ALL_CONDITIONS:
        if condition.name == name:
            return condition
    known = ", ".join(c.name for c in _ALL_CONDITIONS)
    raise ValueError(f"unknown recording condition {name!r}; known: {known}")


def _condition_number(condition: Condition) -> int:
    """``condition_<n>`` → n; the real-like conditions are numbered on from the lab's."""
    if condition.name.startswith("condition_"):
        return int(condition.name.removeprefix("condition_"))
    names = [c.name for c in REAL_LIKE_CONDITIONS]
    return len(CONDITIONS) + 2 + names.index(condition.name)


# --- behaviour timeline -------------------------------------------------------------------------

# What the mouse is doing, drawn: each activity belongs to one labelled behaviour.
ACTIVITIES = {
    "walking": "neutral",
    "sniffing": "neutral",  # a pause: the head sweeps side to side
    "resting": "neutral",  # hunched and still: grooming's silhouette without its strokes
    "paw_licking": "grooming",
    "face_washing": "grooming",
    "body_licking": "grooming",
    "mid_rearing": "mid_rearing",  # unsupported, in the open
    "wall_rearing": "wall_rearing",  # supported against a wall
}
_HUNCHED = ("resting", "paw_licking", "face_washing", "body_licking")
# Grooming runs head to tail (the cephalocaudal chain): paws, then face, then the flanks.
_GROOMING_CHAIN = ("paw_licking", "face_washing", "body_licking")


@dataclass(frozen=True)
class _Bout:
    kind: Literal["neutral", "resting", "grooming", "rearing"]
    seconds: float
    phases: tuple[tuple[str, float], ...] = ()  # grooming: (activity, end within the bout, s)
    side: float = 1.0  # body licking: which flank (+1 left, -1 right)


def _behaviour_timeline(rng: np.random.Generator, seconds: float) -> list[tuple[str, float]]:
    """Alternate neutral bouts with grooming or rearing bouts; durations in seconds.

    Neutral bouts average ~9 s and grooming ~9 s, chosen one time in seven against rearing's
    ~3 s, which gives about 10 % grooming and 20 % rearing frames.
    """
    bouts: list[tuple[str, float]] = []
    total = 0.0
    while total < seconds:
        neutral = float(np.clip(rng.gamma(3.0, 3.0), 2.0, 40.0))
        if rng.random() < 1 / 7:
            behaviour, length = "grooming", float(np.clip(rng.lognormal(math.log(9), 0.4), 4, 55))
        elif rng.random() < 0.85:
            behaviour, length = "rearing", float(rng.uniform(2.0, 3.0))
        else:
            behaviour, length = "rearing", float(rng.uniform(3.0, 10.0))
        bouts += [("neutral", neutral), (behaviour, length)]
        total += neutral + length
    return bouts


def _lab_timeline(
    rng: np.random.Generator, acts: np.random.Generator, seconds: float
) -> list[_Bout]:
    """:func:`_behaviour_timeline` made like a real session: every recording of 20 s or more
    holds both behaviours, neutral bouts often contain a rest (hunched and still, as grooming
    looks in silhouette), next to a grooming or rearing bout as often as not, and each grooming
    bout runs through the grooming chain in phases of 1.5-4 s."""
    plan = _behaviour_timeline(rng, seconds)
    for needed, shortest in (("grooming", 3.0), ("rearing", 2.0)):
        starts = np.cumsum([0.0] + [seconds for _, seconds in plan[:-1]])
        shown = [kind for (kind, _), start in zip(plan, starts, strict=True) if start < seconds - 4]
        if needed in shown:
            continue
        # Into the longest neutral bout that starts early enough, without moving later bouts.
        room = [
            i
            for i, ((kind, n), start) in enumerate(zip(plan, starts, strict=True))
            if kind == "neutral" and n >= shortest + 2 and start + 1 < seconds - 4
        ]
        if room:
            i = max(room, key=lambda j: plan[j][1])
            n = plan[i][1]
            length = min(2 * shortest, n - 2)
            plan[i : i + 1] = [("neutral", 1.0), (needed, length), ("neutral", n - 1 - length)]
    bouts: list[_Bout] = []
    for kind, length in plan:
        if kind == "neutral" and length > 4 and acts.random() < 0.45:
            rest = min(0.7 * length, float(acts.uniform(3.0, 12.0)))
            walk = _Bout("neutral", length - rest)
            pair = (
                [_Bout("resting", rest), walk]
                if acts.random() < 0.5
                else [walk, _Bout("resting", rest)]
            )
            bouts += pair
        elif kind == "grooming":
            phases, end, step = [], 0.0, int(acts.integers(len(_GROOMING_CHAIN)))
            while end < length:
                end = min(length, end + float(acts.uniform(1.5, 4.0)))
                phases.append((_GROOMING_CHAIN[step % len(_GROOMING_CHAIN)], end))
                step += 1
            bouts.append(_Bout("grooming", length, tuple(phases), float(acts.choice([-1.0, 1.0]))))
        else:
            bouts.append(_Bout(kind, length))  # type: ignore[arg-type]
    return bouts


# --- the mouse ----------------------------------------------------------------------------------


@dataclass
class _Mouse:
    x: float
    y: float
    heading: float  # radians, 0 = +x in arena coordinates
    body: float  # body length in pixels
    stroke_hz: float = 3.5  # grooming strokes per second: each mouse its own
    lick_side: float = 1.0  # body licking: +1 the left flank, -1 the right
    coat: np.ndarray | None = None  # grey-level offsets over body and head (:func:`_coat`)


def _coat(rng: np.random.Generator, body: float) -> np.ndarray:
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


def _ramp(t: float, length: float, rise: float) -> float:
    """Shape blend 0→1→0 across a bout, so postures change over a few frames, not in one."""
    return float(np.clip(min(t, length - t) / rise, 0.0, 1.0))


def _mouse_parts(
    mouse: _Mouse, activity: str, blend: float, t: float
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
    if activity in _HUNCHED:
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


def _tail(mouse: _Mouse, t: float) -> list[tuple[float, float]]:
    L = mouse.body
    c, s = math.cos(mouse.heading), math.sin(mouse.heading)
    points = []
    for i in range(8):
        along = 0.5 * L + 0.1 * L * i
        sway = 0.06 * L * math.sin(2 * math.pi * 0.6 * t + 0.7 * i) * (i / 7)
        points.append((mouse.x - along * c - sway * s, mouse.y - along * s + sway * c))
    return points


# --- the scene ----------------------------------------------------------------------------------


class _Scene:
    """Background, lighting and the arena-to-image transform of one recording.

    ``rng`` draws what every condition draws, in the same order; ``look`` draws only for the
    real-footage options, so switching those on or off changes neither the walk nor the noise.
    """

    def __init__(
        self,
        condition: Condition,
        polarity: Polarity,
        rng: np.random.Generator,
        look: np.random.Generator,
    ):
        self.condition = condition
        w, h = condition.frame_size
        side = condition.arena_side
        angle = math.radians(condition.arena_angle_deg)
        cx, cy = condition.arena_center
        # Arena coordinates (0..side) → image pixels: rotate about the arena centre, then shift.
        rotation = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        shift = np.array([cx, cy]) - rotation @ np.array([side / 2, side / 2])
        self.matrix = np.column_stack([rotation, shift])
        self.angle_deg = condition.arena_angle_deg

        dark_mouse = polarity == "dark_on_light"
        floor = rng.uniform(205, 235) if dark_mouse else rng.uniform(35, 60)
        if condition.floor_level is not None:
            floor = condition.floor_level + look.uniform(-8, 8)
        wall = floor - 35 if dark_mouse else floor + 45
        if condition.wall_level is not None:
            wall = condition.wall_level + look.uniform(-5, 5)
        self.mouse_level = rng.uniform(35, 60) if dark_mouse else rng.uniform(200, 230)
        self.mouse_contrast = abs(floor - self.mouse_level)
        self.ear_level = self.mouse_level + (25 if dark_mouse else -25)
        self.paw_level = (self.mouse_level + floor) / 2

        surround = rng.uniform(90, 150)  # drawn even when overridden: the stream stays the same
        if condition.surround_level is not None:
            surround = condition.surround_level + look.uniform(-5, 5)
        canvas = np.full((h, w), surround, np.float32)
        if condition.clutter:
            self._draw_clutter(canvas, rng)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        depth, lit = self._arena_depth(xx, yy, look)
        wall_width = condition.wall_fraction * side
        # Anti-aliased coverage of the arena (rim inwards) and of its floor.
        rim_cover = np.clip(depth + 0.5, 0.0, 1.0)
        floor_cover = np.clip(depth - wall_width + 0.5, 0.0, 1.0)
        self.wall_band = rim_cover - floor_cover
        if condition.arena_shape == "square" and not condition.wall_faces:
            outer = self.arena_polygon(0.0)
            inner = self.arena_polygon(wall_width)
            cv2.fillPoly(canvas, [outer], float(wall), cv2.LINE_AA)
            cv2.fillPoly(canvas, [inner], float(floor), cv2.LINE_AA)
        else:
            walls: np.float32 | np.ndarray = np.float32(wall)
            if condition.wall_faces:
                # Each face catches the lamp its own way, and darkens down towards the floor.
                walls = wall * (0.55 + 0.45 * lit) * (1.0 - 0.2 * np.clip(depth / wall_width, 0, 1))
            canvas += rim_cover * (walls - canvas)
            canvas += floor_cover * (floor - canvas)
        if condition.bedding:
            canvas += floor_cover * self._bedding(look, (h, w), condition.bedding)
        if condition.floor_lines:
            line = floor - 60 if dark_mouse else floor + 50
            for a, b in (
                ((side / 2, 0.1 * side), (side / 2, 0.9 * side)),
                ((0.1 * side, side / 2), (0.9 * side, side / 2)),
            ):
                cv2.line(canvas, self.to_image(a), self.to_image(b), float(line), 2, cv2.LINE_AA)
        self.background = canvas

        side_lamp = 1.0 - condition.light_gradient * (xx / w) * rng.uniform(0.8, 1.2)
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        vignette = 1.0 - condition.vignette * r2 / 2
        self.lighting = (side_lamp * vignette * rng.uniform(0.85, 1.08)).astype(np.float32)
        self.tint = np.array(condition.tint, np.float32)
        self.shadow_direction = look.uniform(-math.pi, math.pi)  # away from the lamp
        self.lens_maps, self.lens_model = None, None
        if condition.lens:
            # Frame pixel u shows the drawn scene at distort(u): a drawn point p lands on
            # undistort(p), which is exact for the truth (cv2.undistortPoints).
            focal = math.hypot(w, h) / 2
            camera = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1]], np.float64)
            distortion = np.array([condition.lens, 0, 0, 0], np.float64)
            self.lens_model = (camera, distortion)
            self.lens_maps = cv2.initUndistortRectifyMap(
                camera, distortion, None, camera, (w, h), cv2.CV_32FC1
            )

    def to_image(self, point: tuple[float, float]) -> tuple[int, int]:
        x, y = self.matrix @ np.array([point[0], point[1], 1.0])
        return int(round(x)), int(round(y))

    def arena_polygon(self, inset: float) -> np.ndarray:
        side = self.condition.arena_side
        corners = [
            (inset, inset),
            (side - inset, inset),
            (side - inset, side - inset),
            (inset, side - inset),
        ]
        return np.array([self.to_image(p) for p in corners], np.int32)

    def _arena_depth(
        self, xx: np.ndarray, yy: np.ndarray, look: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each pixel's distance in from the arena's rim (negative outside), in pixels, and how
        much lamp light its wall catches, 0..1: one value per side of a square, smooth in a ring."""
        side = self.condition.arena_side
        inverse = cv2.invertAffineTransform(self.matrix)
        # Arena coordinates about the arena's centre.
        ax = inverse[0, 0] * xx + inverse[0, 1] * yy + inverse[0, 2] - side / 2
        ay = inverse[1, 0] * xx + inverse[1, 1] * yy + inverse[1, 2] - side / 2
        if self.condition.arena_shape == "round":
            lamp = look.uniform(-math.pi, math.pi)
            return side / 2 - np.hypot(ax, ay), (1 + np.cos(np.arctan2(ay, ax) - lamp)) / 2
        edges = np.stack([side / 2 + ax, side / 2 + ay, side / 2 - ax, side / 2 - ay])
        return edges.min(axis=0), look.uniform(0.0, 1.0, 4)[edges.argmin(axis=0)]

    @staticmethod
    def _bedding(look: np.random.Generator, shape: tuple[int, int], spread: float) -> np.ndarray:
        """Grey-level offsets of bedding: small overlapping flakes on uneven heaps."""
        h, w = shape
        texture = np.zeros(shape, np.float32)
        n = h * w // 10  # enough flakes to cover the floor
        flakes = zip(
            look.uniform(0, w, n),
            look.uniform(0, h, n),
            look.uniform(1.5, 5.0, n),
            look.uniform(0, 180, n),
            look.normal(0, spread, n),
            strict=True,
        )
        for x, y, length, angle, level in flakes:
            box = ((float(x), float(y)), (2 * length, 0.8 * length), float(angle))
            cv2.ellipse(texture, box, float(level), -1, cv2.LINE_AA)
        heaps = cv2.GaussianBlur(look.normal(size=shape).astype(np.float32), (0, 0), 20)
        return texture + 0.5 * spread * heaps / heaps.std()

    def _draw_clutter(self, canvas: np.ndarray, rng: np.random.Generator) -> None:
        h, w = canvas.shape
        for _ in range(14):
            level = float(rng.choice([rng.uniform(10, 60), rng.uniform(170, 250)]))
            x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h))
            if rng.random() < 0.5:
                size = rng.uniform(10, 60, size=2).astype(int)
                cv2.rectangle(canvas, (x, y), (x + size[0], y + size[1]), level, -1)
            else:
                cv2.circle(canvas, (x, y), int(rng.uniform(6, 30)), level, -1, cv2.LINE_AA)
        # A cable running past the arena: long, thin and dark.
        points = np.cumsum(rng.normal(0, 12, size=(12, 2)), axis=0) + [w * 0.8, 10]
        points[:, 1] = np.linspace(0, h, 12)
        cv2.polylines(canvas, [points.astype(np.int32)], False, 20.0, 4, cv2.LINE_AA)

    def _box(self, centre: tuple[float, float], axes: tuple[float, float], angle: float) -> tuple:
        """OpenCV's rotated box of an ellipse given in arena coordinates."""
        return self.to_image(centre), (2 * axes[0], 2 * axes[1]), angle + self.angle_deg

    def _cast_shadow(self, canvas: np.ndarray, mouse: _Mouse, parts: list) -> None:
        """Darken the floor under a soft copy of the body, offset away from the lamp."""
        shade: np.ndarray = np.zeros(canvas.shape, np.float32)
        dx = 0.12 * mouse.body * math.cos(self.shadow_direction)
        dy = 0.12 * mouse.body * math.sin(self.shadow_direction)
        for (x, y), axes, angle, _ in parts:
            cv2.ellipse(shade, self._box((x + dx, y + dy), axes, angle), 1.0, -1, cv2.LINE_AA)
        shade = cv2.GaussianBlur(shade, (0, 0), 0.08 * mouse.body)
        canvas *= 1.0 - self.condition.shadow * shade

    def _reflect(self, canvas: np.ndarray, mouse: _Mouse, parts: list) -> None:
        """Blend the body, mirrored in the floor's edges, into the wall band.

        A mirror image lies as far beyond the edge as the mouse is inside it, so it reaches into
        the band only while the mouse is close to that wall.
        """
        mirror = np.zeros(canvas.shape, np.float32)
        for (px, py), (nx, ny) in _floor_edges(mouse, self.condition):
            line = 2 * (math.degrees(math.atan2(ny, nx)) + 90)
            for (x, y), axes, angle, _ in parts:
                depth = (x - px) * nx + (y - py) * ny
                centre = (x - 2 * depth * nx, y - 2 * depth * ny)
                cv2.ellipse(mirror, self._box(centre, axes, line - angle), 1.0, -1, cv2.LINE_AA)
        alpha = self.condition.reflection * self.wall_band * cv2.GaussianBlur(mirror, (0, 0), 1.5)
        canvas += alpha * (self.mouse_level - canvas)

    def _dress(self, canvas: np.ndarray, mouse: _Mouse, furred: list) -> None:
        """Lay the mouse's coat over its body and head, as they lie in this frame."""
        coat = mouse.coat
        assert coat is not None  # render dresses coated mice only
        centre = coat.shape[0] // 2
        c, s = math.cos(mouse.heading), math.sin(mouse.heading)
        # Coat pixel (u, v) → arena (the body frame turned by the heading) → image.
        arena = np.array(
            [
                [c, -s, mouse.x - centre * (c - s)],
                [s, c, mouse.y - centre * (s + c)],
            ]
        )
        linear = self.matrix[:, :2]
        to_image = np.column_stack(
            [linear @ arena[:, :2], linear @ arena[:, 2] + self.matrix[:, 2]]
        )
        h, w = canvas.shape
        laid = cv2.warpAffine(coat, to_image, (w, h), flags=cv2.INTER_LINEAR)
        cover = np.zeros(canvas.shape, np.float32)
        for centre_xy, axes, angle, _ in furred:
            cv2.ellipse(cover, self._box(centre_xy, axes, angle), 1.0, -1, cv2.LINE_AA)
        canvas += cover * laid

    def render(
        self,
        mouse: _Mouse,
        activity: str,
        blend: float,
        t: float,
        rng: np.random.Generator,
        noise_sigma: float,
        gain: float = 1.0,
    ) -> tuple[np.ndarray, float, float]:
        """Draw one frame; return it (BGR uint8) and the mouse's area centroid (tail excluded).

        Shadow and reflection are drawn on the background only: the centroid is the body's.
        ``gain`` scales the light (flicker).
        """
        canvas = self.background.copy()
        parts = _mouse_parts(mouse, activity, blend, t)
        if self.condition.shadow:
            self._cast_shadow(canvas, mouse, parts)
        if self.condition.reflection:
            self._reflect(canvas, mouse, parts)
        mask = np.zeros(canvas.shape, np.uint8)
        tail = np.array([self.to_image(p) for p in _tail(mouse, t)], np.int32)
        thickness = max(1, int(round(mouse.body * 0.035)))
        cv2.polylines(canvas, [tail], False, float(self.paw_level), thickness, cv2.LINE_AA)

        def draw(items: list) -> None:
            for centre, axes, angle, part in items:
                level = {"ear": self.ear_level, "paw": self.paw_level}.get(part, self.mouse_level)
                box = self._box(centre, axes, angle)
                cv2.ellipse(canvas, box, float(level), -1, cv2.LINE_AA)
                cv2.ellipse(mask, box, 255, -1)

        furred = [p for p in parts if p[3] in ("body", "head")]
        draw(furred)
        if mouse.coat is not None:
            self._dress(canvas, mouse, furred)
        draw([p for p in parts if p[3] not in ("body", "head")])  # ears and paws lie on top
        moments = cv2.moments(mask, binaryImage=True)
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]

        image = canvas * (self.lighting * gain if gain != 1.0 else self.lighting)
        image += rng.normal(0.0, noise_sigma, size=image.shape).astype(np.float32)
        k = self.condition.blur_kernel
        image = cv2.GaussianBlur(image, (k, k), 0)
        bgr = np.clip(image[..., None] * self.tint, 0, 255).astype(np.uint8)
        if self.lens_maps is not None:
            bgr = cv2.remap(bgr, *self.lens_maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            point = np.array([[[cx, cy]]], np.float64)
            assert self.lens_model is not None  # set with lens_maps
            cx, cy = cv2.undistortPoints(point, *self.lens_model, P=self.lens_model[0])[0, 0]
        if self.condition.jpeg_quality is not None:
            quality = [cv2.IMWRITE_JPEG_QUALITY, self.condition.jpeg_quality]
            bgr = cv2.imdecode(cv2.imencode(".jpg", bgr, quality)[1], cv2.IMREAD_COLOR)
        return bgr, float(cx), float(cy)


# --- one recording ------------------------------------------------------------------------------


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
    skips one: the frames and their truth stay in step.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if polarity not in ("dark_on_light", "light_on_dark"):
        raise ValueError(f"polarity must be 'dark_on_light' or 'light_on_dark', got {polarity!r}")
    rng = np.random.default_rng(seed)
    # The activities' details and the camera's faults draw from their own stream.
    acts = np.random.default_rng([seed, 2])
    scene = _Scene(condition, polarity, rng, np.random.default_rng([seed, 1]))
    side = condition.arena_side
    wall = condition.wall_fraction * side
    body = condition.body_fraction * side * rng.uniform(0.85, 1.15)
    noise_sigma = condition.noise_sigma * rng.uniform(0.8, 1.3)
    speed = body * rng.uniform(0.9, 1.4)  # body lengths per second
    margin = wall + 0.3 * body
    mouse = _Mouse(
        x=rng.uniform(margin, side - margin),
        y=rng.uniform(margin, side - margin),
        heading=rng.uniform(-math.pi, math.pi),
        body=body,
        stroke_hz=float(acts.uniform(2.8, 4.5)),
        coat=_coat(np.random.default_rng([seed, 3]), body) * scene.mouse_contrast,
    )
    flicker_hz, flicker_phase = acts.uniform(0.3, 2.0), acts.uniform(0, 2 * math.pi)
    if condition.arena_shape == "round":
        keep_inside, next_waypoint, along_wall = _keep_inside_ring, _ring_waypoint, _along_ring
    else:
        keep_inside, next_waypoint, along_wall = _keep_inside, _next_waypoint, _along_wall

    dt = 1.0 / condition.fps
    n_frames = int(round(seconds * condition.fps))
    timeline = _lab_timeline(rng, acts, seconds)
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
                facing, distance = _nearest_wall(mouse, condition)
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
        activity, blend = _activity(bout, current, t_bout, pause_left, pause_length)
        if keep_inside(mouse, _mouse_parts(mouse, activity, blend, t), wall, side) and target:
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


def _activity(
    bout: _Bout, behaviour: str, t_bout: float, pause_left: float, pause_length: float
) -> tuple[str, float]:
    """What the mouse does this frame and how far its posture is blended in (0..1)."""
    if bout.kind == "grooming":
        phase = next((a for a, end in bout.phases if t_bout < end), bout.phases[-1][0])
        return phase, _ramp(t_bout, bout.seconds, 0.3)
    if bout.kind == "resting":
        return "resting", _ramp(t_bout, bout.seconds, 0.4)
    if bout.kind == "neutral":
        if pause_left <= 0:
            return "walking", 0.0
        # Long sits (wall_sitting) are rests; ordinary pauses are spent sniffing.
        activity = "resting" if pause_length > 3.0 else "sniffing"
        return activity, _ramp(pause_length - pause_left, pause_length, 0.3)
    return behaviour, _ramp(t_bout, bout.seconds, 0.3)


def _nearest_wall(mouse: _Mouse, condition: Condition) -> tuple[float, float]:
    """Heading that faces the wall nearest the mouse, and the mouse's distance to its rim."""
    side = condition.arena_side
    if condition.arena_shape == "round":
        dx, dy = mouse.x - side / 2, mouse.y - side / 2
        return math.atan2(dy, dx), side / 2 - math.hypot(dx, dy)
    distances = {
        0.0: side - mouse.x,
        math.pi: mouse.x,
        math.pi / 2: side - mouse.y,
        -math.pi / 2: mouse.y,
    }
    return min(distances.items(), key=lambda kv: kv[1])


def _floor_edges(mouse: _Mouse, condition: Condition) -> list[tuple[tuple, tuple]]:
    """``(point, inward normal)`` of the floor's edges a mouse can be mirrored in."""
    side = condition.arena_side
    wall = condition.wall_fraction * side
    if condition.arena_shape == "round":
        # A curved wall mirrors like its tangent at the point nearest the mouse.
        facing, _ = _nearest_wall(mouse, condition)
        ux, uy = math.cos(facing), math.sin(facing)
        radius = side / 2 - wall
        return [((side / 2 + radius * ux, side / 2 + radius * uy), (-ux, -uy))]
    return [
        ((wall, 0.0), (1.0, 0.0)),
        ((side - wall, 0.0), (-1.0, 0.0)),
        ((0.0, wall), (0.0, 1.0)),
        ((0.0, side - wall), (0.0, -1.0)),
    ]


def _keep_inside(mouse: _Mouse, parts: list, wall: float, side: float) -> bool:
    """Shift the mouse so every part stays on the floor; return whether a wall stopped it."""
    blocked = False
    for axis in (0, 1):
        low, high = math.inf, -math.inf
        for centre, (a, b), angle, _ in parts:
            c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
            # Half-extent of a rotated ellipse along x (axis 0) or y (axis 1).
            reach = math.hypot(a * c, b * s) if axis == 0 else math.hypot(a * s, b * c)
            low, high = min(low, centre[axis] - reach), max(high, centre[axis] + reach)
        shift = max(0.0, wall - low) - max(0.0, high - (side - wall))
        if axis == 0:
            mouse.x += shift
        else:
            mouse.y += shift
        blocked = blocked or shift != 0.0
    return blocked


def _along_wall(
    mouse: _Mouse, rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """A goal a few body lengths further along the wall nearest the mouse, ahead of it."""
    near, far = wall + 0.28 * body, side - wall - 0.28 * body
    edges = {
        (mouse.x, 0): near,
        (side - mouse.x, 0): far,
        (mouse.y, 1): near,
        (side - mouse.y, 1): far,
    }
    (_, axis), edge = min(edges.items(), key=lambda kv: kv[0][0])
    position = mouse.y if axis == 0 else mouse.x
    ahead = math.sin(mouse.heading) if axis == 0 else math.cos(mouse.heading)
    direction = 1.0 if ahead > 0 or (ahead == 0 and rng.random() < 0.5) else -1.0
    along = float(np.clip(position + direction * rng.uniform(2, 5) * body, near, far))
    return (edge, along) if axis == 0 else (along, edge)


def _next_waypoint(
    rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """Mice hug the walls (thigmotaxis): most waypoints lie along a wall or in a corner."""
    near, far = wall + 0.28 * body, side - wall - 0.28 * body
    roll = rng.random()
    if roll < 0.2:
        return float(rng.choice([near, far])), float(rng.choice([near, far]))
    if roll < 0.65:
        along = float(rng.uniform(near, far))
        edge = float(rng.choice([near, far]))
        return (along, edge) if rng.random() < 0.5 else (edge, along)
    return float(rng.uniform(near + body, far - body)), float(rng.uniform(near + body, far - body))


def _keep_inside_ring(mouse: _Mouse, parts: list, wall: float, side: float) -> bool:
    """Round arena: shift the mouse inwards until every part is on the floor; return whether a
    wall stopped it."""
    radius = side / 2 - wall
    offsets = [(x - mouse.x, y - mouse.y, axes, math.radians(a)) for (x, y), axes, a, _ in parts]
    blocked = False
    for _ in range(5):  # each push is along one part's radius, so a few rounds settle the rest
        excess, push = 0.0, (0.0, 0.0)
        for ox, oy, (a, b), angle in offsets:
            px, py = mouse.x + ox - side / 2, mouse.y + oy - side / 2
            r = math.hypot(px, py)
            if r == 0.0:
                continue
            # Half-extent of the rotated ellipse along its radius (the wall's normal there).
            along = (px * math.cos(angle) + py * math.sin(angle)) / r
            across = (py * math.cos(angle) - px * math.sin(angle)) / r
            reach = math.hypot(a * along, b * across)
            if r + reach - radius > excess:
                excess, push = r + reach - radius, (px / r, py / r)
        if excess == 0.0:
            break
        mouse.x -= excess * push[0]
        mouse.y -= excess * push[1]
        blocked = True
    return blocked


def _along_ring(
    mouse: _Mouse, rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """Round arena: a goal a few body lengths further along the wall, ahead of the mouse."""
    radius = side / 2 - wall - 0.28 * body
    around = math.atan2(mouse.y - side / 2, mouse.x - side / 2)
    ahead = math.sin(mouse.heading - around)  # > 0: the heading turns anticlockwise around
    direction = 1.0 if ahead > 0 or (ahead == 0 and rng.random() < 0.5) else -1.0
    around += direction * rng.uniform(2, 5) * body / radius
    return side / 2 + radius * math.cos(around), side / 2 + radius * math.sin(around)


def _ring_waypoint(
    rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """Round arena: most waypoints lie along the wall (thigmotaxis), the rest in the open."""
    near = side / 2 - wall - 0.28 * body
    around = rng.uniform(-math.pi, math.pi)
    radius = near if rng.random() < 0.65 else max(0.0, near - body) * math.sqrt(rng.random())
    return side / 2 + radius * math.cos(around), side / 2 + radius * math.sin(around)


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


# --- the lab ------------------------------------------------------------------------------------


def _write_one(job: dict) -> int:
    """:func:`write_recording` of one of :func:`synthesize_lab`'s jobs (in a worker process)."""
    return write_recording(**job)


def _one_thread() -> None:
    # A worker per core already: OpenCV's own threads would only compete with the other workers.
    cv2.setNumThreads(1)


def synthesize_lab(
    raw_dir: str | Path,
    truth_dir: str | Path,
    *,
    videos_per_condition: int,
    minutes: float,
    seed: int,
    light_mouse_fraction: float = 0.25,
    conditions: tuple[Condition, ...] = CONDITIONS,
    workers: int = 1,
) -> pd.DataFrame:
    """Write ``videos_per_condition`` recordings per condition; return the lab's inventory.

    Layout: ``raw_dir/<condition>/<video_id>.mp4`` and ``.csv`` (labels),
    ``truth_dir/<video_id>.csv`` (centres, behaviour) and ``truth_dir/lab.csv`` (inventory).
    Lengths vary ±30 % around ``minutes`` so recordings are not all alike. Video ids are
    ``c<condition number>_v<index>``. ``workers`` processes draw recordings at once; each
    recording depends only on its own seed, so the bytes are the same with any number.
    """
    if videos_per_condition < 1:
        raise ValueError(f"videos_per_condition must be at least 1, got {videos_per_condition}")
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    rows: list[dict[str, object]] = []
    jobs: list[dict[str, Any]] = []
    for condition in conditions:
        c_index = _condition_number(condition)
        for v_index in range(videos_per_condition):
            rng = np.random.default_rng([seed, c_index, v_index])
            video_seed = int(rng.integers(2**31))
            polarity: Polarity = (
                "light_on_dark" if rng.random() < light_mouse_fraction else "dark_on_light"
            )
            seconds = 60 * minutes * float(rng.uniform(0.7, 1.3))
            video_id = f"c{c_index}_v{v_index:02d}"
            jobs.append(
                {
                    "video_path": raw_dir / condition.name / f"{video_id}.mp4",
                    "label_path": raw_dir / condition.name / f"{video_id}.csv",
                    "truth_path": truth_dir / f"{video_id}.csv",
                    "condition": condition,
                    "seconds": seconds,
                    "seed": video_seed,
                    "polarity": polarity,
                }
            )
            rows.append(
                {
                    "video_id": video_id,
                    "condition": condition.name,
                    "fps": condition.fps,
                    "polarity": polarity,
                    "seed": video_seed,
                }
            )
    workers = min(workers, len(jobs))
    if workers == 1:
        frames = [_write_one(job) for job in jobs]
    else:
        # Spawned, not forked: the caller may be running TensorFlow's threads. The longest
        # recordings (most pixels to draw) go first, so no worker is left with one at the end.
        order = sorted(
            range(len(jobs)),
            key=lambda i: (
                -jobs[i]["seconds"]
                * jobs[i]["condition"].fps
                * math.prod(jobs[i]["condition"].frame_size)
            ),
        )
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            futures = {i: pool.submit(_write_one, jobs[i]) for i in order}
            frames = [futures[i].result() for i in range(len(jobs))]
    for row, count in zip(rows, frames, strict=True):
        row["frames"] = count
    inventory = pd.DataFrame(rows)[["video_id", "condition", "fps", "frames", "polarity", "seed"]]
    write_csv(inventory, truth_dir / "lab.csv")
    return inventory


def truth_labels(truth: pd.DataFrame) -> pd.DataFrame:
    """``frame, grooming, rearing`` (0/1) from a ground-truth table's ``behaviour`` column."""
    return pd.DataFrame(
        {
            "frame": truth.frame,
            "grooming": (truth.behaviour == "grooming").astype(np.int8),
            "rearing": truth.behaviour.str.endswith("rearing").astype(np.int8),
        }
    )
