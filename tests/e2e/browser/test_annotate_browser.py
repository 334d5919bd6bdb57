"""The Annotate page in a real browser, driven by its keyboard shortcuts: bouts marked on a real
recording (the tracktor clip, 640x480, 30 fps, 10,000 frames) and read back with the library;
the champions' draft of a synthetic recording corrected.

``ETHOFLOW_SCREENSHOTS=DIR`` saves the page as ``DIR/ui_annotate.png`` (the docs' picture).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from ui_serving import ethoflow_ui, screenshot, settled

from ethoflow.config import load_settings
from ethoflow.io.interchange import read_label_file
from ethoflow.io.labels import bouts, read_labels
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.ui import annotate, results
from helpers.browser import BROWSER_TIMEOUT_MS
from helpers.champions import write_params
from helpers.real import REAL_VIDEO


@pytest.fixture(scope="session")
def prefect_harness():
    """The champions fixture asks for Prefect's test API; the app labels without Prefect."""
    yield


@pytest.fixture(scope="module")
def lab(project, tmp_path_factory):
    """``ethoflow ui`` over a lab whose recordings are a copy of the real clip and a synthetic
    one (6 s at 10 fps), with the tiny champions."""
    root = tmp_path_factory.mktemp("annotate")
    params = write_params(root, project.tracking_uri, ui={"data": "appdata"})
    raw = load_settings(params).paths.raw
    real = raw / "real" / REAL_VIDEO.name
    synthetic = raw / "synthetic" / "m1.mp4"

    def prepare() -> None:
        real.parent.mkdir(parents=True)
        shutil.copy(REAL_VIDEO, real)
        write_recording(
            synthetic,
            synthetic.with_suffix(".truth.csv"),  # no <stem>.csv: the page starts without one
            root / "truth.csv",
            condition=CONDITIONS[0],
            seconds=6,
            seed=5,
        )

    with ethoflow_ui(params, root / "ui.log", ready=prepare) as url:
        yield {"url": url, "params": params, "real": real, "synthetic": synthetic}


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(lab["url"])
    page.get_by_test_id("stSidebar").get_by_text("Annotate").click()
    page.get_by_role("heading", name="Annotate").wait_for()
    settled(page)
    yield page
    context.close()


def _open(page, video: Path, start: str) -> None:
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


def _press(page, key: str, shows: str | re.Pattern) -> None:
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


def _move(page, frame: int, to: int, fps: int) -> None:
    """From ``frame`` to ``to`` with the keys: whole seconds (Shift+→) first, then frames (→)."""
    while frame < to:
        step, key = (fps, "Shift+ArrowRight") if to - frame >= fps else (1, "ArrowRight")
        frame += step
        _press(page, key, f"frame {frame} · {frame / fps:.2f} s")


def test_two_bouts_marked_with_the_keyboard_read_back(page, lab):
    from playwright.sync_api import expect

    video = lab["real"]
    _open(page, video, "Nothing: every frame unknown")
    expect(page.get_by_text("frame 0 · 0.00 s")).to_be_visible()
    expect(page.get_by_text("U: undo · S: save")).to_be_visible()  # the keys, on the page
    # Shortcuts do not reach the page while a text field has the focus.
    page.get_by_role("heading", name="Annotate").click()
    _press(page, "v", "Reviewed started at frame 0")
    _move(page, 0, 60, 30)
    _press(page, "g", "Grooming started at frame 60")
    _move(page, 60, 65, 30)
    _press(page, "g", "Grooming from frame 60 (2.00 s) to frame 65")
    _move(page, 65, 95, 30)
    _press(page, "e", "Rearing started at frame 95")
    _move(page, 95, 125, 30)
    _press(page, "ArrowLeft", "frame 124 · ")
    _press(page, "e", "Rearing from frame 95 (3.17 s) to frame 124")
    _press(page, "g", "Grooming started at frame 124")
    _press(page, "u", "The last change was undone.")
    _move(page, 124, 154, 30)
    _press(page, "v", "Reviewed from frame 0 (0.00 s) to frame 154")
    _press(page, "s", re.compile("^Saved "))
    _screenshot(page)
    labels = read_labels(video.with_suffix(".csv"))
    assert len(labels) == 10_000
    assert [bouts(labels[h].fillna(0).to_numpy()) for h in ("grooming", "rearing")] == [
        [(60, 66)],
        [(95, 125)],
    ]
    assert labels[:155].notna().all().all()  # reviewed: every frame said
    assert labels[155:].isna().all().all()  # beyond: unknown
    (exported,) = (lab["params"].parent / "appdata" / "annotate" / "boris").rglob("*.tsv")
    boris = read_label_file(exported, mapping={}, fps=30.0, frame_count=10_000)
    assert boris.equals(labels)  # the bouts, and the unknown frames as "Unlabelled" events
    # Jump to a time: a frame read by seeking, 100 s in.
    page.get_by_label("Go to time (s)").fill("100")
    page.get_by_label("Go to time (s)").press("Enter")
    settled(page)
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page.get_by_text("frame 3000 · 100.00 s")).to_be_visible()


def test_the_champions_draft_corrected_by_one_bout(page, lab):
    from playwright.sync_api import expect

    video = lab["synthetic"]
    _open(page, video, "The champions' labels: a draft to accept or fix")
    expect(page.get_by_text("The champions' labels are a draft")).to_be_visible()
    data = lab["params"].parent / "appdata"
    draft = annotate.champions_draft(results.read_labelled(data / "labelled" / "m1"), 60)
    longest = {
        (stop - start, head, start, stop)
        for head in draft
        for start, stop in bouts(draft[head].to_numpy())
    }
    length, head, start, stop = max(longest)
    assert length >= 3, "the draft has a bout to shorten"
    key = {"grooming": "g", "rearing": "e"}[head]
    # To the bout's first frame; remove it; mark it again, two frames shorter at its end.
    page.get_by_role("heading", name="Annotate").click()
    _move(page, 0, start, 10)
    _press(page, f"Shift+{key.upper()}", f"The {head} stretch at frame {start}")
    _press(page, key, f"{head.capitalize()} started at frame {start}")
    _move(page, start, stop - 3, 10)
    _press(page, key, f"{head.capitalize()} from frame {start}")
    _press(page, "s", re.compile("^Saved "))
    saved = read_labels(video.with_suffix(".csv"))
    expected = draft.copy()
    expected.loc[stop - 2 : stop - 1, head] = 0
    assert saved.equals(expected)
    assert saved.notna().all().all()  # a draft: the whole recording reviewed


def _screenshot(page) -> None:
    if folder := os.environ.get("ETHOFLOW_SCREENSHOTS"):
        screenshot(page, Path(folder) / "ui_annotate.png")
