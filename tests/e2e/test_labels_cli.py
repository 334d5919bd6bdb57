import json

import pandas as pd
from typer.testing import CliRunner

from ethoflow.cli import app
from helpers.real import REAL

runner = CliRunner()
VIDEO = REAL / "amadeusgpt_maushaus.mp4"  # 30 fps, 5 frames


def test_convert_places_bouts_with_the_videos_fps_and_frame_count(tmp_path):
    source = tmp_path / "m1.boris.csv"
    source.write_text(
        "Time,Behavior,Status\n0.04,Face grooming,START\n0.1,Face grooming,STOP\n"
        "0.1,Supported,START\n0.167,Supported,STOP\n"
    )
    out = tmp_path / "m1.csv"
    command = ["labels", "convert", str(source), "--to", "ethoflow", "--out", str(out)]
    result = runner.invoke(app, [*command, "--video", str(VIDEO)])
    assert result.exit_code == 0, result.output
    assert "5 frames; frames marked: grooming 2, rearing 2" in result.output
    # Frame centres at 1/60, 3/60, 5/60 … s: grooming 0.04–0.1 s holds frames 1, 2.
    written = pd.read_csv(out)
    assert list(written.columns) == ["Grooming", "Rearing"]
    assert written.Grooming.tolist() == [0, 1, 1, 0, 0]
    assert written.Rearing.tolist() == [0, 0, 0, 1, 1]


def test_convert_keeps_unknown_frames(tmp_path):
    source = tmp_path / "m1.csv"
    source.write_text("Grooming,Rearing\n1,0\n,\n,1\n0,0\n")
    bouts = tmp_path / "m1.bouts.csv"
    command = ["labels", "convert", str(source), "--to", "bouts", "--out", str(bouts)]
    result = runner.invoke(app, [*command, "--fps", "2"])
    assert result.exit_code == 0, result.output
    assert "frames marked: grooming 1, rearing 1; unknown (unlabelled): grooming 2, rearing 1" in (
        result.output
    )
    assert bouts.read_text() == (
        "from,to,type\n0.0,0.5,Grooming\n0.5,1.0,Unlabelled\n1.0,1.5,Rearing\n"
        "1.0,1.5,Unlabelled Grooming\n"
    )
    back = tmp_path / "back.csv"
    command = ["labels", "convert", str(bouts), "--to", "ethoflow", "--out", str(back)]
    assert runner.invoke(app, [*command, "--fps", "2", "--frames", "4"]).exit_code == 0
    assert back.read_text() == source.read_text()


def test_agree_prints_a_table_and_json(tmp_path):
    bouts = tmp_path / "session.bouts.csv"
    bouts.write_text(
        "from,to,type,Experimenter\n0,2,Start/End,Anna\n0.5,1.5,Grooming,Anna\n"
        "0,2,Start/End,Ben\n1.0,2.0,Grooming,Ben\n"
    )
    options = ["--fps", "2", "--frames", "4", "--rater-column", "Experimenter"]
    command = ["labels", "agree", str(bouts), str(bouts), *options, "--rater-a", "Anna"]
    result = runner.invoke(app, [*command, "--rater-b", "Ben"])
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[0].split()[:4] == [
        "behaviour",
        "frames",
        "frames_a",
        "frames_b",
    ]
    rows = json.loads(runner.invoke(app, [*command, "--rater-b", "Ben", "--json"]).output)
    # 2 fps: Anna marks frames 1, 2; Ben frames 2, 3. One frame in common of two each.
    grooming = rows[0]
    assert grooming["behaviour"] == "grooming" and grooming["precision"] == 0.5
    assert rows[1]["kappa"] is None  # neither marks rearing: kappa undefined


def test_bad_input_exits_2_with_the_file_and_row(tmp_path):
    source = tmp_path / "m1.boris.csv"
    source.write_text("Time,Behavior,Status\n0.1,Grooming,STOP\n")
    command = ["labels", "convert", str(source), "--to", "bouts", "--out", str(tmp_path / "x.csv")]
    result = runner.invoke(app, [*command, "--fps", "10", "--frames", "20"])
    assert result.exit_code == 2
    assert "error: " in result.output and "m1.boris.csv: row 2: STOP of 'Grooming'" in result.output
    missing_fps = runner.invoke(app, [*command, "--frames", "20"])
    assert missing_fps.exit_code == 2 and "need the video's fps" in missing_fps.output
    assert not (tmp_path / "x.csv").exists()
