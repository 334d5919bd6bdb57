"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one;
a file whose new content equals the old is left alone (a re-run rewrites nothing)."""

from __future__ import annotations

import errno
import filecmp
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one step,
    unless ``target`` already holds the same bytes (then its time stamp stays too).

    The temporary name keeps ``target``'s suffix so writers that choose a format by extension
    (OpenCV, numpy, pandas) still work. On error (a full disk too) the temporary file is
    removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        yield tmp
        if not same_bytes(tmp, target):
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def same_bytes(a: Path, b: Path) -> bool:
    if not b.is_file() or a.stat().st_size != b.stat().st_size:
        return False
    return filecmp.cmp(a, b, shallow=False)


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a pandas table as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def write_json(value: object, path: str | Path) -> None:
    """Write a JSON-serialisable value atomically."""
    import json

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, default=str))


def check_writable(folder: str | Path) -> None:
    """Raise OSError, naming ``folder`` and why in words, unless files can be written in it (it
    is created if missing): checked before expensive work, not discovered after it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: cannot write outputs here: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-check.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OSError(f"{folder}: cannot write outputs here: {_why(folder, error)}") from None


def _why(folder: Path, error: OSError) -> str:
    """What stopped a write in ``folder``, as a person would say it (no errno)."""
    if error.errno == errno.ENOTDIR:
        blocking = next(p for p in [folder, *folder.parents] if p.exists() and not p.is_dir())
        return f"{blocking} is a file, not a folder"
    if error.errno == errno.EROFS:
        return "the disk is read-only (a read-only mount, or a locked card or share)"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder belongs to another user, or is read-only)"
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    return (error.strerror or str(error)).lower()
