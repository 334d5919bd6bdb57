"""A batch of recordings: which videos a run takes (and their output ids), what happened to each,
and the batch's report (``report.csv``, ``quarantine.csv`` and a Markdown summary). Labelling and
tracking share it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ethoflow.io.atomic import write_csv
from ethoflow.io.video import videos_in


@dataclass(frozen=True)
class LabelOutcome:
    """What happened to one video: ``labelled``, ``skipped`` (up to date), ``quarantined`` or
    ``interrupted`` (Ctrl-C came first: not done, a re-run labels it)."""

    video_id: str
    video: Path
    status: str
    reason: str
    outputs: Path | None
    # Set-up drift of a labelled recording (ethoflow.features.drift): None when not labelled.
    drift_flagged: bool | None = None
    drift_reasons: str = ""


def find_videos(
    sources: list[Path], *, settle_seconds: float = 0.0
) -> tuple[list[tuple[str, Path]], list[LabelOutcome]]:
    """The videos to label as ``(video_id, path)``: files named in ``sources`` and videos
    anywhere under its folders (dot-files and dot-folders skipped), sorted by id; and the
    quarantined ones (a missing source, a file modified less than ``settle_seconds`` ago: still
    being copied, retried on the next run).

    The video id (its output folder) is the file's stem; videos sharing a stem (in different
    folders, or as ``a.mp4`` and ``a.avi``) get ids from their paths instead, e.g.
    ``cage1-m1`` and ``cage2-m1``, so each has its own folder.
    """
    paths, outcomes = [], []
    now = time.time()
    for source in map(Path, sources):
        if source.is_dir():
            found = videos_in(source)
        elif source.is_file():
            found = [source]
        else:
            outcomes.append(
                LabelOutcome(source.stem, source, "quarantined", "file not found", None)
            )
            continue
        for path in found:
            age = now - path.stat().st_mtime
            if age < settle_seconds:
                reason = (
                    f"still being written (modified {age:.0f} s ago, less than "
                    f"{settle_seconds:g} s): labelled on the next run"
                )
                outcomes.append(LabelOutcome(path.stem, path, "quarantined", reason, None))
            else:
                paths.append(path)
    paths = list(dict.fromkeys(p.resolve() for p in paths))
    return sorted(zip(video_ids(paths), paths, strict=True)), outcomes


def video_ids(paths: list[Path]) -> list[str]:
    """A unique id per path: its stem, or where stems clash, the stem with as many parent
    folders (and the suffix, if still needed) as make it unique."""
    stems = Counter(p.stem for p in paths)
    ids = []
    for path in paths:
        if stems[path.stem] == 1:
            ids.append(path.stem)
            continue
        clashing = [p for p in paths if p.stem == path.stem]
        for depth in range(1, len(path.parts)):
            parts = path.parent.parts[-depth:]
            if len({q.parent.parts[-depth:] for q in clashing}) == len(clashing):
                ids.append("-".join([*parts, path.stem]))
                break
        else:
            ids.append(path.name.replace(".", "-"))  # a.mp4 and a.avi in one folder
    return ids


def write_batch_report(outcomes: list[LabelOutcome], source: str, outbox: Path) -> str:
    """Write ``report.csv`` (every video of the batch) and ``quarantine.csv``; return a summary
    in Markdown (counts per status, and each quarantined video with its reason)."""
    columns = ["video_id", "video", "status", "reason", "outputs", "drift_flagged", "drift_reasons"]
    report = pd.DataFrame([asdict(outcome) for outcome in outcomes], columns=columns)
    write_csv(report, Path(outbox) / "report.csv")
    quarantine = report.loc[report.status == "quarantined", ["video_id", "video", "reason"]]
    write_csv(quarantine, Path(outbox) / "quarantine.csv")
    counts = report.status.value_counts().to_dict()
    lines = [f"Labelled batch from {source} into {outbox}: {counts or 'no videos'}."]
    lines += [f"- {row.video_id}: quarantined — {row.reason}" for row in quarantine.itertuples()]
    lines += [
        f"- {o.video_id}: labelled with a **warning** — {o.reason}"
        for o in outcomes
        if o.status == "labelled" and o.reason
    ]
    flagged = [o for o in outcomes if o.drift_flagged]
    lines += [
        f"- {o.video_id}: **set-up drift**, labels less trustworthy — {o.drift_reasons}"
        for o in flagged
    ]
    return "\n".join(lines)
