"""`import_recordings`: a lab's folder into `<raw>/<condition>/`, checked as ingest checks it, on
real (two-second, synthetic) videos and the interchange writers' label files."""

import shutil

import pandas as pd
import pytest

from ethoflow.config import load_settings
from ethoflow.data.lab_import import import_recordings
from ethoflow.io.interchange import read_label_file, write_label_file
from ethoflow.io.labels import read_labels
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording

FPS = CONDITIONS[0].fps  # 10


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Three different two-second condition-1 recordings (20 frames) with their label CSVs."""
    folder = tmp_path_factory.mktemp("drawn")
    for seed in (1, 2, 3):
        write_recording(
            folder / f"r{seed}.mp4",
            folder / f"r{seed}.csv",
            folder / f"r{seed}.truth.csv",
            condition=CONDITIONS[0],
            seconds=2,
            seed=seed,
        )
    return folder


@pytest.fixture
def settings(tmp_path):
    params = tmp_path / "project" / "params.yaml"
    params.parent.mkdir()
    params.write_text("seed: 1\n")
    return load_settings(params)


def _recording(drawn, seed, folder, name, label_format="ethoflow", label_name=None):
    """``drawn``'s recording ``r<seed>`` as ``folder/<name>.mp4`` with its labels written in
    ``label_format`` (``label_name``: the file's name, default the format's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    video = shutil.copy(drawn / f"r{seed}.mp4", folder / f"{name}.mp4")
    suffix = ".csv" if label_format == "ethoflow" else f".{label_format}.csv"
    labels = folder / (label_name or f"{name}{suffix}")
    write_label_file(read_labels(drawn / f"r{seed}.csv"), labels, label_format, fps=FPS)
    return video, labels


def _by_name(report):
    return {o.video.name: o for o in report.outcomes}


def test_imports_each_format_as_our_csv_and_refuses_a_bad_pair(drawn, settings, tmp_path):
    lab = tmp_path / "lab"
    _recording(drawn, 1, lab, "m1", "boris")
    _recording(drawn, 2, lab / "day2", "m2", "deepethogram", label_name="m2_labels.csv")
    _, bad = _recording(drawn, 3, lab / "day2", "m3", "bouts")
    bad.write_text("from,to,type\n1.0,50.0,Grooming\n")  # the video lasts 2 s
    report = import_recordings([lab], "cage_a", settings)

    outcomes = _by_name(report)
    assert [outcomes[n].status for n in ("m1.mp4", "m2.mp4", "m3.mp4")] == [
        "imported",
        "imported",
        "refused",
    ]
    assert outcomes["m3.mp4"].reason.startswith("m3.bouts.csv: row 2: 'Grooming' at 50 s")
    assert "beyond the video's end" in outcomes["m3.mp4"].reason
    assert outcomes["m2.mp4"].reason == "labels from m2_labels.csv (deepethogram)"
    folder = settings.paths.raw / "cage_a"
    assert sorted(p.name for p in folder.iterdir()) == ["m1.csv", "m1.mp4", "m2.csv", "m2.mp4"]
    for name, seed in (("m1", 1), ("m2", 2)):
        imported = read_label_file(folder / f"{name}.csv", mapping={})
        expected = read_labels(drawn / f"r{seed}.csv")
        assert imported.equals(expected), name
        assert (folder / f"{name}.mp4").read_bytes() == (drawn / f"r{seed}.mp4").read_bytes()
    assert report.count("imported") == 2 and report.count("refused") == 1

    again = import_recordings([lab], "cage_a", settings)
    statuses = {name: o.status for name, o in _by_name(again).items()}
    assert statuses == {"m1.mp4": "skipped", "m2.mp4": "skipped", "m3.mp4": "refused"}
    assert _by_name(again)["m1.mp4"].target == folder / "m1.mp4"


def test_dry_run_checks_everything_and_writes_nothing(drawn, settings, tmp_path):
    lab = tmp_path / "lab"
    _recording(drawn, 1, lab, "m1")
    _recording(drawn, 2, lab, "m2", "bouts")
    shutil.copy(drawn / "r3.mp4", lab / "m9.mp4")  # no label file
    report = import_recordings([lab], "cage_a", settings, dry_run=True)
    assert report.dry_run
    outcomes = _by_name(report)
    assert outcomes["m1.mp4"].status == outcomes["m2.mp4"].status == "imported"
    assert outcomes["m2.mp4"].target == settings.paths.raw / "cage_a" / "m2.mp4"
    assert outcomes["m9.mp4"].status == "refused"
    assert outcomes["m9.mp4"].reason.startswith("no label file beside it (m9.csv")
    assert not settings.paths.raw.exists()
    assert not settings.paths.features.exists()  # the checks' scratch files went elsewhere


def test_names_taken_by_other_content_get_a_suffix(drawn, settings, tmp_path):
    """The same name in another folder of the sources, or under raw in another condition (ingest
    needs video ids unique across conditions): a new name; the same bytes: skipped."""
    _recording(drawn, 1, settings.paths.raw / "cage_b", "m1")
    _recording(drawn, 2, tmp_path / "lab" / "day1", "m1", "bouts")
    _recording(drawn, 1, tmp_path / "lab" / "day2", "m1", "bouts")
    _recording(drawn, 2, tmp_path / "lab" / "day3", "m1", "simba")
    report = import_recordings([tmp_path / "lab"], "cage_a", settings)
    folder = settings.paths.raw / "cage_a"
    assert [(o.status, o.target) for o in report.outcomes] == [
        ("imported", folder / "m1-2.mp4"),
        ("skipped", settings.paths.raw / "cage_b" / "m1.mp4"),
        ("skipped", folder / "m1-2.mp4"),  # the same bytes as day1's, imported just before
    ]
    assert (folder / "m1-2.csv").is_file() and not (folder / "m1.mp4").exists()


def test_link_mode_hard_links_the_video_and_copies_the_labels(drawn, settings, tmp_path):
    video, _ = _recording(drawn, 1, tmp_path / "lab", "m1", "bouts")
    report = import_recordings([video], "cage_a", settings, link=True)
    (outcome,) = report.outcomes
    assert outcome.status == "imported"
    assert outcome.target.stat().st_ino == video.stat().st_ino
    assert outcome.target.with_suffix(".csv").stat().st_nlink == 1


def test_refusal_reasons(drawn, settings, tmp_path):
    lab = tmp_path / "lab"
    _recording(drawn, 1, lab, "two")
    _recording(drawn, 1, lab, "two", "bouts")  # a second label file for the same video
    _recording(drawn, 2, lab, "short")
    (lab / "short.csv").write_text("Grooming,Rearing\n" + "0,0\n" * 5)
    (lab / "broken.mp4").write_bytes(b"not a video" * 200)
    shutil.copy(lab / "short.csv", lab / "broken.csv")
    (lab / "notes.txt").write_text("not a recording")
    report = import_recordings(
        [lab / "two.mp4", lab / "short.mp4", lab / "broken.mp4", lab / "notes.txt"],
        "cage_a",
        settings,
    )
    reasons = {o.video.name: o.reason for o in report.outcomes if o.status == "refused"}
    assert reasons["two.mp4"] == "two label files (two.bouts.csv, two.csv): keep one"
    assert "5 rows but the video has 20 frames" in reasons["short.mp4"]
    assert reasons["broken.mp4"] == (
        "video broken.mp4: cannot be opened as a video (corrupt file or unsupported format)"
    )
    assert reasons["notes.txt"].startswith("not a video ethoflow reads (.mp4")
    assert report.count("imported") == 0 and not settings.paths.raw.exists()


def test_unlabelled_videos_come_in_alone_when_asked(drawn, settings, tmp_path):
    video = shutil.copy(drawn / "r1.mp4", tmp_path / "m1.mp4")
    assert import_recordings([video], "cage_a", settings).outcomes[0].status == "refused"
    (outcome,) = import_recordings([video], "cage_a", settings, unlabelled=True).outcomes
    assert outcome.status == "imported" and outcome.labels is None
    assert outcome.reason.startswith("no labels yet: annotate it")
    assert sorted(p.name for p in outcome.target.parent.iterdir()) == ["m1.mp4"]

    # Labelled later, beside the source: a second import brings the labels to the video.
    write_label_file(read_labels(drawn / "r1.csv"), tmp_path / "m1.bouts.csv", "bouts", fps=FPS)
    (labelled,) = import_recordings([video], "cage_a", settings).outcomes
    assert labelled.status == "imported" and labelled.target == outcome.target
    assert labelled.reason == "labels from m1.bouts.csv (bouts), for the video imported before"
    assert read_labels(outcome.target.with_suffix(".csv")).equals(read_labels(drawn / "r1.csv"))
    (again,) = import_recordings([video], "cage_a", settings).outcomes
    assert again.status == "skipped"


@pytest.mark.parametrize(
    ("sources", "condition", "error", "match"),
    [
        (["lab"], "../up", ValueError, "condition '../up': use letters"),
        (["lab"], "", ValueError, "condition '': use letters"),
        (["gone.mp4"], "cage_a", FileNotFoundError, "not found: .*gone.mp4"),
        (["lab"], "cage_a", ValueError, "no videos in .*lab"),
    ],
)
def test_bad_arguments_are_said_before_any_work(
    settings, tmp_path, sources, condition, error, match
):
    (tmp_path / "lab").mkdir()
    with pytest.raises(error, match=match):
        import_recordings([tmp_path / s for s in sources], condition, settings)


@pytest.mark.parametrize("label_format", ["ethoflow", "bouts", "deepethogram"])
def test_partial_labels_come_in_with_their_unknown_frames(drawn, settings, tmp_path, label_format):
    """A person labelled the first second only: the second second stays unknown, not neutral."""
    partial = read_labels(drawn / "r1.csv")
    partial.loc[FPS:, :] = pd.NA
    lab = tmp_path / "lab"
    lab.mkdir()
    video = shutil.copy(drawn / "r1.mp4", lab / "m1.mp4")
    suffix = ".csv" if label_format == "ethoflow" else f".{label_format}.csv"
    write_label_file(partial, lab / f"m1{suffix}", label_format, fps=FPS)

    report = import_recordings([lab], "cage_a", settings)

    assert [o.status for o in report.outcomes] == ["imported"], report.outcomes
    imported = read_labels(settings.paths.raw / "cage_a" / "m1.csv")
    pd.testing.assert_frame_equal(imported, partial)
    assert imported.iloc[FPS:].isna().all().all() and video.is_file()


def test_newer_labels_of_an_imported_video_replace_the_old_ones(drawn, settings, tmp_path):
    """The review folder imported again after more answers: the video is not copied twice, its
    labels are updated; imported once more unchanged, nothing happens."""
    lab = tmp_path / "review"
    _, labels = _recording(drawn, 1, lab, "m1")
    first = read_labels(labels)
    answered = first.copy()
    answered.loc[: FPS - 1, :] = pd.NA
    write_label_file(answered, labels, "ethoflow")
    import_recordings([lab], "cage_a", settings)
    target = settings.paths.raw / "cage_a" / "m1.csv"

    write_label_file(first, labels, "ethoflow")  # the first second answered too
    report = import_recordings([lab], "cage_a", settings)
    again = import_recordings([lab], "cage_a", settings)

    assert [o.status for o in report.outcomes] == ["updated"]
    assert "replacing the labels imported before" in report.outcomes[0].reason
    pd.testing.assert_frame_equal(read_labels(target), first)
    assert [o.status for o in again.outcomes] == ["skipped"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["m1.csv", "m1.mp4"]
