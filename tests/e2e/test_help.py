"""Every command's `--help` stays under a second on busy cores: it imports neither the settings
(building their pydantic models) nor rich's help panels (measured: 0.8-2.1 s with them, 0.3-0.9 s
without)."""

import subprocess
import sys


def test_no_help_imports_the_settings_or_rich():
    probe = """
import sys
from typer.testing import CliRunner
from ethoflow.cli import app

def commands(group, prefix):
    for name, command in group.commands.items():
        yield [*prefix, name]
        if hasattr(command, "commands"):
            yield from commands(command, [*prefix, name])

import typer.main
names = [[]] + list(commands(typer.main.get_command(app), []))
for name in names:
    result = CliRunner().invoke(app, [*name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output, (name, result.output)
heavy = ("ethoflow.config", "rich", "pandas", "tensorflow")
print(len(names), sorted(m for m in heavy if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    count, imported = result.stdout.strip().split(" ", 1)
    assert int(count) >= 17 and imported == "[]"
