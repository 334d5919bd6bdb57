import pandas as pd
from typer.testing import CliRunner

from ethoflow.cli import app

runner = CliRunner()


def test_synth_command_writes_the_lab(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  videos_per_condition: 1\n  minutes: 0.02\n")
    result = runner.invoke(app, ["synth", "--params", str(params), "--seed", "4"])
    assert result.exit_code == 0, result.output
    inventory = pd.read_csv(tmp_path / "data" / "truth" / "lab.csv")
    assert len(inventory) == 3
    assert "wrote 3 recordings" in result.output


def test_bad_params_exit_with_the_key_named(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  minuts: 1\n")
    result = runner.invoke(app, ["synth", "--params", str(params)])
    assert result.exit_code == 2
    assert "synth.minuts: Extra inputs are not permitted" in result.output
