"""The record written last: how ingest and labelling make their outputs safe to re-run.

A step writes its output files (each atomically), then a JSON record naming them and the *key* of
what produced them (input bytes, settings, models). A record that exists, matches the key and whose
files all exist means the outputs are complete and current, so a re-run skips them. The record is
removed before outputs are replaced, so a crash in between leaves nothing that looks finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ethoflow.io.atomic import write_json


def current_record(record_path: Path, key: str) -> dict[str, Any] | None:
    """The record at ``record_path`` if it has ``key`` and all its files (beside it) exist."""
    try:
        record: dict[str, Any] = json.loads(Path(record_path).read_text())
    except (OSError, ValueError):
        return None
    folder = Path(record_path).parent
    if record.get("key") != key or not all((folder / f).is_file() for f in record["files"]):
        return None
    return record


def invalidate_record(record_path: Path) -> None:
    """Remove the record before its outputs are replaced (or when they no longer hold)."""
    Path(record_path).unlink(missing_ok=True)


def commit_record(
    record_path: Path, key: str, files: list[str], **fields: object
) -> dict[str, Any]:
    """Write the record of finished outputs ``files`` (names beside it) made under ``key``."""
    record = {**fields, "key": key, "files": sorted(files)}
    write_json(record, record_path)
    return record
