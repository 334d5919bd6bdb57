"""A synthetic lab: top-view mouse recordings with per-frame labels and ground-truth centres.

Three recording conditions mirror the lab's cameras (frame rate, frame size, arena placement,
clutter, lighting, label format). A mouse walks along the walls and across the open field, pauses,
grooms (in-place body contraction with head and paw motion) and rears (the body foreshortens as it
rises, in the open and against the walls). Everything is drawn from one seeded generator per video,
so the same seed gives the same frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from ethoflow.io.atomic import atomic_path, write_csv

Polarity = Literal["dark_on_light", "light_on_dark"]
Behaviour = Literal["neutral", "grooming", "mid_rearing", "wall_rearing"]


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

_WALL_FRACTION = 0.03  # wall band seen from above, as a share of the arena side
_BODY_FRACTION = 0.2  # mouse body length (nose to tail base) as a share of the arena side
_OLD_HEADERS = (
    ("Grooming", "Mid Rearing", "Wall Rearing"),
    ("grooming", "mid_rearing", "wall_rearing"),
    (" Grooming", "MidRearing ", "Wall  Rearing"),
    ("GROOMING", "Mid rearing", "Wall-Rearing"),
)
_NEW_HEADERS = (("Grooming", "Rearing"), ("grooming", "rearing"), ("Grooming ", " Rearing"))


def condition_by_name(name: str) -> Condition:
    """Return the :class:`Condition` called ``name``."""
    for condition in (*CONDITIONS, HELD_OUT_CONDITION):
        if condition.name == name:
            return condition
    known = ", ".join(c.name for c in CONDITIONS)
    raise ValueError(f"unknown recording condition {name!r}; known: {known}")


# --- behaviour timeline -------------------------------------------------------------------------


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


# --- the mouse ----------------------------------------------------------------------------------


@dataclass
class _Mouse:
    x: float
    y: float
    heading: float  # radians, 0 = +x in arena coordinates
    body: float  # body length in pixels


def _ramp(t: float, length: float, rise: float) -> float:
    """Shape blend 0→1→0 across a bout, so postures change over a few frames, not in one."""
    return float(np.clip(min(t, length - t) / rise, 0.0, 1.0))


def _mouse_parts(
    mouse: _Mouse, behaviour: str, blend: float, t: float
) -> list[tuple[tuple[float, float], tuple[float, float], float, str]]:
    """Ellipses ``(centre, half-axes, angle, part)`` of the mouse in arena coordinates."""
    L = mouse.body
    c, s = math.cos(mouse.heading), math.sin(mouse.heading)

    def at(forward: float, side: float = 0.0) -> tuple[float, float]:
        return (mouse.x + forward * c - side * s, mouse.y + forward * s + side * c)

    # Neutral posture, then the behaviour's posture blended in.
    half_len, half_wid, head_fwd, head_scale = 0.5 * L, 0.24 * L, 0.52 * L, 1.0
    paws: list[tuple[float, float]] = []
    if behaviour == "grooming":
        wobble = math.sin(2 * math.pi * 3.5 * t)
        half_len += blend * (-0.15 * L + 0.02 * L * wobble)
        half_wid += blend * 0.06 * L
        head_fwd += blend * (-0.2 * L + 0.05 * L * math.sin(2 * math.pi * 1.7 * t))
        paw_fwd = head_fwd + 0.12 * L
        paws = [(paw_fwd + 0.07 * L * wobble, 0.09 * L), (paw_fwd - 0.07 * L * wobble, -0.09 * L)]
    elif behaviour in ("mid_rearing", "wall_rearing"):
        bob = 0.015 * L * math.sin(2 * math.pi * 0.8 * t)
        half_len += blend * (-0.22 * L + bob)
        half_wid += blend * 0.03 * L
        head_fwd += blend * -0.24 * L
        head_scale += blend * 0.18  # the head is nearer the camera
        paws = [(head_fwd + 0.16 * L, 0.12 * L), (head_fwd + 0.16 * L, -0.12 * L)]
    angle = math.degrees(mouse.heading)
    parts = [
        (at(0.0), (half_len, half_wid), angle, "body"),
        (at(head_fwd), (0.2 * L * head_scale, 0.14 * L * head_scale), angle, "head"),
        (at(head_fwd - 0.08 * L, 0.11 * L), (0.05 * L, 0.05 * L), 0.0, "ear"),
        (at(head_fwd - 0.08 * L, -0.11 * L), (0.05 * L, 0.05 * L), 0.0, "ear"),
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
    """Background, lighting and the arena-to-image transform of one recording."""

    def __init__(self, condition: Condition, polarity: Polarity, rng: np.random.Generator):
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
        wall = floor - 35 if dark_mouse else floor + 45
        self.mouse_level = rng.uniform(35, 60) if dark_mouse else rng.uniform(200, 230)
        self.ear_level = self.mouse_level + (25 if dark_mouse else -25)
        self.paw_level = (self.mouse_level + floor) / 2

        canvas = np.full((h, w), rng.uniform(90, 150), np.float32)
        if condition.clutter:
            self._draw_clutter(canvas, rng)
        outer = self.arena_polygon(0.0)
        inner = self.arena_polygon(_WALL_FRACTION * side)
        cv2.fillPoly(canvas, [outer], float(wall), cv2.LINE_AA)
        cv2.fillPoly(canvas, [inner], float(floor), cv2.LINE_AA)
        if condition.floor_lines:
            line = floor - 60 if dark_mouse else floor + 50
            for a, b in (
                ((side / 2, 0.1 * side), (side / 2, 0.9 * side)),
                ((0.1 * side, side / 2), (0.9 * side, side / 2)),
            ):
                cv2.line(canvas, self.to_image(a), self.to_image(b), float(line), 2, cv2.LINE_AA)
        self.background = canvas

        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        side_lamp = 1.0 - condition.light_gradient * (xx / w) * rng.uniform(0.8, 1.2)
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        vignette = 1.0 - condition.vignette * r2 / 2
        self.lighting = (side_lamp * vignette * rng.uniform(0.85, 1.08)).astype(np.float32)
        self.tint = np.array(condition.tint, np.float32)

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

    def render(
        self,
        mouse: _Mouse,
        behaviour: str,
        blend: float,
        t: float,
        rng: np.random.Generator,
        noise_sigma: float,
    ) -> tuple[np.ndarray, float, float]:
        """Draw one frame; return it (BGR uint8) and the mouse's area centroid (tail excluded)."""
        canvas = self.background.copy()
        mask = np.zeros(canvas.shape, np.uint8)
        tail = np.array([self.to_image(p) for p in _tail(mouse, t)], np.int32)
        thickness = max(1, int(round(mouse.body * 0.035)))
        cv2.polylines(canvas, [tail], False, float(self.paw_level), thickness, cv2.LINE_AA)
        for centre, axes, angle, part in _mouse_parts(mouse, behaviour, blend, t):
            level = {"ear": self.ear_level, "paw": self.paw_level}.get(part, self.mouse_level)
            box = (self.to_image(centre), (2 * axes[0], 2 * axes[1]), angle + self.angle_deg)
            cv2.ellipse(canvas, box, float(level), -1, cv2.LINE_AA)
            cv2.ellipse(mask, box, 255, -1)
        moments = cv2.moments(mask, binaryImage=True)
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]

        image = canvas * self.lighting
        image += rng.normal(0.0, noise_sigma, size=image.shape).astype(np.float32)
        k = self.condition.blur_kernel
        image = cv2.GaussianBlur(image, (k, k), 0)
        bgr = np.clip(image[..., None] * self.tint, 0, 255).astype(np.uint8)
        return bgr, cx, cy


# --- one recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthFrame:
    frame: int
    x: float
    y: float
    behaviour: str


def render_recording(
    condition: Condition, *, seconds: float, seed: int, polarity: Polarity = "dark_on_light"
) -> Iterator[tuple[np.ndarray, TruthFrame]]:
    """Yield ``(frame, truth)`` for each frame of one synthetic recording, one at a time."""
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if polarity not in ("dark_on_light", "light_on_dark"):
        raise ValueError(f"polarity must be 'dark_on_light' or 'light_on_dark', got {polarity!r}")
    rng = np.random.default_rng(seed)
    scene = _Scene(condition, polarity, rng)
    side = condition.arena_side
    wall = _WALL_FRACTION * side
    body = _BODY_FRACTION * side * rng.uniform(0.85, 1.15)
    noise_sigma = condition.noise_sigma * rng.uniform(0.8, 1.3)
    speed = body * rng.uniform(0.9, 1.4)  # body lengths per second
    margin = wall + 0.3 * body
    mouse = _Mouse(
        x=rng.uniform(margin, side - margin),
        y=rng.uniform(margin, side - margin),
        heading=rng.uniform(-math.pi, math.pi),
        body=body,
    )

    dt = 1.0 / condition.fps
    n_frames = int(round(seconds * condition.fps))
    timeline = _behaviour_timeline(rng, seconds)
    bout_index, bout_start = 0, 0.0
    target: tuple[float, float] | None = None
    pause_left = 0.0
    current = "neutral"
    for i in range(n_frames):
        t = i * dt
        while t >= bout_start + timeline[bout_index][1]:
            bout_start += timeline[bout_index][1]
            bout_index += 1
            current = timeline[bout_index][0]
            if current == "rearing":
                # A rear next to a wall is a wall rear: the mouse turns to face the wall.
                distances = {
                    0.0: side - mouse.x,
                    math.pi: mouse.x,
                    math.pi / 2: side - mouse.y,
                    -math.pi / 2: mouse.y,
                }
                facing, distance = min(distances.items(), key=lambda kv: kv[1])
                if distance < wall + 0.6 * body:
                    current = "wall_rearing"
                    mouse.heading = facing + rng.normal(0, 0.15)
                else:
                    current = "mid_rearing"
        kind, length = timeline[bout_index]
        t_bout = t - bout_start
        if kind == "neutral":
            if pause_left > 0:
                pause_left -= dt
                mouse.heading += rng.normal(0, 0.05)
            else:
                if target is None:
                    target = _next_waypoint(rng, side, wall, body)
                dx, dy = target[0] - mouse.x, target[1] - mouse.y
                distance = math.hypot(dx, dy)
                if distance < speed * dt:
                    target = None
                    pause_left = rng.uniform(0.3, 3.0) if rng.random() < 0.5 else 0.0
                else:
                    turn = math.atan2(
                        math.sin(math.atan2(dy, dx) - mouse.heading),
                        math.cos(math.atan2(dy, dx) - mouse.heading),
                    )
                    mouse.heading += float(np.clip(turn, -4 * dt, 4 * dt))
                    step = speed * dt * max(0.2, math.cos(turn))
                    mouse.x += step * math.cos(mouse.heading)
                    mouse.y += step * math.sin(mouse.heading)
        blend = 0.0 if kind == "neutral" else _ramp(t_bout, length, 0.3)
        if _keep_inside(mouse, _mouse_parts(mouse, current, blend, t), wall, side) and target:
            # Walked into a wall: mostly it follows the wall from here (thigmotaxis).
            target = _along_wall(mouse, rng, side, wall, body) if rng.random() < 0.8 else None
        frame, cx, cy = scene.render(mouse, current, blend, t, rng, noise_sigma)
        yield frame, TruthFrame(frame=i, x=cx, y=cy, behaviour=current)


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
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), condition.fps, (w, h))
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


def synthesize_lab(
    raw_dir: str | Path,
    truth_dir: str | Path,
    *,
    videos_per_condition: int,
    minutes: float,
    seed: int,
    light_mouse_fraction: float = 0.25,
    conditions: tuple[Condition, ...] = CONDITIONS,
) -> pd.DataFrame:
    """Write ``videos_per_condition`` recordings per condition; return the lab's inventory.

    Layout: ``raw_dir/<condition>/<video_id>.mp4`` and ``.csv`` (labels),
    ``truth_dir/<video_id>.csv`` (centres, behaviour) and ``truth_dir/lab.csv`` (inventory).
    Lengths vary ±30 % around ``minutes`` so recordings are not all alike. Video ids are
    ``c<condition number>_v<index>``.
    """
    if videos_per_condition < 1:
        raise ValueError(f"videos_per_condition must be at least 1, got {videos_per_condition}")
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    rows = []
    for condition in conditions:
        c_index = int(condition.name.removeprefix("condition_"))
        for v_index in range(videos_per_condition):
            rng = np.random.default_rng([seed, c_index, v_index])
            video_seed = int(rng.integers(2**31))
            polarity: Polarity = (
                "light_on_dark" if rng.random() < light_mouse_fraction else "dark_on_light"
            )
            seconds = 60 * minutes * float(rng.uniform(0.7, 1.3))
            video_id = f"c{c_index}_v{v_index:02d}"
            frames = write_recording(
                raw_dir / condition.name / f"{video_id}.mp4",
                raw_dir / condition.name / f"{video_id}.csv",
                truth_dir / f"{video_id}.csv",
                condition=condition,
                seconds=seconds,
                seed=video_seed,
                polarity=polarity,
            )
            rows.append(
                {
                    "video_id": video_id,
                    "condition": condition.name,
                    "fps": condition.fps,
                    "frames": frames,
                    "polarity": polarity,
                    "seed": video_seed,
                }
            )
    inventory = pd.DataFrame(rows)
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
