"""Files between the browser and the server: uploads checked before they are kept, named
safely, written atomically in the app's folder; server paths and messages as a page may show
them (relative to the project's folder, no password)."""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path
from typing import BinaryIO

from ethoflow.config import Settings
from ethoflow.errors import InputError
from ethoflow.io.atomic import atomic_path
from ethoflow.io.video import VIDEO_SUFFIXES, VideoInfo, probe_video
from ethoflow.runtime.redact import redact_credentials

LABEL_SUFFIXES = (".csv",)
MB = 1024 * 1024


class UserError(ValueError):
    """Something the researcher can fix; the message says what and how, without a traceback."""


def data_folder(settings: Settings, params: Path) -> Path:
    """The app's folder (``ui.data``): a relative one is taken from ``params``' folder."""
    folder = settings.ui.data
    return folder if folder.is_absolute() else Path(params).resolve().parent / folder


def safe_name(name: str) -> str:
    """A file name from a browser made safe: no folders (``../``, ``C:\\``), only letters,
    digits, ``.``, ``-`` and ``_`` (accents dropped; control characters and spaces become ``_``),
    no leading dot, at most 120 characters."""
    base = re.split(r"[\\/]", name)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._-")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    stem = stem.strip("._-")[: 120 - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def check_upload(name: str, size: int, *, kind: str, max_mb: float) -> str:
    """The safe name of an upload of ``size`` bytes, or :class:`UserError` saying what is wrong:
    not a ``kind`` (``"video"`` or ``"labels"``) file, empty, or larger than ``max_mb``."""
    suffixes = {"video": VIDEO_SUFFIXES, "labels": LABEL_SUFFIXES}[kind]
    safe = safe_name(name)
    if Path(safe).suffix.lower() not in suffixes:
        wanted = " or ".join(", ".join(suffixes).rsplit(", ", 1))
        what = "a video" if kind == "video" else "a label table"
        raise UserError(f"{name} is not {what}: upload a {wanted} file.")
    if size == 0:
        raise UserError(f"{name} is empty (0 bytes): upload the file again.")
    if size > max_mb * MB:
        shown = f"{size / MB:.1f}" if size < 10 * MB else f"{size / MB:.0f}"
        raise UserError(
            f"{name} is {shown} MB, more than the limit of {max_mb:g} MB "
            "(ui.max_upload_mb in params.yaml). Cut the recording, or raise the limit."
        )
    return safe


def save_upload(source: BinaryIO, name: str, folder: Path, *, max_mb: float) -> Path:
    """Copy ``source`` (seekable: it is read twice) into
    ``folder/<first 12 hex digits of its SHA-256>/<safe name>`` atomically and return the path;
    :class:`UserError` if it holds more than ``max_mb`` (counted here, not taken from the
    browser's word), and nothing is written.

    The content folder keeps two different files of one name apart, and their labels too; the
    same upload twice lands on the same file, left as it was.
    """
    folder = Path(folder).resolve()
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    while chunk := source.read(MB):
        digest.update(chunk)
        size += len(chunk)
        if size > max_mb * MB:
            raise UserError(
                f"{name} is more than the limit of {max_mb:g} MB (ui.max_upload_mb in "
                "params.yaml). Cut the recording, or raise the limit."
            )
    target = folder / digest.hexdigest()[:12] / safe_name(name)
    if not target.resolve().is_relative_to(folder):  # safe_name makes this impossible
        raise UserError(f"{name}: not a valid file name")
    source.seek(0)
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        shutil.copyfileobj(source, out, MB)
    return target


def check_video(path: Path, shown_name: str) -> VideoInfo:
    """The video's metadata, or :class:`UserError` naming the upload and the problem."""
    try:
        return probe_video(path)
    except InputError as error:
        raise UserError(f"{shown_name} cannot be used as a video: {error.problem}.") from None


def keep_upload(upload: BinaryIO, name: str, size: int, *, kind: str, max_mb: float, folder: Path):
    """Check an upload (:func:`check_upload`), save it (:func:`save_upload`) and, for a video,
    check that it can be used (:func:`check_video`); a file that fails is not kept. Returns
    its path, or raises :class:`UserError`."""
    safe = check_upload(name, size, kind=kind, max_mb=max_mb)
    path = save_upload(upload, safe, folder, max_mb=max_mb)
    if kind == "video":
        try:
            check_video(path, name)
        except UserError:
            path.unlink(missing_ok=True)
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
            raise
    return path


def shown_path(path: Path, root: Path) -> str:
    """``path`` as a page shows it: relative to ``root`` (the project's folder) when under it,
    else its name alone: no page tells where else the server keeps files."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return path.name


def shown_text(text: str, root: Path) -> str:
    """A message as a page shows it: no password, paths under ``root`` relative to it."""
    return redact_credentials(text).replace(f"{Path(root).resolve()}/", "")
