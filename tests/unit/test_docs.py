"""The documentation's generated reference: every CLI command, argument and option and every
settings key has a description, and a missing one fails the generator (so the strict build)."""

import runpy
from pathlib import Path
from typing import Annotated

import pytest
import typer
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[2]
# Under its own name: as "<run_path>" (mkdocs-gen-files' name for it) it would write the pages.
REFERENCE = runpy.run_path(str(ROOT / "docs" / "gen_reference.py"), run_name="gen_reference")


def test_every_cli_command_and_option_is_described():
    page = REFERENCE["cli_reference"]()
    for command in ("## label", "## labels convert", "## retrain", "`--params`", "`--trials`"):
        assert command in page


def test_every_settings_key_is_described():
    page = REFERENCE["params_reference"]()
    for key in ("`seed`", "`train.search_space.window`", "`label.cron`", "`ui.data`"):
        assert key in page


def test_an_option_without_help_fails():
    app = typer.Typer()

    @app.command()
    def run(trials: Annotated[int, typer.Option()] = 1) -> None:
        """Run."""

    @app.command()
    def other() -> None:
        """Other."""

    with pytest.raises(REFERENCE["MissingDescription"], match="trials"):
        REFERENCE["cli_reference"](app)


def test_a_settings_key_without_description_fails(tmp_path):
    class Section(BaseModel):
        described: int = Field(1, description="Has one.")
        bare: int = 2

    class Settings(BaseModel):
        section: Section = Field(Section(), description="A section.")

    params = tmp_path / "params.yaml"
    params.write_text("section:\n  bare: 3\n")
    with pytest.raises(REFERENCE["MissingDescription"], match="section.bare"):
        REFERENCE["params_reference"](Settings, params)


def test_api_pages_cover_every_package():
    pages = REFERENCE["api_pages"]()
    packages = {
        ".".join(init.parent.relative_to(ROOT / "src").parts)
        for init in (ROOT / "src" / "ethoflow").rglob("__init__.py")
    }
    assert {modules[0] for modules in pages.values()} == packages
    assert "ethoflow.io.video" in pages["ethoflow/io.md"]
