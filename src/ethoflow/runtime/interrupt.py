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


def _on_sigint(signum: int = signal.SIGINT, frame: object = None) -> None:
    # os.write to stderr's descriptor: the main thread may be inside a write to sys.stderr.
    if _requested.is_set():
        # Threads busy in OpenCV or TensorFlow would hold up a normal exit: leave now. An
        # output being written stays a dot-file; without its record nothing counts as done.
        os.write(2, b"\ninterrupted again: stopped at once\n")
        os._exit(EXIT_STATUS)
    _requested.set()
    os.write(2, b"\nstopping after the current frame batch (Ctrl-C again: at once)\n")


_closing = threading.Event()


def _watch() -> None:
    """Take each SIGINT as it comes (the thread has it blocked, as every thread of the block)."""
    while True:
        signal.sigwait({signal.SIGINT})
        if _closing.is_set():
            return
        _on_sigint()


@contextmanager
def stop_on_sigint() -> Iterator[None]:
    """Within the block, SIGINT sets the stop request instead of raising KeyboardInterrupt.

    Call from the main thread, before the work starts its threads. The kernel hands a SIGINT to
    any thread that does not block it, and Python runs its handler only when the main thread
    next runs Python code, which may be minutes away when it waits for the work on a lock. So
    SIGINT is blocked here and in every thread started within the block (they inherit the
    mask), and a watcher thread takes it with ``sigwait`` at once. A thread that existed before
    may still catch one: the Python-level handler then does the same, later.
    """
    _requested.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    watcher = threading.Thread(target=_watch, name="ethoflow-sigint", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        _closing.set()
        assert watcher.ident is not None  # set by start()
        signal.pthread_kill(watcher.ident, signal.SIGINT)  # wakes the watcher to end it
        watcher.join()
        _closing.clear()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)
        _requested.clear()
