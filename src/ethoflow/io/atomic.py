"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one step.

    The temporary name keeps ``target``'s suffix so writers that choose a format by extension
    (OpenCV, numpy, pandas) still work. On error the temporary file is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(table, path: str | Path) -> None:
    """Write a pandas table as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def write_json(value, path: str | Path) -> None:
    """Write a JSON-serialisable value atomically."""
    import json

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, default=str))
