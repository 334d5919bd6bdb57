"""The web app keeps to its folders: uploads land in ``ui.data`` under safe names and within the
size limit counted on the server, the lab's recordings are only what really is under
``paths.raw``, and no page shows a server path outside the project's folder (Streamlit's
AppTest on a project of its own; no champion needed)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
import yaml

from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording
from ethoflow.ui import files
from ethoflow.ui.recording import lab_recordings

APP = Path(__file__).parents[2] / "src" / "ethoflow" / "ui" / "app.py"
PAGES = ("Automatic labelling", "Manual viewer", "Nightly results", "Review queue")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder (params.yaml, a 1 MB upload limit) whose ``data/raw`` holds a recording
    with its labels, and links: one to a recording within, some to files outside."""
    root = tmp_path_factory.mktemp("hardening") / "project"
    root.mkdir()
    settings = {"features": {"cnn": False}, "ui": {"data": "appdata", "max_upload_mb": 1}}
    (root / "params.yaml").write_text(yaml.safe_dump(settings))
    condition = root / "data" / "raw" / "condition_1"
    video = condition / "m1.mp4"
    write_recording(
        video,
        video.with_suffix(".csv"),
        root / "truth.csv",
        condition=CONDITIONS[0],
        seconds=2,
        seed=3,
    )
    outside = root.parent / "elsewhere"
    outside.mkdir()
    shutil.copy(video, outside / "private.mp4")
    shutil.copy(video.with_suffix(".csv"), outside / "private.csv")
    (condition / "linked.mp4").symlink_to(video)  # within raw: listed
    (condition / "leak.mp4").symlink_to(outside / "private.mp4")  # outside: not listed
    shutil.copy(video, condition / "m2.mp4")
    (condition / "m2.csv").symlink_to(outside / "private.csv")  # its labels are outside
    (root / "data" / "raw" / "escape").symlink_to(outside, target_is_directory=True)
    return root


def test_lab_recordings_are_only_files_under_raw(project):
    raw = project / "data" / "raw"
    listed = {str(v.relative_to(raw)): labels for v, labels in lab_recordings(raw)}
    assert sorted(listed) == ["condition_1/linked.mp4", "condition_1/m1.mp4", "condition_1/m2.mp4"]
    assert listed["condition_1/m1.mp4"] == raw / "condition_1" / "m1.csv"
    assert listed["condition_1/m2.mp4"] is None  # a label file linked from outside is not read
    assert lab_recordings(project / "no-such-folder") == []


# --- uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/cron.d/job.csv",
        "/etc/passwd.csv",
        "..\\..\\windows\\system32\\x.csv",
        "..",
        "../",
        ".csv",
        "a/../../b.csv",
        "nul\x00byte\n\r\x1b[31m.csv",
        "\u202egnp.csv",  # right-to-left override
        "~/.ssh/authorized_keys.csv",
    ],
)
def test_hostile_upload_names_stay_in_the_folder(name, tmp_path):
    safe = files.safe_name(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert safe.isprintable() and safe.isascii() and ".." not in Path(safe).parts
    folder = tmp_path / "uploads"
    saved = files.save_upload(io.BytesIO(b"frame,Grooming\n0,1\n"), name, folder, max_mb=1)
    assert saved.resolve().is_relative_to(folder.resolve())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [saved]


def test_uploads_of_one_name_and_other_contents_are_kept_apart(tmp_path):
    folder = tmp_path / "uploads"
    first = files.save_upload(io.BytesIO(b"one"), "m1.csv", folder, max_mb=1)
    second = files.save_upload(io.BytesIO(b"two"), "m1.csv", folder, max_mb=1)
    again = files.save_upload(io.BytesIO(b"one"), "m1.csv", folder, max_mb=1)
    assert first != second and first == again
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"


def test_the_size_limit_counts_what_arrived_not_what_was_said(tmp_path):
    folder = tmp_path / "uploads"
    body = io.BytesIO(b"\0" * (files.MB + 1))
    with pytest.raises(files.UserError, match="more than the limit of 1 MB"):
        files.keep_upload(body, "big.csv", 10, kind="labels", max_mb=1, folder=folder)
    assert not folder.exists() or not any(folder.rglob("*"))


def test_ui_command_sets_the_upload_limit_and_hides_tracebacks(project, monkeypatch):
    """``ethoflow ui`` starts Streamlit with server.maxUploadSize = ui.max_upload_mb (the server
    refuses a larger request before the app sees it) and error details limited to the type."""
    from typer.testing import CliRunner

    from ethoflow.cli import app

    started = []

    def execv(program, command):
        started.append(command)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", execv)
    saved = dict(os.environ)
    try:
        result = CliRunner().invoke(app, ["ui", "--params", str(project / "params.yaml")])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.exit_code == 0, result.output
    (command,) = started
    assert command[command.index("--server.maxUploadSize") + 1] == "1"
    # An unexpected error in a page shows no traceback (server paths) to the browser.
    assert command[command.index("--client.showErrorDetails") + 1] == "type"


# --- the pages ---------------------------------------------------------------------------------


def page_text(at) -> str:
    """Everything the page sends the browser, as text (each element's message)."""
    parts = []

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@pytest.fixture
def at(project, monkeypatch, frozen_heap):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ETHOFLOW_PARAMS", str(project / "params.yaml"))
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_server_path(project, at, page):
    at.run()
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception
    shown = page_text(at)
    assert str(project.parent) not in shown
    assert "App folder: appdata" in shown and "Settings: params.yaml" in shown


def test_the_labs_recordings_are_listed_relative_to_raw(project, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    at.radio(key="manual_source").set_value("From the lab's recordings").run()
    assert not at.exception and not at.error
    choice = at.selectbox(key="manual_raw")
    assert choice.options == ["condition_1/linked.mp4", "condition_1/m1.mp4", "condition_1/m2.mp4"]
    choice.set_value(project / "data" / "raw" / "condition_1" / "m2.mp4").run()
    assert not at.exception and not at.error
    assert "No label file" in "\n".join(i.value for i in at.info)  # the outside one unread
    assert str(project.parent) not in page_text(at)


def test_an_upload_with_a_hostile_name_lands_in_the_app_folder(project, at):
    at.run()
    at.sidebar.radio(key="page").set_value("Manual viewer").run()
    uploader = at.file_uploader(key="manual_labels")
    assert uploader.proto.max_upload_size_mb == 1  # ui.max_upload_mb, shown by the widget
    uploader.set_value(("../../../outside.csv", b"Grooming,Rearing\n0,1\n", "text/csv")).run()
    assert not at.exception and not at.error
    (saved,) = (p for p in project.parent.rglob("outside.csv"))
    assert saved.parent.parent == project / "appdata" / "uploads"


def test_a_settings_error_shows_no_server_path(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    params = tmp_path / "params.yaml"
    params.write_text("train:\n  tracking_uri: [not, a, url]\n")
    monkeypatch.setenv("ETHOFLOW_PARAMS", str(params))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    (error,) = at.error
    assert error.value.startswith("The settings cannot be read. params.yaml: invalid settings")
    assert "train.tracking_uri" in error.value
    assert str(tmp_path) not in error.value
