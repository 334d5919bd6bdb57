"""Where a command's log goes: a file per run, and the terminal only when asked (``--verbose``).

Prefect's flow and task runs, ethoflow's own notes (at INFO) and every library's warnings go to
the file; the Prefect API keeps its own handler, so the UI shows the runs' logs as before. No
record shows a password (:func:`ethoflow.runtime.redact.redact_log_records`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from ethoflow.runtime.redact import redact_log_records


class _FileHandler(logging.FileHandler):
    """Creates the file, and its folder, at the first record: a run that logs nothing leaves
    nothing behind."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def log_to_file(path: Path, *, terminal: bool) -> Callable[[], None]:
    """Send this process's log records to ``path`` (appended), and keep them on the terminal
    only if ``terminal``. Returns what closes the file when the command is done (the terminal
    stays as quiet: records after it, such as Prefect stopping its temporary server, are
    dropped)."""
    # A database or server URL in a record (a library's error, a setting) shows no password.
    redact_log_records()
    handler = _FileHandler(path, encoding="utf-8", delay=True)
    loggers = [logging.getLogger()]
    loggers += [
        x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)
    ]
    consoles = [
        (logger, h)
        for logger in loggers
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
        and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
    ]
    # Prefect's console format, when it set one up: the file reads like its terminal output.
    formatter = next((h.formatter for _, h in consoles if h.formatter), None)
    handler.setFormatter(
        formatter or logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s")
    )
    root = logging.getLogger()
    with_file = {root, *(logger for logger, _ in consoles)}
    for logger in with_file:
        logger.addHandler(handler)
    if not terminal:
        for logger, console in consoles:
            logger.removeHandler(console)
    elif root not in {logger for logger, _ in consoles}:
        root.addHandler(logging.StreamHandler())
    # Per-video notes (skipped, frames labelled) are INFO: the file and the UI keep them.
    logging.getLogger("ethoflow").setLevel(logging.INFO)
    logging.captureWarnings(True)

    def close() -> None:
        logging.captureWarnings(False)
        for logger in with_file:
            logger.removeHandler(handler)
        handler.close()

    return close
