"""How a recording becomes per-frame features, the same in ingest and in labelling.

:class:`Featurization` is built once from the settings. It owns the *featurisation id* (everything
that shapes a frame's features: extractor, crop, fps, posture) that travels with the features into
every model's tags, builds the ResNet50 extractor, and streams a video through decode → standardise
fps → track the mouse → crop → (augment) → CNN (+ posture features) in batches, so memory does not
grow with the video's length (apart from the features themselves, 2 KB per kept frame).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd

from ethoflow.config import Settings
from ethoflow.errors import InputError
from ethoflow.features.cnn import Backend, Precision, extract_features, extractor_identity
from ethoflow.features.drift import SETUP_MEASURES, measure_setup
from ethoflow.features.motion import (
    MOTION_FEATURES,
    MOTION_VERSION,
    BodyMotion,
    motion_features,
)
from ethoflow.features.posture import POSTURE_FEATURES, POSTURE_VERSION, posture_features
from ethoflow.io.video import VideoReader, to_gray
from ethoflow.runtime import interrupt, progress
from ethoflow.runtime.read_ahead import read_ahead
from ethoflow.vision.augment import AugmentSetting, augment_frame
from ethoflow.vision.crop import crop_around
from ethoflow.vision.fps import shown_frames, standardize_fps
from ethoflow.vision.quality import TrackQuality, check_track
from ethoflow.vision.track import (
    TRACK_COLUMNS,
    TRACKER_VERSION,
    MouseTracker,
)

if TYPE_CHECKING:
    from ethoflow.features.cnn import FeatureExtractor

log = logging.getLogger(__name__)

# Decoded frames queued for the tracker: a few frames of memory, enough to ride out a slow one.
_FRAMES_AHEAD = 8
# A frame's row of the raw track: its source index, then TRACK_COLUMNS.
_TrackRow = tuple[int, float, float, bool, float, float, float, float, float]


@dataclass(frozen=True)
class VideoFeatures:
    """One video after fps standardisation: its track and per-frame feature matrices."""

    fps: float  # the source video's frame rate (``track.frame`` counts its frames)
    frame_count: int  # frames the source's header promises
    decoded: int  # source frames that decoded
    track: pd.DataFrame  # frame, then TRACK_COLUMNS: the mouse per kept frame (NaN: not found)
    arena_side_px: float | None  # short side of the detected arena (None: no frame decoded)
    features: np.ndarray  # (frames, n) CNN features, then posture features when asked for
    augmented: np.ndarray | None  # the same for the augmented copy
    setup: dict[str, float | None]  # the set-up's numbers (ethoflow.features.drift.measure_setup)
    quality: TrackQuality  # is the track a mouse (ethoflow.vision.quality)


@dataclass(frozen=True)
class Featurization:
    """The settings that shape a frame's features, and the streaming pipeline that makes them."""

    target_fps: float
    crop_size: int
    layer: str
    weights: str | None
    seed: int
    cnn: bool
    posture: bool
    motion: bool
    batch_size: int
    backend: Backend = "keras"
    precision: Precision = "fp32"
    openvino_cache: Path | None = None  # where OpenVINO's converted extractors are kept

    @classmethod
    def from_settings(cls, settings: Settings) -> Featurization:
        f, ingest = settings.features, settings.ingest
        return cls(
            target_fps=ingest.target_fps,
            crop_size=ingest.crop_size,
            layer=f.layer,
            weights=f.weights,
            seed=settings.seed,
            cnn=f.cnn,
            posture=f.posture,
            motion=f.motion,
            batch_size=f.batch_size,
            backend=f.backend,
            precision=f.precision,
            openvino_cache=settings.paths.runs / "openvino",
        )

    @property
    def extractor_id(self) -> str | None:
        """The CNN extractor's identity; None without CNN features."""
        if not self.cnn:
            return None
        return extractor_identity(
            self.layer, self.weights, self.crop_size, self.seed, self.precision
        )

    @property
    def id(self) -> str:
        """Everything that shapes a frame's features: a model only fits features of its id."""
        posture = f"+posture-{POSTURE_VERSION}" if self.posture else ""
        motion = f"+motion-{MOTION_VERSION}" if self.motion else ""
        fps = f"{self.target_fps:g}fps"
        return f"{self.extractor_id or 'no-cnn'}-{fps}{posture}{motion}-tracker-{TRACKER_VERSION}"

    def content_key(self, augment: AugmentSetting | None) -> list[object]:
        """What besides the input bytes decides the features, for the content keys of outputs."""
        posture = self.posture and POSTURE_FEATURES
        motion = self.motion and MOTION_FEATURES
        return [self.id, posture, motion, augment and asdict(augment), list(SETUP_MEASURES)]

    def feature_count(self, extractor: FeatureExtractor | None) -> int:
        """How many features a frame gets: the CNN's, then posture's, then motion's."""
        cnn = extractor.n_features if extractor is not None else 0
        return cnn + len(POSTURE_FEATURES) * self.posture + len(MOTION_FEATURES) * self.motion

    def build_extractor(self) -> FeatureExtractor | None:
        """The ResNet50 extractor (seconds, ~100 MB); None without CNN features."""
        from ethoflow.features.cnn import FeatureExtractor

        if not self.cnn:
            return None
        return FeatureExtractor(
            layer=self.layer,
            weights=self.weights,
            input_size=self.crop_size,
            seed=self.seed,
            backend=self.backend,
            precision=self.precision,
            cache_dir=self.openvino_cache,
        )

    def check_extractor(self, extractor: FeatureExtractor | None) -> None:
        """Raise ValueError unless ``extractor`` is the one :meth:`build_extractor` makes."""
        have = extractor and extractor.identity
        if have != self.extractor_id:
            raise ValueError(
                f"the extractor is {have!r} but the featurisation needs {self.extractor_id!r}; "
                "build it with Featurization.build_extractor()"
            )

    def featurize_video(
        self,
        video: Path,
        extractor: FeatureExtractor | None,
        *,
        augment: AugmentSetting | None = None,
        progress_name: str = "",
    ) -> VideoFeatures:
        """Stream ``video`` through decode → fps → track → crop → (augment) → CNN (+ posture).

        ``extractor`` must come from :meth:`build_extractor` (ValueError otherwise). A progress
        bar named ``progress_name`` (default: the file's name) shows when the command enabled
        them (:mod:`ethoflow.runtime.progress`); a Ctrl-C stops it between frame batches
        (:class:`ethoflow.runtime.interrupt.Interrupted`).
        """
        self.check_extractor(extractor)
        # OpenCV's own worker threads gain no time on images this small, yet they spent 2 ms of
        # CPU per frame (5.7 vs 3.5 ms, the same wall time) that the network, on every core,
        # then lacks: with one, Keras featurisation ran at 0.87 of the bare network, not 0.80.
        cv2.setNumThreads(1)
        reader = VideoReader(video)
        # The clock keeps some frames: only those become pictures, and every decoded one counts.
        decoded = _Counted(reader.frames(shown_frames(reader.fps, self.target_fps)))
        rows: list[_TrackRow] = []
        motion: list[tuple[float, float, float]] = []
        tracker = MouseTracker.for_recording(reader)
        augmented = None
        name = progress_name or video.name
        # Decoding runs ahead of tracking, and tracking and cropping ahead of the network, each
        # in its own thread: the network never waits for crops (bench/bench_label.py).
        with (
            progress.frame_bar(name, reader.frame_count) as advance,
            read_ahead(
                _on_clock(reader, decoded, self.target_fps), _FRAMES_AHEAD, "decode"
            ) as frames,
        ):
            # Body motion is measured even without motion features: its contrast is a set-up number.
            tracked = _tracked_frames(frames, tracker, rows, motion)
            if extractor is None:
                # Without CNN features there is nothing to crop: tracking alone gives the posture.
                for count, _ in enumerate(tracked, 1):
                    if count % self.batch_size == 0:
                        interrupt.check()
                        advance(rows[-1][0] + 1)
                features = np.zeros((len(rows), 0), np.float32)
                if augment is not None:
                    augmented = features
            else:
                blocks = []
                crops = _crops(tracked, self.crop_size, augment)
                with read_ahead(crops, 2 * self.batch_size, "track") as ready:
                    for block in extract_features(ready, extractor, batch_size=self.batch_size):
                        interrupt.check()
                        blocks.append(block)
                        # rows runs ahead of the network by the tracking thread's queue.
                        advance(rows[-1][0] + 1)
                        if len(blocks) % 10 == 0:
                            log.info("%s: %d frames featurised", name, len(rows))
                n = extractor.n_features
                features = np.concatenate(blocks) if blocks else np.zeros((0, n), np.float32)
                if augment is not None:
                    features, augmented = features[0::2], features[1::2]
        raw_track = pd.DataFrame(rows, columns=["frame", *TRACK_COLUMNS])
        # Features rest on the track as the models were trained on it; what is reported (and
        # measured for drift) leaves out detections that are not a mouse.
        track, quality = check_track(raw_track, tracker, fps=self.target_fps)
        # Posture ratios and motion in contrast units do not change under the per-video
        # augmentation: both copies share them.
        extra = [
            *([posture_features(raw_track, self.target_fps)] if self.posture else []),
            *([motion_features(np.array(motion))] if self.motion else []),
        ]
        if extra:
            features = np.hstack([features, *extra])
            if augmented is not None:
                augmented = np.hstack([augmented, *extra])
        assert tracker.background is not None  # for_recording estimated it
        setup = measure_setup(
            fps=reader.fps,
            background=tracker.background,
            arena=tracker.arena,
            arena_side_px=tracker.arena_side,
            track=track,
            mouse_contrast=np.array(motion).reshape(-1, 3)[:, 2],
        )
        return VideoFeatures(
            reader.fps,
            reader.frame_count,
            decoded.count,
            track,
            tracker.arena_side,
            features,
            augmented,
            setup,
            quality,
        )


class _Counted:
    """Iterate over ``frames``, counting them in ``count``."""

    def __init__(self, frames: Iterable[np.ndarray | None]) -> None:
        self.frames = frames
        self.count = 0

    def __iter__(self) -> Iterator[np.ndarray | None]:
        for frame in self.frames:
            self.count += 1
            yield frame


def _on_clock(
    reader: VideoReader, frames: Iterable[np.ndarray | None], target_fps: float
) -> Iterator[tuple[int, np.ndarray]]:
    """``(source index, frame)`` per slot of the target clock, from ``reader.frames``' stream.
    A slot after the end may show the last frame, which the stream only decoded (it could not
    know it was the last): that one is read again by seeking."""
    for index, frame in standardize_fps(frames, reader.fps, target_fps):
        if frame is None:
            frame = next((f for _, f in reader.read_frames([index])), None)
            if frame is None:
                raise InputError(reader.path, f"frame {index} decoded once, but not when sought")
        yield index, frame


def _tracked_frames(
    frames: Iterator[tuple[int, np.ndarray]],
    tracker: MouseTracker,
    rows: list[_TrackRow],
    motion: list[tuple[float, float, float]],
) -> Iterator[tuple[np.ndarray, float, float]]:
    """Kept ``(source index, frame)`` pairs → frames with where to crop them; appends each
    frame's track row to ``rows`` and its :class:`BodyMotion` measures to ``motion``."""
    body_motion = BodyMotion()
    for index, frame in frames:
        gray = to_gray(frame)  # once, for the tracker and the motion both
        d = tracker(gray)
        rows.append((index, d.x, d.y, d.found, d.confidence, d.area, d.length, d.width, d.angle))
        motion.append(body_motion(gray, d.x, d.y, d.length, d.width, d.angle))
        yield frame, *tracker.crop_position(frame.shape)


def _crops(
    tracked: Iterator[tuple[np.ndarray, float, float]],
    crop_size: int,
    augment: AugmentSetting | None,
) -> Iterator[np.ndarray]:
    """Crops in feature order: each frame's crop, then its augmented copy."""
    for frame, x, y in tracked:
        crop = crop_around(frame, (x, y), crop_size)
        yield crop
        if augment is not None:
            yield augment_frame(crop, augment)
