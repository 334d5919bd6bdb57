"""The scene of one synthetic recording: background, arena, lighting and the camera's faults,
and each frame drawn with the mouse, its shadow and its reflection."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ethoflow.synth.conditions import Condition, Polarity
from ethoflow.synth.mouse import Mouse, mouse_parts, tail_points
from ethoflow.synth.walk import nearest_wall


class Scene:
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
        # Arena coordinates (0..side) → image pixels: rotate about the arena centre, foreshorten
        # the image's y axis by the camera's tilt, then shift.
        rotation = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        self.foreshortening = math.cos(math.radians(condition.tilt_deg))
        rotation[1] *= self.foreshortening
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
        if self.foreshortening == 1.0:  # a rotation: the ellipse only turns with the arena
            return self.to_image(centre), (2 * axes[0], 2 * axes[1]), angle + self.angle_deg
        # Foreshortened: the image of the ellipse's axes, whose singular vectors are its new axes.
        theta = math.radians(angle)
        turn = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        u, sizes, _ = np.linalg.svd(self.matrix[:, :2] @ turn @ np.diag(axes))
        image_angle = math.degrees(math.atan2(u[1, 0], u[0, 0]))
        return self.to_image(centre), (2 * sizes[0], 2 * sizes[1]), image_angle

    def _cast_shadow(self, canvas: np.ndarray, mouse: Mouse, parts: list) -> None:
        """Darken the floor under a soft copy of the body, offset away from the lamp."""
        shade: np.ndarray = np.zeros(canvas.shape, np.float32)
        dx = 0.12 * mouse.body * math.cos(self.shadow_direction)
        dy = 0.12 * mouse.body * math.sin(self.shadow_direction)
        for (x, y), axes, angle, _ in parts:
            cv2.ellipse(shade, self._box((x + dx, y + dy), axes, angle), 1.0, -1, cv2.LINE_AA)
        shade = cv2.GaussianBlur(shade, (0, 0), 0.08 * mouse.body)
        canvas *= 1.0 - self.condition.shadow * shade

    def _reflect(self, canvas: np.ndarray, mouse: Mouse, parts: list) -> None:
        """Blend the body, mirrored in the floor's edges, into the wall band.

        A mirror image lies as far beyond the edge as the mouse is inside it, so it reaches into
        the band only while the mouse is close to that wall.
        """
        mirror = np.zeros(canvas.shape, np.float32)
        for (px, py), (nx, ny) in floor_edges(mouse, self.condition):
            line = 2 * (math.degrees(math.atan2(ny, nx)) + 90)
            for (x, y), axes, angle, _ in parts:
                depth = (x - px) * nx + (y - py) * ny
                centre = (x - 2 * depth * nx, y - 2 * depth * ny)
                cv2.ellipse(mirror, self._box(centre, axes, line - angle), 1.0, -1, cv2.LINE_AA)
        alpha = self.condition.reflection * self.wall_band * cv2.GaussianBlur(mirror, (0, 0), 1.5)
        canvas += alpha * (self.mouse_level - canvas)

    def _dress(self, canvas: np.ndarray, mouse: Mouse, furred: list) -> None:
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
        mouse: Mouse,
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
        parts = mouse_parts(mouse, activity, blend, t)
        if self.condition.shadow:
            self._cast_shadow(canvas, mouse, parts)
        if self.condition.reflection:
            self._reflect(canvas, mouse, parts)
        mask = np.zeros(canvas.shape, np.uint8)
        tail = np.array([self.to_image(p) for p in tail_points(mouse, t)], np.int32)
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


def floor_edges(mouse: Mouse, condition: Condition) -> list[tuple[tuple, tuple]]:
    """``(point, inward normal)`` of the floor's edges a mouse can be mirrored in."""
    side = condition.arena_side
    wall = condition.wall_fraction * side
    if condition.arena_shape == "round":
        # A curved wall mirrors like its tangent at the point nearest the mouse.
        facing, _ = nearest_wall(mouse, condition)
        ux, uy = math.cos(facing), math.sin(facing)
        radius = side / 2 - wall
        return [((side / 2 + radius * ux, side / 2 + radius * uy), (-ux, -uy))]
    return [
        ((wall, 0.0), (1.0, 0.0)),
        ((side - wall, 0.0), (-1.0, 0.0)),
        ((0.0, wall), (0.0, 1.0)),
        ((0.0, side - wall), (0.0, -1.0)),
    ]
