"""Streaming access to recordings: metadata and frames one at a time, never the whole video; a
frame's grey picture (:func:`to_gray`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ethoflow.errors import InputError

# Fewer frames than this is a snippet, not a recording (the real 5 fps clips of other labs have 4+).
MIN_FRAMES = 4
# No lab camera films faster or slower; a header claiming otherwise is wrong, and its durations
# would be too (a rate near 0 would put a short file on billions of clock rows).
MIN_FPS, MAX_FPS = 1.0, 500.0
# Where the header's frame count is checked: a frame this far in must decode (a file cut short or
# still being copied fails); not the very last, which some containers over-count by one or two.
_TAIL_CHECK = 0.9
_BLACK = 16  # grey levels: a frame whose brightest pixel is darker than this shows nothing
_FROZEN = 8  # grey levels: a picture whose pixels all move less than this (noise) is frozen


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    # Frames that decode, counted only when the frame at 90 % of the header's count does not
    # (a truncated file); None: that frame decodes.
    decodable: int | None = None


class VideoReader:
    """Iterate over a video's frames (BGR ``uint8``, ``height × width × 3``) as they are decoded.

    Opening checks the file up front, so a corrupt or empty video, or one whose container reports
    fps 0 or no frames, fails with an :class:`InputError` naming the file before any work starts.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info = probe_video(self.path)

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.info.width, self.info.height

    def __len__(self) -> int:
        return self.info.frame_count

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self.frames():
            assert frame is not None  # every frame is shown
            yield frame

    def frames(self, shown: Callable[[int], bool] | None = None) -> Iterator[np.ndarray | None]:
        """Every frame in order, as a picture where ``shown(index)`` (default: everywhere), else
        None: the codec decodes every frame (later ones are built on it), but converting one to
        a BGR picture costs nearly half as much again (bench/results/startup.md)."""
        capture = _open(self.path)
        try:
            index = 0
            while capture.grab():
                if shown is None or shown(index):
                    ok, frame = capture.retrieve()
                    if not ok:
                        return
                    yield frame
                else:
                    yield None
                index += 1
        finally:
            capture.release()

    def sample(self, n: int) -> list[np.ndarray]:
        """Up to ``n`` frames spread evenly over the whole video (all when it has fewer), read by
        seeking, so the cost does not grow with the video's length."""
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        count = self.frame_count
        indices = np.unique(np.linspace(0, count - 1, min(n, count)).round().astype(int))
        capture = _open(self.path)
        frames = []
        try:
            for index in indices:
                capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
                ok, frame = capture.read()
                if ok:
                    frames.append(frame)
        finally:
            capture.release()
        return frames

    def read_frames(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for the given frame numbers in increasing order, decoded one at a
        time: a seek to the first, then reading on (a seek again only across a gap of more than
        a second), so a viewer can show any frame or a short clip without decoding from the
        start. Numbers past the last decodable frame are left out."""
        wanted = sorted({int(i) for i in indices if i >= 0})
        capture = _open(self.path)
        position = -1  # the frame the next read returns; -1: not known until a seek
        try:
            for index in wanted:
                if position < 0 or not 0 <= index - position <= max(self.fps, 1):
                    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
                    position = index
                while position <= index:
                    ok, frame = capture.read()
                    if not ok:
                        return
                    position += 1
                yield index, frame
        finally:
            capture.release()


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def videos_in(folder: Path) -> list[Path]:
    """The videos anywhere under ``folder``, sorted; dot-files and dot-folders are skipped (other
    tools' temporaries: an interrupted copy or atomic write)."""
    return [
        path
        for path in sorted(folder.rglob("*"))
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.suffix.lower() in VIDEO_SUFFIXES
        and path.is_file()
    ]


def no_videos(folder: Path, *, images: bool = False) -> str:
    """The message for a folder that holds nothing to work on (``images``: nor frame images)."""
    looked = ", ".join(VIDEO_SUFFIXES) + (f" and frame images {', '.join(IMAGE_SUFFIXES)}" * images)
    return f"no videos in {folder} (looked for {looked}; dot-files are skipped)"


class ImageFolder:
    """One recording stored as a folder of frame images, read one at a time in natural name
    order (``frame2.png`` before ``frame10.png``), as frame-grabbing software numbers them.

    Like :class:`VideoReader`, but with no frame rate (``fps`` is None) and each frame named by
    its file (``names``). Every image must have the first one's size (:class:`InputError`
    naming the first that differs, otherwise).
    """

    fps = None

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputError(self.path, "not a folder of frame images")
        self.names = image_names(self.path)
        if not self.names:
            raise InputError(self.path, f"no frame images ({', '.join(IMAGE_SUFFIXES)})")
        if len(self.names) < MIN_FRAMES:
            raise InputError(
                self.path,
                f"only {len(self.names)} frame image(s); a recording needs at least {MIN_FRAMES}",
            )
        self.shape = self._load(self.names[0]).shape

    @property
    def frame_count(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def _load(self, name: str) -> np.ndarray:
        frame = cv2.imread(str(self.path / name), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(self.path / name, "cannot be read as an image")
        return frame

    def _read(self, index: int) -> np.ndarray:
        frame = self._load(self.names[index])
        if frame.shape != self.shape:
            # Sampling may meet a later odd one first: name the first in the folder's order.
            for name in self.names[: index + 1]:
                size = self._load(name).shape
                if size != self.shape:
                    raise InputError(
                        self.path / name,
                        f"is {size[1]}x{size[0]} pixels but the first image, {self.names[0]}, "
                        f"is {self.shape[1]}x{self.shape[0]}: every frame of a recording must "
                        "have one size (resize the images, or move the odd ones out)",
                    )
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(len(self.names)):
            yield self._read(index)

    def sample(self, n: int) -> list[np.ndarray]:
        """Up to ``n`` frames spread evenly over the folder (all when it has fewer)."""
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        indices = np.unique(np.linspace(0, len(self.names) - 1, min(n, len(self.names))).round())
        return [self._read(int(i)) for i in indices]


def image_names(folder: Path) -> list[str]:
    """The frame images' names in ``folder`` (not below it), in natural order; dot-files skipped."""
    names = [
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(names, key=natural_key)


def natural_key(name: str) -> list[str | int]:
    """Sort key that orders the numbers in names by value: ``f2`` before ``f10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def open_recording(path: str | Path) -> VideoReader | ImageFolder:
    """A video file, or a folder holding one recording's frames as images."""
    path = Path(path)
    return ImageFolder(path) if path.is_dir() else VideoReader(path)


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise InputError(path, "video file not found")
    if path.stat().st_size == 0:
        raise InputError(path, "video file is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InputError(path, "cannot be opened as a video (corrupt file or unsupported format)")
    return capture


def read_video_info(path: str | Path) -> VideoInfo:
    """The container's metadata as reported, unjudged (frame count 0 if nothing decodes).

    Raises :class:`InputError` only when the file is missing, empty or cannot be opened.
    """
    path = Path(path)
    capture = _open(path)
    try:
        # A header can promise frames that do not decode; count them only if the first one does.
        first_decodes, _ = capture.read()
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if first_decodes else 0
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        tail = int(frame_count * _TAIL_CHECK)
        decodable: int | None = None
        if tail > 1:
            capture.set(cv2.CAP_PROP_POS_FRAMES, tail)
            if not capture.read()[0]:
                decodable = _count_frames(path)
        return VideoInfo(path, fps, frame_count, width, height, decodable)
    finally:
        capture.release()


def _count_frames(path: Path) -> int:
    """Frames that decode from the start, one at a time (only a broken file is counted)."""
    capture = _open(path)
    try:
        count = 0
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def probe_video(path: str | Path) -> VideoInfo:
    """Read a video's metadata and decode its first frame; raise :class:`InputError` if unusable."""
    return check_video_info(read_video_info(path))


def check_video_info(info: VideoInfo) -> VideoInfo:
    """Return ``info`` if it describes a usable recording, else raise :class:`InputError`."""
    if not np.isfinite(info.fps) or info.fps <= 0:
        raise InputError(
            info.path, f"video reports fps {info.fps:g}; a frame rate above 0 is required"
        )
    if not MIN_FPS <= info.fps <= MAX_FPS:
        side = "more" if info.fps > MAX_FPS else "less"
        raise InputError(
            info.path,
            f"video reports {info.fps:g} fps, {side} than any lab camera; its header is wrong. "
            "Re-encode it at the real rate (e.g. ffmpeg -r 30 -i in.mp4 out.mp4)",
        )
    if info.frame_count <= 0:
        raise InputError(info.path, "video has no decodable frames")
    if info.frame_count < MIN_FRAMES:
        raise InputError(
            info.path,
            f"video has only {info.frame_count} frame(s); a recording needs at least {MIN_FRAMES}",
        )
    if info.decodable is not None:
        raise InputError(info.path, truncated(info.frame_count, info.decodable))
    if info.width <= 0 or info.height <= 0:
        raise InputError(
            info.path, f"video reports an invalid frame size {info.width}x{info.height}"
        )
    return info


def truncated(promised: int, decoded: int) -> str:
    """The problem of a video that decodes fewer frames than its header promises."""
    return (
        f"header says {promised} frames but only {decoded} decode: the file is truncated "
        "(cut short, or still being copied); copy it again from the camera or its source"
    )


def check_picture(frames: list[np.ndarray], path: str | Path) -> None:
    """Raise :class:`InputError` if ``frames`` (spread over a recording) show nothing to track:
    all black, or one picture that never changes (a frozen camera or a still image)."""
    if not frames:
        raise InputError(path, "no frames decoded")
    if max(int(frame.max()) for frame in frames) < _BLACK:
        raise InputError(path, "every frame is black (camera covered, or lights off?)")
    first = frames[0]
    # Stops at the first frame that changed: in a real recording that is the second one.
    changes = any(
        float(np.percentile(cv2.absdiff(frame, first), 99.9)) >= _FROZEN for frame in frames[1:]
    )
    if len(frames) > 1 and not changes:
        raise InputError(
            path, "the picture does not change over the recording (a frozen camera or still image)"
        )


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Return a 2-D uint8 view or conversion of a grey or BGR uint8 frame; reject anything else."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, got dtype {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 3:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif frame.ndim == 2:
        gray = frame
    else:
        raise ValueError(f"frame must be H×W grey or H×W×3 BGR, got shape {frame.shape}")
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        raise ValueError(f"frame must be at least 3×3 pixels, got shape {frame.shape}")
    return gray
