"""Screenshots of the web app's pages for the README, on a project's own data (the demo's).

    .venv/bin/python tests/e2e/browser/screenshots.py --params params.yaml --out docs

after ``make demo``: starts ``ethoflow ui``, labels the first inbox video in automatic mode,
opens the first recording of ``paths.raw`` in the manual viewer at its first grooming (or
rearing) bout, marks a bout on it in the Annotate page (without saving), the first nightly result
and the review queue, and saves ``ui_<page>.png`` in
``--out``. Like any use of the app, it writes only in the app's folder (``ui.data``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from ui_serving import CHROMIUM, ethoflow_ui, screenshot, settled

from ethoflow.config import load_settings
from ethoflow.io.video import VIDEO_SUFFIXES

TIMEOUT_MS = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    settings = load_settings(args.params)
    inbox = sorted(p for p in settings.paths.inbox.rglob("*") if p.suffix in VIDEO_SUFFIXES)
    if not inbox:
        raise SystemExit(f"no video in {settings.paths.inbox}: run `make demo` first")
    args.out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)
    log = Path(tempfile.mkdtemp()) / "ui.log"
    with ethoflow_ui(args.params, log) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")

        uploads = page.get_by_test_id("stFileUploader").locator("input[type=file]")
        uploads.first.set_input_files(inbox[0])
        page.get_by_role("button", name="Label", exact=True).click()
        expect(page.get_by_text(f"{inbox[0].name}: labelled")).to_be_visible()
        screenshot(page, args.out / "ui_automatic.png")

        page.set_viewport_size({"width": 1400, "height": 1000})
        sidebar.get_by_text("Manual viewer").click()
        page.get_by_text("From the lab's recordings").click()
        page.get_by_role("button", name="Next bout").click()
        settled(page)
        if page.get_by_text("No grooming bout").is_visible():  # show a rearing bout instead
            page.get_by_test_id("stSelectbox").filter(has_text="Behaviour").click()
            page.get_by_role("option", name="rearing").click()
            settled(page)
            page.get_by_role("button", name="Next bout").click()
        screenshot(page, args.out / "ui_manual.png")

        page.set_viewport_size({"width": 1400, "height": 1000})
        sidebar.get_by_text("Annotate").click()
        page.get_by_text("From the lab's recordings").click()
        settled(page)
        page.get_by_role("button", name="Start annotating").click()
        settled(page)
        page.get_by_role("heading", name="Annotate").click()  # the keys reach the page
        for key in ("v", "Shift+ArrowRight", "g", "ArrowRight", "ArrowRight", "g"):
            page.keyboard.press(key)
            settled(page)
            page.wait_for_timeout(500)  # a key pressed during the page's run may be lost
        screenshot(page, args.out / "ui_annotate.png")  # not saved: nothing written in data/raw

        for name in ("Nightly results", "Review queue"):
            page.set_viewport_size({"width": 1400, "height": 1000})
            sidebar.get_by_text(name).click()
            page.get_by_role("heading", name=name).wait_for()
            screenshot(page, args.out / f"ui_{name.split()[0].lower()}.png")
        browser.close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
