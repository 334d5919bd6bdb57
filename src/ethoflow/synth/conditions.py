"""The synthetic lab's camera set-ups: the lab's four, one held out of training, the real-like
ones and a new set-up unlike the lab's, each a :class:`Condition`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Polarity = Literal["dark_on_light", "light_on_dark"]

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
    # Radial distortion k1 over the half-diagonal, as drawn (scene.py applies OpenCV's model in
    # reverse): > 0 barrel (straight lines bow outwards), < 0 pincushion.
    lens: float = 0.0
    jpeg_quality: int | None = None  # each frame through JPEG first (an MJPEG camera)
    frame_drops: float = 0.0  # share of frames the camera skips
    # The camera tilted off straight down, about the image's x axis: the floor's image y axis
    # (and everything on the floor) is foreshortened by cos(tilt).
    tilt_deg: float = 0.0
    # The mouse every recording shows; None: a light one in the lab's light_mouse_fraction.
    polarity: Polarity | None = None


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
    # grey image, mains flicker, pincushion distortion, compression and the odd dropped frame.
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


# A set-up the lab's champions were not trained on and label badly, to adapt them to: a home
# cage under infrared light filmed obliquely (as the real sleap_minimal_top.mp4) through a wide
# lens, zoomed out, a white mouse on dark bedding. The tilt breaks the silhouette features: the
# blob's length and width now depend on the mouse's heading (bench/bench_new_setup.py).
NEW_SETUP = Condition(
    name="ir_oblique_home_cage",
    fps=30,
    frame_size=(640, 512),  # the real camera's 1280×1024, halved
    arena_center=(320, 256),
    arena_side=500,
    arena_angle_deg=0,
    light_gradient=0.2,
    vignette=0.4,
    tint=(1.0, 1.0, 1.0),
    clutter=False,
    floor_lines=False,
    noise_sigma=6,
    blur_kernel=3,
    old_label_format=False,
    wall_fraction=0.04,
    wall_faces=True,
    floor_level=70,
    surround_level=25,
    bedding=25,
    shadow=0.1,
    body_fraction=0.12,
    flicker=0.03,
    lens=0.2,  # the floor's edges bow outwards, as the real cage's do (drawn: > 0)
    tilt_deg=40,
    polarity="light_on_dark",
)

_ALL_CONDITIONS = (*CONDITIONS, HELD_OUT_CONDITION, *REAL_LIKE_CONDITIONS, NEW_SETUP)


def condition_by_name(name: str) -> Condition:
    """Return the :class:`Condition` called ``name``."""
    for condition in _ALL_CONDITIONS:
        if condition.name == name:
            return condition
    known = ", ".join(c.name for c in _ALL_CONDITIONS)
    raise ValueError(f"unknown recording condition {name!r}; known: {known}")


def condition_number(condition: Condition) -> int:
    """``condition_<n>`` → n; the real-like conditions and the new set-up are numbered on from
    the lab's."""
    if condition.name.startswith("condition_"):
        return int(condition.name.removeprefix("condition_"))
    names = [c.name for c in (*REAL_LIKE_CONDITIONS, NEW_SETUP)]
    return len(CONDITIONS) + 2 + names.index(condition.name)
