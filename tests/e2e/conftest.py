"""A browser, for the web app's tests (browser/) and the servers' UIs (test_servers.py)."""

from pathlib import Path

import pytest

from helpers.adapt import AdaptProject, adapt_project
from helpers.browser import BROWSER_TIMEOUT_MS, CHROMIUM


@pytest.fixture(scope="module")
def browser():
    """Headless chromium; ``expect`` waits up to ``BROWSER_TIMEOUT_MS`` (pages: set their own)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: `make system-deps` installs Debian's")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def adapt_champions(tmp_path_factory, prefect_harness) -> AdaptProject:
    """helpers.adapt's project, retrained once a session (test_adapt, test_adapt_browser): a test
    changes a ``helpers.adapt.copy_project`` of it, never this one."""
    return adapt_project(tmp_path_factory.mktemp("adapt-champions"))
