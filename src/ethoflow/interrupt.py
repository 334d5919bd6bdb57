"""Ctrl-C that stops the work cleanly: the first SIGINT asks the loops to stop after the frame
batch in hand, the second ends the process at once.

A command wraps its work in :func:`stop_on_sigint`; the per-video and per-batch loops call
:func:`check`, which raises :class:`Interrupted` once a stop was asked for. Outputs are written
atomically with their record last (:mod:`ethoflow.io.records`), so a recording cut short leaves
nothing that passes for done, and a re-run labels what was left.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Exit status of a command stopped by SIGINT (128 + 2), as shells report it.
EXIT_STATUS = 130

_requested = threading.Event()


class Interrupted(Exception):
    """The work stopped at a Ctrl-C; the message says what was done."""


def requested() -> bool:
    """Whether a stop was asked for."""
    return _requested.is_set()


def check() -> None:
    """Raise :class:`Interrupted` if a stop was asked for (call between units of work)."""
    if _requested.is_set():
        raise Interrupted("stopped by Ctrl-C")


def _on_sigint(signum: int, frame: object) -> None:
    # os.write: the handler may run while the main thread is inside a write to sys.stderr.
    if _requested.is_set():
        # Threads busy in OpenCV or TensorFlow would hold up a normal exit: leave now. An
        # output being written stays a dot-file; without its record nothing counts as done.
        os.write(sys.stderr.fileno(), b"\ninterrupted again: stopped at once\n")
        os._exit(EXIT_STATUS)
    _requested.set()
    os.write(
        sys.stderr.fileno(), b"\nstopping after the current frame batch (Ctrl-C again: at once)\n"
    )


@contextmanager
def stop_on_sigint() -> Iterator[None]:
    """Within the block, SIGINT sets the stop request instead of raising KeyboardInterrupt (main
    thread only; the previous handler is restored after)."""
    _requested.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()
