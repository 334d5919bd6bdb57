"""Content hashes: what makes an output reusable is its inputs' bytes, not their names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path


def file_digest(paths: Iterable[str | Path], *extra: object) -> str:
    """SHA-256 over the files' bytes (streamed) and ``extra`` values, as hex."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    digest.update(json.dumps([str(e) for e in extra]).encode())
    return digest.hexdigest()
