"""Where the synthetic mouse goes: waypoints, following the walls (thigmotaxis) and keeping
every part of it on the floor, in square and round arenas."""

from __future__ import annotations

import math

import numpy as np

from ethoflow.synth.conditions import Condition
from ethoflow.synth.mouse import Mouse


def nearest_wall(mouse: Mouse, condition: Condition) -> tuple[float, float]:
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


def keep_inside(mouse: Mouse, parts: list, wall: float, side: float) -> bool:
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


def along_wall(
    mouse: Mouse, rng: np.random.Generator, side: float, wall: float, body: float
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


def next_waypoint(
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


def keep_inside_ring(mouse: Mouse, parts: list, wall: float, side: float) -> bool:
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


def along_ring(
    mouse: Mouse, rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """Round arena: a goal a few body lengths further along the wall, ahead of the mouse."""
    radius = side / 2 - wall - 0.28 * body
    around = math.atan2(mouse.y - side / 2, mouse.x - side / 2)
    ahead = math.sin(mouse.heading - around)  # > 0: the heading turns anticlockwise around
    direction = 1.0 if ahead > 0 or (ahead == 0 and rng.random() < 0.5) else -1.0
    around += direction * rng.uniform(2, 5) * body / radius
    return side / 2 + radius * math.cos(around), side / 2 + radius * math.sin(around)


def ring_waypoint(
    rng: np.random.Generator, side: float, wall: float, body: float
) -> tuple[float, float]:
    """Round arena: most waypoints lie along the wall (thigmotaxis), the rest in the open."""
    near = side / 2 - wall - 0.28 * body
    around = rng.uniform(-math.pi, math.pi)
    radius = near if rng.random() < 0.65 else max(0.0, near - body) * math.sqrt(rng.random())
    return side / 2 + radius * math.cos(around), side / 2 + radius * math.sin(around)
