"""Content hashes: what makes an output reusable is its inputs' bytes, not their names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex (streamed by ``hashlib.file_digest``)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_digest(paths: Iterable[str | Path], *extra: object) -> str:
    """SHA-256 over the files' SHA-256s and ``extra`` values (as text), as hex."""
    parts = [sha256_file(path) for path in paths] + [str(value) for value in extra]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
