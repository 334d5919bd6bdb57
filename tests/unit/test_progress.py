"""Progress of long work: ethoflow.runtime.progress's counts, time left and status lines."""

from __future__ import annotations

import pytest

from ethoflow.runtime import progress
from ethoflow.runtime.progress import Progress, Status, duration_text, seconds_left


@pytest.fixture
def terminal():
    """Progress drawn on the terminal, as a command turns it on."""
    progress.enable()
    yield
    progress.enable(False)


def test_time_left_is_unknown_until_an_item_is_done():
    assert seconds_left(12.0, done=0, total=16) is None


def test_time_left_is_the_mean_pace_so_far_times_the_items_left():
    assert seconds_left(60.0, done=3, total=16) == pytest.approx(20.0 * 13)
    assert seconds_left(60.0, done=16, total=16) == 0.0


def test_items_done_before_the_run_do_not_count_towards_the_pace():
    """A resumed search: 10 trials were in the storage; 2 took 600 s in this run."""
    assert seconds_left(600.0, done=12, total=20, done_before=10) == pytest.approx(300.0 * 8)
    assert seconds_left(600.0, done=10, total=20, done_before=10) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (42.0, "42 s"), (89.0, "89 s"), (240.0, "4 min"), (5340.0, "89 min")],
)
def test_durations_read_as_seconds_then_minutes(seconds, text):
    assert duration_text(seconds) == text


def test_long_durations_read_as_hours_and_minutes():
    assert duration_text(2 * 3600 + 5 * 60 + 10) == "2 h 5 min"


def test_status_lines_name_the_counts_and_the_time_left():
    def line(done: int, total: int, elapsed: float, left: float | None) -> str:
        return Status("ingest", "recording", done, total, elapsed, left).text()

    assert line(0, 16, 1.0, None) == "ingest: 0 of 16 recordings done"
    assert line(3, 16, 55.0, 238.0) == "ingest: 3 of 16 recordings done, about 4 min left"
    assert line(16, 16, 310.0, 0.0) == "ingest: 16 of 16 recordings done in 5 min"
    assert line(1, 1, 14.0, 0.0) == "ingest: 1 of 1 recording done in 14 s"


def test_percent_is_of_the_total_and_whole_for_an_empty_stage():
    assert Status("label", "recording", 3, 12, 1.0, 3.0).percent == 25.0
    assert Status("label", "recording", 0, 0, 0.0, None).percent == 100.0


def test_progress_reports_its_start_and_each_change_of_count():
    statuses: list[Status] = []
    trials = Progress("search grooming/tcn", 4, unit="trial", done=1, report=statuses.append)
    for done in (1, 2, 2, 4):  # a poll that found no new trial tells nothing
        trials.advance(done)
    assert [s.done for s in statuses] == [1, 2, 4]
    assert all(s.total == 4 and s.stage == "search grooming/tcn" for s in statuses)
    assert statuses[0].left_s is None  # the trial done before the start gives no pace
    assert statuses[1].left_s is not None and statuses[-1].left_s == 0.0
    assert statuses[-1].percent == 100.0


def test_progress_writes_a_line_per_change_on_the_terminal_when_turned_on(terminal, capsys):
    recordings = Progress("label", 2, unit="recording")
    recordings.advance(1)
    recordings.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "label: 0 of 2 recordings done"
    assert lines[1].startswith("label: 1 of 2 recordings done, about ") and lines[1].endswith(
        " left"
    )
    assert lines[2].startswith("label: 2 of 2 recordings done in ")
    assert len(lines) == 3


def test_progress_is_silent_on_the_terminal_unless_turned_on(capsys):
    Progress("label", 2, unit="recording").advance(1)
    assert capsys.readouterr().err == ""
