"""Run an iterator ahead of its consumer in a background thread, through a bounded queue.

Decoding, tracking and cropping release the GIL in OpenCV and NumPy, and so does TensorFlow's
inference: in a thread of their own they overlap the network instead of running in series with it.
The queue bounds memory whatever the video's length. Whatever happens, the thread ends when the
``with`` block does: an exception in the iterator reaches the consumer at the same position, and
an exception in the consumer stops the producer and closes its iterator (a video reader's
``finally`` releases the file).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"
# How often a producer blocked on a full queue looks whether the consumer has gone.
_POLL_SECONDS = 0.05


@contextmanager
def read_ahead(items: Iterable[T], depth: int, name: str = "read-ahead") -> Iterator[Iterator[T]]:
    """Yield an iterator over ``items``, which a thread named ``ethoflow-<name>`` produces at most
    ``depth`` items ahead. Leaving the block stops and joins the thread."""
    if depth < 1:
        raise ValueError(f"depth must be positive, got {depth}")
    channel: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def send(message: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not send((_ITEM, item)):
                    return
            send((_END, None))
        except BaseException as exc:  # re-raised in the consumer, which owns the outcome
            send((_ERROR, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def consume() -> Iterator[T]:
        while True:
            kind, value = channel.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]

    thread = threading.Thread(target=produce, name=f"ethoflow-{name}", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
