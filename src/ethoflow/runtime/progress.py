"""Progress on the terminal (stderr): a bar per recording, and a line per item of a batch.

A recording's bar shows frames done, frames/s and the time left; a video whose header promises no
frame count shows frames and frames/s without the time left. A batch (:class:`Progress`: a stage's
recordings, a search's trials) tells its counts and the time left at its mean pace so far, as a
line here and to a reporter the caller passes (the flows pass one that updates a Prefect progress
artifact: this layer imports no Prefect).

The terminal shows nothing unless a command turns it on (:func:`enable`): the nightly flow and the
web app draw none.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_enabled = False


def enable(on: bool = True) -> None:
    """Draw progress on the terminal from now on in this process (or, ``on=False``, no longer)."""
    global _enabled
    _enabled = on


@contextmanager
def frame_bar(name: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(done)``: ``done`` of ``total`` frames of recording ``name`` are through."""
    if not _enabled:
        yield lambda done: None
        return
    from tqdm import tqdm

    # leave=False: the command prints one result line per recording when the batch is done.
    with tqdm(
        total=total or None, desc=name, unit=" frames", file=sys.stderr, leave=False, delay=0.5
    ) as bar:

        def advance(done: int) -> None:
            bar.update(done - bar.n)

        yield advance


def seconds_left(elapsed_s: float, done: int, total: int, done_before: int = 0) -> float | None:
    """The time left for ``total - done`` items at the mean pace of the items done in this run
    (``done - done_before``, in ``elapsed_s``); None until one is done."""
    done_now = done - done_before
    if done_now <= 0:
        return None
    return elapsed_s / done_now * (total - done)


def duration_text(seconds: float) -> str:
    """``seconds`` as a person reads a wait: "40 s", "4 min", "2 h 5 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class Status:
    """Where a stage stands: ``done`` of ``total`` items (``unit`` names one), ``elapsed_s``
    since it started, ``left_s`` to go (None until an item is done in this run)."""

    stage: str
    unit: str
    done: int
    total: int
    elapsed_s: float
    left_s: float | None

    @property
    def percent(self) -> float:
        return 100.0 if self.total <= 0 else 100.0 * self.done / self.total

    def text(self) -> str:
        """E.g. "ingest: 3 of 16 recordings done, about 4 min left"."""
        counts = f"{self.done} of {self.total} {self.unit}{'' if self.total == 1 else 's'} done"
        if self.done >= self.total:
            return f"{self.stage}: {counts} in {duration_text(self.elapsed_s)}"
        if self.left_s is None:
            return f"{self.stage}: {counts}"
        return f"{self.stage}: {counts}, about {duration_text(self.left_s)} left"


Reporter = Callable[[Status], None]


class Progress:
    """A stage's count of items done of ``total``, told when it starts and at each change
    (:meth:`advance`): as a line on the terminal (when a command turned progress on) and to
    ``report``.

    ``done``: items already done when the stage starts (a resumed search's trials); the time left
    is reckoned from the pace of the items done since.
    """

    def __init__(
        self, stage: str, total: int, *, unit: str, done: int = 0, report: Reporter | None = None
    ) -> None:
        self.stage, self.total, self.unit = stage, total, unit
        self._report = report
        self._done_before = self._done = done
        self._started = time.monotonic()
        self._tell()

    def advance(self, done: int) -> None:
        """``done`` items are done (a count, not an increment); an unchanged count tells nothing."""
        if done != self._done:
            self._done = done
            self._tell()

    def status(self) -> Status:
        elapsed = time.monotonic() - self._started
        left = seconds_left(elapsed, self._done, self.total, self._done_before)
        return Status(self.stage, self.unit, self._done, self.total, elapsed, left)

    def _tell(self) -> None:
        status = self.status()
        if _enabled:
            from tqdm import tqdm

            tqdm.write(status.text(), file=sys.stderr)  # above the recordings' bars
        if self._report is not None:
            self._report(status)
