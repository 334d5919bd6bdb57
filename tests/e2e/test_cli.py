import logging
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from ethoflow.cli import _not_retracing_warning, app, main
from ethoflow.config import load_settings
from ethoflow.mlops.champions import champions_copied
from ethoflow.synth.conditions import CONDITIONS
from helpers.champions import write_params
from helpers.real import REAL

runner = CliRunner()


def test_synth_command_writes_the_lab(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  videos_per_condition: 1\n  minutes: 0.02\n")
    result = runner.invoke(app, ["synth", "--params", str(params), "--seed", "4"])
    assert result.exit_code == 0, result.output
    inventory = pd.read_csv(tmp_path / "data" / "truth" / "lab.csv")
    assert len(inventory) == len(CONDITIONS)
    assert f"wrote {len(CONDITIONS)} recordings" in result.output


def test_synth_command_records_only_the_named_set_ups(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  videos_per_condition: 2\n  minutes: 0.02\n")
    args = ["synth", "--params", str(params), "--condition", "condition_3"]
    result = runner.invoke(app, [*args, "--condition", "condition_4"])
    assert result.exit_code == 0, result.output
    inventory = pd.read_csv(tmp_path / "data" / "truth" / "lab.csv")
    assert sorted(inventory.condition) == ["condition_3"] * 2 + ["condition_4"] * 2

    result = runner.invoke(app, ["synth", "--params", str(params), "--condition", "condition_9"])
    assert result.exit_code == 2
    assert "unknown recording condition 'condition_9'; known: condition_1" in result.output


def test_bad_params_exit_with_the_key_named(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  minuts: 1\n")
    result = runner.invoke(app, ["synth", "--params", str(params)])
    assert result.exit_code == 2
    assert "synth.minuts: Extra inputs are not permitted" in result.output


def test_track_command_writes_track_summary_and_trajectory(tmp_path):
    """A real clip and a folder of real frames; a corrupt file is quarantined (exit 1), a
    missing path stops everything (exit 2)."""
    import json
    import shutil

    real = REAL
    session = real / "openfield_frames" / "2_D1"
    frames = tmp_path / "session"
    frames.mkdir()
    for image in sorted(session.glob("*.png"))[:8]:
        shutil.copy(image, frames / image.name)
    out = tmp_path / "out"
    gone = str(tmp_path / "gone.mp4")
    missing = runner.invoke(app, ["track", str(frames), gone, "--out", str(out)])
    assert missing.exit_code == 2 and "not found" in missing.output and not out.exists()
    (tmp_path / "bad.mp4").write_bytes(b"not a video" * 100)
    paths = [str(real / "amadeusgpt_maushaus.mp4"), str(frames), str(tmp_path / "bad.mp4")]
    result = runner.invoke(app, ["track", *paths, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "bad: quarantined" in result.output
    video = pd.read_csv(out / "amadeusgpt_maushaus" / "track.csv")
    assert list(video.columns[:3]) == ["frame", "time_s", "x"] and len(video) == 5
    folder = pd.read_csv(out / "session" / "track.csv")
    assert folder.columns[0] == "image" and len(folder) == 8 and folder.found.all()
    summary = json.loads((out / "session" / "summary.json").read_text())
    assert summary["found_share"] == 1.0 and summary["distance_cm"] > 0
    assert 0 <= summary["centre_share"] <= 1 and "duration_s" not in summary  # no fps
    assert (out / "amadeusgpt_maushaus" / "trajectory.png").stat().st_size > 1000
    report = pd.read_csv(out / "report.csv")
    assert sorted(report.status) == ["quarantined", "tracked", "tracked"]
    again = runner.invoke(app, ["track", *paths[:2], "--out", str(out)])
    assert again.exit_code == 0 and again.output.count("skipped") == 2


def test_help_imports_none_of_the_heavy_libraries():
    """`ethoflow --help` stays fast (bench/: under 1 s) because the commands import pandas,
    TensorFlow, MLflow, Prefect and OpenCV only when they run."""
    import subprocess
    import sys

    heavy = ("pandas", "tensorflow", "keras", "openvino", "mlflow", "prefect", "cv2", "streamlit")
    probe = (
        "import sys; from typer.testing import CliRunner; from ethoflow.cli import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        "assert CliRunner().invoke(app, ['label', '--help']).exit_code == 0; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_retracing_warning_of_many_models_is_dropped_unless_verbose(caplog, monkeypatch):
    """Several models each tracing its predict graph once, as evaluation does: TensorFlow warns
    of retracing; the CLI drops that warning (and nothing else) when not --verbose."""
    import keras
    from tensorflow.python.eager.polymorphic_function import polymorphic_function

    # TensorFlow gives each traced function two such warnings a process: fresh counts here, so
    # that models predicting in earlier tests do not leave this one without a warning to drop.
    fresh = polymorphic_function._FrequentTracingDetectorManager()
    monkeypatch.setattr(polymorphic_function, "_frequent_tracing_detector_manager", fresh)

    tensorflow_log = logging.getLogger("tensorflow")

    def predict_with_new_models() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="tensorflow"):
            for _ in range(7):
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
                model.predict_on_batch(np.zeros((2, 4), np.float32))
            tensorflow_log.warning("another warning")
        return [record.getMessage() for record in caplog.records]

    tensorflow_log.removeFilter(_not_retracing_warning)
    unfiltered = predict_with_new_models()
    assert any("triggered tf.function retracing" in message for message in unfiltered)
    try:
        main(None, verbose=False)  # no command line: no context
        assert predict_with_new_models() == ["another warning"]
    finally:
        tensorflow_log.removeFilter(_not_retracing_warning)


def test_label_without_a_prefect_server_neither_starts_nor_imports_prefect(project, tmp_path):
    """No PREFECT_API_URL, as on a lab PC: `ethoflow label` labels and quarantines in its own
    process, with no temporary Prefect server (Prefect is not even imported), and once each
    champion has its OpenVINO copy, without TensorFlow."""
    import os
    import subprocess
    import sys

    videos = tmp_path / "videos"
    project.copy_good(videos / "good.mp4")
    (videos / "corrupt.mp4").write_bytes(b"not a video")
    probe = (
        "import sys; from ethoflow.cli import app\n"
        "try:\n    app(sys.argv[1:])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, sorted(m for m in ('prefect', 'tensorflow') if m in sys.modules))"
    )
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}

    def label(video: str, out: Path) -> str:
        arguments = ["label", str(videos / video), "--params", str(project.params)]
        command = [sys.executable, "-c", probe, *arguments, "--out", str(out)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        return done.stdout.splitlines()[-1]

    # The project comes with its champions' OpenVINO copies; a project without them does not.
    assert champions_copied(project.settings)
    bare = write_params(tmp_path / "bare", project.tracking_uri)
    assert not champions_copied(load_settings(bare))
    out = tmp_path / "out"
    first = label(".", out)
    assert first.startswith("1 [") and "prefect" not in first  # exit 1: a video quarantined
    report = pd.read_csv(out / "report.csv").set_index("video_id")
    assert report.status.to_dict() == {"corrupt": "quarantined", "good": "labelled"}
    assert (out / "good" / "labels.csv").is_file()
    assert label("good.mp4", tmp_path / "again") == "0 []"  # the champions' OpenVINO copies
