"""The review loop through the web app (issue 36): a set-up being adapted (``ethoflow adapt``'s
first round has labelled its recording and ranked the queue), answered in the review queue in a
real browser, a round started from the page, and the round's MLflow run shown on it once done.

The tiny lab of ``helpers.adapt`` (one retrain for the champions, one for the round); ``ethoflow
ui`` serving on a free port, Debian's chromium driven by Playwright, as in test_ui_browser.
"""

from __future__ import annotations

import re
import time

import mlflow
import pytest
from ui_serving import ethoflow_ui, settled

from ethoflow.config import load_settings
from ethoflow.labelling.review_queue import read_answers
from ethoflow.mlops.adaptation import ADAPT_EXPERIMENT
from helpers.adapt import SETUP, copy_project, run_adapt
from helpers.browser import BROWSER_TIMEOUT_MS
from helpers.champions import assert_exit

ROUND_TIMEOUT_MS = 900_000  # a retrain of the tiny lab, on a busy 2-core machine


@pytest.fixture(scope="module")
def lab(adapt_champions, tmp_path_factory, prefect_api):
    """The project after ``ethoflow adapt``'s first round (no answers yet), and ``ethoflow ui``
    over it; the rounds it starts use the test's Prefect API."""
    root = tmp_path_factory.mktemp("adapt-browser")
    project = copy_project(adapt_champions, root, "ui: {data: appdata}\n")
    assert_exit(run_adapt(project), 0)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_API_URL", prefect_api)
        with ethoflow_ui(project.params, root / "ui.log") as url:
            yield project, url


@pytest.mark.slow  # two retrains of a tiny lab
def test_answers_then_a_round_started_from_the_review_page(browser, lab):
    from playwright.sync_api import expect

    project, url = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(url)
    page.get_by_test_id("stSidebar").get_by_text("Review queue").click()
    page.get_by_role("heading", name="Adapting to a new set-up").wait_for()
    settled(page)
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.filter(has_text="Rounds")).to_contain_text("0")

    # Two stretches answered: the first one as shown, then the second one picked in the list.
    answer = page.get_by_role("button", name=re.compile(r"^(Shows|No) (grooming|rearing)$"))
    answer.first.click()
    expect(page.get_by_text("Saved your answers as partial labels")).to_be_visible()
    settled(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Stretch").click()
    page.get_by_role("option").nth(1).click()
    settled(page)
    answer.last.click()
    expect(metrics.filter(has_text="Stretches answered")).to_contain_text("2")
    data = project.params.parent / "appdata"
    answers = read_answers(data / "review")
    assert len(answers) == 2 and len({(a.head, a.start_s) for a in answers}) == 2
    minutes = sum(a.seconds for a in answers) / 60
    expect(metrics.filter(has_text="Minutes answered")).to_contain_text(f"{minutes:.2f}")

    started = time.monotonic()
    page.get_by_role("button", name="Start a round").click()
    expect(page.get_by_text(re.compile(r"Round started by .*, running"))).to_be_visible()
    expect(metrics.filter(has_text="Rounds")).to_contain_text("1", timeout=ROUND_TIMEOUT_MS)
    print(f"the round took {time.monotonic() - started:.0f} s from the click")
    expect(page.get_by_text(re.compile(r"The round started by .* has finished"))).to_be_visible()

    settings = load_settings(project.params)
    mlflow.set_tracking_uri(settings.tracking_uri)
    runs = mlflow.search_runs(experiment_names=[ADAPT_EXPERIMENT])
    assert runs["params.setup"].tolist() == [SETUP] and runs["params.round"].tolist() == ["1"]
    logged = runs["metrics.minutes_reviewed"].iloc[0]
    assert logged == pytest.approx(minutes, abs=1e-3)
    assert runs["metrics.stretches_answered"].iloc[0] == 2
    # The page's table: round 1, its minutes as logged (shown to 4 decimals), its scores.
    rounds = page.get_by_test_id("stTable").filter(has_text="minutes reviewed")
    cells = rounds.locator("tbody tr").first.locator("th, td")
    expect(cells.nth(0)).to_have_text("1")
    expect(cells.nth(1)).to_have_text(f"{logged:.4f}")
    expect(cells.nth(2)).to_have_text("2")
    f1 = runs[f"metrics.{SETUP}.grooming.f1"].iloc[0]
    expect(cells.nth(3)).to_have_text(f"{f1:.4f}")
    page.close()
