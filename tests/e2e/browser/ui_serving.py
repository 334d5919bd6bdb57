"""Serving the app for a browser: ``ethoflow ui`` on a free port, and whole-page screenshots.

Shared by the browser tests and ``screenshots.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers.processes import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def ethoflow_ui(params: Path, log: Path, *, ready=None) -> Iterator[str]:
    """Start ``ethoflow ui --params PARAMS`` on a free port (its output in ``log``), call
    ``ready()`` while it starts, wait until it answers, and yield its URL; stop its whole
    process group afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "ethoflow.cli", "ui", "--params", str(params)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if ready is not None:
            ready()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ethoflow ui did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def settled(page) -> None:
    """Wait until the app's script has finished its run."""
    page.wait_for_timeout(300)  # the run may not have started yet
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def screenshot(page, path: Path) -> None:
    """The whole page at ``path``, once the app's script has finished."""
    settled(page)
    # The app scrolls inside its main section: a window as tall as it shows the whole page. The
    # pictures below the first window load only then, and change the height once more.
    for _ in range(2):
        height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(height, 4000)})
        page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth)")
        page.wait_for_timeout(1000)  # charts redraw at the new size
    page.screenshot(path=str(path))
