"""A lab's own recordings into the pipeline's layout: ``<raw>/<condition>/<video>`` and its
labels as our per-frame ``<video>.csv`` (``ethoflow import``).

Each video's label file is found beside it, in any format ethoflow reads
(:data:`ethoflow.io.interchange.FORMATS`, and DeepEthogram's own ``<video>_labels.csv``),
converted at the video's frame rate and checked exactly as ingest checks a recording
(:func:`ethoflow.data.screening.screen_recording`). A bad pair is refused with the reason, the
others are copied (or hard-linked). A video whose bytes are already under ``<raw>`` is skipped, so
importing the same folder again imports nothing, unless its label file changed (more review
answers, a corrected file): then the labels are updated. Versioning the result with DVC is the
caller's step (``mlops.versioning`` sits a layer above this one).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ethoflow.config import Settings
from ethoflow.data.ingest import Quarantined, Recording, check_picture_of
from ethoflow.data.screening import screen_recording
from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path, same_bytes
from ethoflow.io.digest import sha256_file
from ethoflow.io.interchange import FORMATS
from ethoflow.io.video import (
    VIDEO_SUFFIXES,
    check_video_info,
    no_videos,
    read_video_info,
    videos_in,
)

Status = Literal["imported", "updated", "skipped", "refused"]
LABEL_SUFFIXES = (".csv", ".tsv")
# DeepEthogram names its label files <video>_labels.csv.
DEEPETHOGRAM_SUFFIX = "_labels.csv"
_CONDITION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one source video."""

    video: Path  # as found among the sources
    labels: Path | None  # its label file, None when there is none
    status: Status
    target: Path | None  # where it is (or, in a dry run, would be) under raw; refused: None
    reason: str  # why it was refused or skipped; what was converted for an imported one


@dataclass(frozen=True)
class ImportReport:
    condition: str
    folder: Path  # <raw>/<condition>
    outcomes: list[ImportOutcome]
    dry_run: bool

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)


def import_recordings(
    sources: Sequence[Path],
    condition: str,
    settings: Settings,
    *,
    link: bool = False,
    unlabelled: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import the videos in ``sources`` (files, or folders searched recursively) into
    ``<settings.paths.raw>/<condition>/`` with their labels as our per-frame CSV.

    A video needs a label file beside it (``<stem>.csv``, ``<stem>.<format>.csv``/``.tsv``, or
    ``<stem>_labels.csv`` from DeepEthogram) unless ``unlabelled``: then a video without one is
    imported alone, to be annotated before it can be trained on. ``link`` hard-links the videos
    instead of copying them (same disk only). ``dry_run`` checks everything and writes nothing.
    A name already taken under ``raw`` by other content gets a suffix (``m1-2.mp4``).

    Raises ``ValueError`` for a bad condition name or a folder without videos, and
    ``FileNotFoundError`` for a source that does not exist; a bad recording is refused in the
    report, never raised.
    """
    if not _CONDITION.fullmatch(condition):
        raise ValueError(
            f"condition {condition!r}: use letters, digits, '_', '-' or '.', starting with a "
            "letter or digit (it names the folder under paths.raw)"
        )
    videos, others = _videos_of(sources)
    raw = settings.paths.raw
    folder = raw / condition
    imported = _imported_videos(raw, {video.stat().st_size for video in videos})
    taken = _taken_names(raw)
    not_a_video = f"not a video ethoflow reads ({', '.join(VIDEO_SUFFIXES)})"
    outcomes = [ImportOutcome(p, None, "refused", None, not_a_video) for p in others]
    labels_of: dict[Path, dict[str, list[Path]]] = {}
    # Converted labels and validation reports go to a scratch folder, not to features/.
    with tempfile.TemporaryDirectory(prefix="ethoflow-import-") as staging:
        for video in videos:
            if video.parent not in labels_of:
                labels_of[video.parent] = _label_files(video.parent)
            found = labels_of[video.parent].get(video.stem, [])
            outcome = _import_one(
                video,
                found,
                folder,
                settings,
                Path(staging),
                imported,
                taken,
                link,
                unlabelled,
                dry_run,
            )
            outcomes.append(outcome)
    return ImportReport(condition, folder, outcomes, dry_run)


def _import_one(
    video: Path,
    found: list[Path],
    folder: Path,
    settings: Settings,
    staging: Path,
    imported: dict[str, Path],
    taken: set[str],
    link: bool,
    unlabelled: bool,
    dry_run: bool,
) -> ImportOutcome:
    """Check one video and its label file (converted into ``staging``), then copy (or link)
    them under ``folder``; ``imported`` (digest → video under raw) and ``taken`` (video ids) grow
    with it."""
    labels = found[0] if len(found) == 1 else None
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        return ImportOutcome(video, None, "refused", None, f"two label files ({names}): keep one")
    digest = sha256_file(video)
    before = imported.get(digest)
    if before is not None and labels is None:
        return ImportOutcome(video, labels, "skipped", before, "already imported")
    # A video imported before takes its labels now, beside it: the first ones (--unlabelled
    # before) or newer ones (more review answers, a corrected file; DVC keeps the old version).
    video_id = before.stem if before else _free_name(video.stem, taken)
    target = before or folder / f"{video_id}{video.suffix.lower()}"
    recording = Recording(video_id, target.parent.name, video, labels or target.with_suffix(".csv"))
    if labels is None:
        if not unlabelled:
            reason = (
                f"no label file beside it ({video.stem}.csv, {video.stem}.<format>.csv or "
                f"{video.stem}{DEEPETHOGRAM_SUFFIX}); --unlabelled imports it to annotate"
            )
            return ImportOutcome(video, None, "refused", None, reason)
        problem = _video_problem(recording)
        checked_labels = None
        note = "no labels yet: annotate it before retraining (ingest sets it aside until then)"
    else:
        checked = _screen(recording, settings, staging)
        problem = checked if isinstance(checked, str) else None
        checked_labels = None if isinstance(checked, str) else checked
        note = _converted(labels) + (", for the video imported before" if before else "")
    if problem:
        return ImportOutcome(video, labels, "refused", None, problem)
    status: Status = "imported"
    if before and checked_labels is not None and _has_labels(before):
        if same_bytes(checked_labels, before.with_suffix(".csv")):
            return ImportOutcome(video, labels, "skipped", before, "already imported")
        status = "updated"
        note = note.replace("for the video imported before", "replacing the labels imported before")
    if link and not before and not _same_disk(video, folder):
        reason = f"--link: {folder} is on another disk, where a hard link cannot reach; copy it"
        return ImportOutcome(video, labels, "refused", None, reason)
    if not dry_run:
        if not before:
            _place(video, target, link=link)
        if checked_labels is not None:
            _place(checked_labels, target.with_suffix(".csv"), link=False)
    taken.add(video_id.lower())
    imported[digest] = target
    return ImportOutcome(video, labels, status, target, note)


def _videos_of(sources: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The videos among ``sources`` (folders searched recursively), each once, in order; and the
    files given that are neither a video nor a label file (label files are found beside their
    videos, so ``lab/*`` may name them too)."""
    missing = [str(p) for p in sources if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"not found: {', '.join(missing)}")
    videos: dict[Path, Path] = {}
    others: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            inside = videos_in(source)
            if not inside:
                raise ValueError(no_videos(source))
            videos.update((video.resolve(), video) for video in inside)
        elif source.suffix.lower() in VIDEO_SUFFIXES:
            videos.setdefault(source.resolve(), source)
        elif source.suffix.lower() not in LABEL_SUFFIXES:
            others.append(source)
    return list(videos.values()), others


def _label_files(folder: Path) -> dict[str, list[Path]]:
    """Video stem → the label files beside it in ``folder``: ``<stem>.csv`` (ours),
    ``<stem>.<format>.csv``/``.tsv`` and DeepEthogram's ``<stem>_labels.csv``."""
    labels: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith(".") or path.suffix.lower() not in LABEL_SUFFIXES:
            continue
        declared = Path(path.stem).suffix.lstrip(".").lower()
        if declared in FORMATS:
            labels.setdefault(Path(path.stem).stem, []).append(path)
        elif name.lower().endswith(DEEPETHOGRAM_SUFFIX):
            labels.setdefault(name[: -len(DEEPETHOGRAM_SUFFIX)], []).append(path)
        elif path.suffix.lower() == ".csv":
            labels.setdefault(path.stem, []).append(path)
    return labels


def _has_labels(video: Path) -> bool:
    """Whether a label file lies beside ``video`` (one under raw, or to be in a dry run)."""
    return video.parent.is_dir() and video.stem in _label_files(video.parent)


def _converted(labels: Path) -> str:
    if labels.name.lower().endswith(DEEPETHOGRAM_SUFFIX):
        return f"labels from {labels.name} (deepethogram)"
    declared = Path(labels.stem).suffix.lstrip(".").lower()
    if declared in FORMATS and declared != "ethoflow":
        return f"labels from {labels.name} ({declared})"
    return f"labels from {labels.name}"


def _screen(recording: Recording, settings: Settings, staging: Path) -> Path | str:
    """The recording's labels converted to our format in ``staging`` and checked as ingest
    checks them (:func:`~ethoflow.data.screening.screen_recording`): the checked label file, or
    why not."""
    deepethogram = recording.labels.name.lower().endswith(DEEPETHOGRAM_SUFFIX)
    outcome = screen_recording(
        recording, settings, staging, "deepethogram" if deepethogram else None
    )
    if isinstance(outcome, Quarantined):
        return outcome.reason
    return outcome[0].labels


def _video_problem(recording: Recording) -> str | None:
    """Why a video alone cannot be used (ingest's checks of its metadata and picture), or None."""
    try:
        check_video_info(read_video_info(recording.video))
        check_picture_of(recording)
    except InputError as exc:
        return f"video {recording.video.name}: {exc.problem}"
    return None


def _imported_videos(raw: Path, sizes: set[int]) -> dict[str, Path]:
    """Digest → video for the videos already under ``raw`` whose size is one of ``sizes`` (only
    those can hold the same bytes as a source: the rest are not read)."""
    if not raw.is_dir():
        return {}
    return {sha256_file(video): video for video in videos_in(raw) if video.stat().st_size in sizes}


def _taken_names(raw: Path) -> set[str]:
    """The video ids (lower case) used under ``raw``: ingest needs them unique across
    conditions, and a label file without its video holds its name too."""
    if not raw.is_dir():
        return set()
    names = set()
    for path in raw.rglob("*"):
        if path.suffix.lower() in VIDEO_SUFFIXES:
            names.add(path.stem.lower())
        elif path.suffix.lower() in LABEL_SUFFIXES:
            names.add(path.name.split(".")[0].lower())
    return names


def _free_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, … if it is taken."""
    name, n = stem, 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}"
    return name


def _same_disk(path: Path, folder: Path) -> bool:
    existing = next(p for p in [folder, *folder.parents] if p.exists())
    return path.stat().st_dev == existing.stat().st_dev


def _place(source: Path, target: Path, *, link: bool) -> None:
    """Copy (or hard-link) ``source`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        if link:
            os.link(source, tmp)
        else:
            shutil.copyfile(source, tmp)
