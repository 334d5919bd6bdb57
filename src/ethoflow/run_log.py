"""Where a command's log goes: a file per run, and the terminal only when asked (``--verbose``).

Prefect's flow and task runs, ethoflow's own notes (at INFO) and every library's warnings go to
the file; the Prefect API keeps its own handler, so the UI shows the runs' logs as before.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


class _FileHandler(logging.FileHandler):
    """Creates the file, and its folder, at the first record: a run that logs nothing leaves
    nothing behind."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def log_to_file(path: Path, *, terminal: bool) -> None:
    """Send this process's log records to ``path`` (appended), and keep them on the terminal
    only if ``terminal``."""
    handler = _FileHandler(path, encoding="utf-8", delay=True)
    loggers = [logging.getLogger()]
    loggers += [
        x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)
    ]
    for logger in loggers:  # an earlier run's file, in a process that runs several commands
        for earlier in [h for h in logger.handlers if isinstance(h, _FileHandler)]:
            logger.removeHandler(earlier)
            earlier.close()
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
    for logger, console in consoles:
        logger.addHandler(handler)
        if not terminal:
            logger.removeHandler(console)
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
    if terminal and not any(logger is root for logger, _ in consoles):
        root.addHandler(logging.StreamHandler())
    # Per-video notes (skipped, frames labelled) are INFO: the file and the UI keep them.
    logging.getLogger("ethoflow").setLevel(logging.INFO)
    logging.captureWarnings(True)
