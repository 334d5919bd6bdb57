"""Driving the Annotate page: open it, open a recording, press its keys, step to a frame.

Shared by the browser tests of the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ui_serving import settled

from helpers.browser import BROWSER_TIMEOUT_MS


def annotate_page(browser, url: str) -> Iterator:
    """A page of the app at ``url`` showing Annotate (a generator: a fixture's body)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(url)
    page.get_by_test_id("stSidebar").get_by_text("Annotate").click()
    page.get_by_role("heading", name="Annotate").wait_for()
    settled(page)
    yield page
    context.close()


def open_recording(page, video: Path, start: str) -> None:
    """Open one of the lab's recordings and start annotating it from ``start``."""
    page.get_by_text("From the lab's recordings").click()
    settled(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Recording").click()
    page.get_by_role("option", name=f"{video.parent.name}/{video.name}").click()
    settled(page)
    page.get_by_text(start).click()
    settled(page)
    page.get_by_role("button", name="Start annotating").click()
    settled(page)


def press(page, key: str, shows: str | re.Pattern) -> None:
    """Press ``key`` and wait until the page shows ``shows``.

    A key pressed while the page still answers the one before can count once with it, or not
    at all (seen on this busy 2-core machine): when nothing shows after a while, it is pressed
    again, as a person would. A press that did count and one more fail the test: the page then
    shows another frame or message.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    page.keyboard.press(key)
    try:
        page.get_by_text(shows).first.wait_for(timeout=15_000)
    except PlaywrightTimeout:
        page.keyboard.press(key)
    expect(page.get_by_text(shows).first).to_be_visible()
    settled(page)  # it shows part-way through the run
    expect(page.get_by_test_id("stException")).to_have_count(0)


def move(page, frame: int, to: int, fps: int) -> None:
    """From ``frame`` to ``to`` with the keys: whole seconds (Shift+→) first, then frames (→)."""
    while frame < to:
        step, key = (fps, "Shift+ArrowRight") if to - frame >= fps else (1, "ArrowRight")
        frame += step
        press(page, key, f"frame {frame} · {frame / fps:.2f} s")
