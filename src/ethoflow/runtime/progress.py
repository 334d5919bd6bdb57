"""A progress bar per recording on the terminal (stderr): frames done, frames/s and time left.

Off unless a command turns it on (:func:`enable`): the nightly flow and the web app draw none.
The loops report the source frame they reached; a video whose header promises no frame count
shows frames and frames/s without the time left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_enabled = False


def enable(on: bool = True) -> None:
    """Draw progress bars from now on in this process (or, ``on=False``, no longer)."""
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
