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
from annotating import annotate_page, move, open_recording, press
from ui_serving import ethoflow_ui, screenshot, settled

from ethoflow.config import load_settings
from ethoflow.io.interchange import read_label_file
from ethoflow.io.labels import bouts, read_labels
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.ui import annotate, results
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
    params = project.write_params(root, ui={"data": "appdata"})
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
    yield from annotate_page(browser, lab["url"])


def test_two_bouts_marked_with_the_keyboard_read_back(page, lab):
    from playwright.sync_api import expect

    video = lab["real"]
    open_recording(page, video, "Nothing: every frame unknown")
    expect(page.get_by_text("frame 0 · 0.00 s")).to_be_visible()
    expect(page.get_by_text("U: undo · S: save")).to_be_visible()  # the keys, on the page
    # Shortcuts do not reach the page while a text field has the focus.
    page.get_by_role("heading", name="Annotate").click()
    press(page, "v", "Reviewed started at frame 0")
    move(page, 0, 60, 30)
    press(page, "g", "Grooming started at frame 60")
    move(page, 60, 65, 30)
    press(page, "g", "Grooming from frame 60 (2.00 s) to frame 65")
    move(page, 65, 95, 30)
    press(page, "e", "Rearing started at frame 95")
    move(page, 95, 125, 30)
    press(page, "ArrowLeft", "frame 124 · ")
    press(page, "e", "Rearing from frame 95 (3.17 s) to frame 124")
    press(page, "g", "Grooming started at frame 124")
    press(page, "u", "The last change was undone.")
    move(page, 124, 154, 30)
    press(page, "v", "Reviewed from frame 0 (0.00 s) to frame 154")
    press(page, "s", re.compile("^Saved "))
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
    open_recording(page, video, "The champions' labels: a draft to accept or fix")
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
    move(page, 0, start, 10)
    press(page, f"Shift+{key.upper()}", f"The {head} stretch at frame {start}")
    press(page, key, f"{head.capitalize()} started at frame {start}")
    move(page, start, stop - 3, 10)
    press(page, key, f"{head.capitalize()} from frame {start}")
    press(page, "s", re.compile("^Saved "))
    saved = read_labels(video.with_suffix(".csv"))
    expected = draft.copy()
    expected.loc[stop - 2 : stop - 1, head] = 0
    assert saved.equals(expected)
    assert saved.notna().all().all()  # a draft: the whole recording reviewed


def _screenshot(page) -> None:
    if folder := os.environ.get("ETHOFLOW_SCREENSHOTS"):
        screenshot(page, Path(folder) / "ui_annotate.png")
