"""The site's reference pages, generated from the code at every build (mkdocs-gen-files runs this):
the command line from the Typer app, ``params.yaml``'s keys from the typed settings, and one
Python API page per package of ``src/ethoflow``, found by walking it. A missing description
raises :class:`MissingDescription`, which fails the build."""

from __future__ import annotations

import typing
from pathlib import Path

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ethoflow"


class MissingDescription(ValueError):
    """A CLI command, argument or option, or a settings key, has no description."""


def _cell(text: str) -> str:
    """``text`` on one line, safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _type_name(annotation: object) -> str:
    """A type as a reader knows it: ``int``, ``list[str]``, ``float | None``."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = repr(annotation).replace("typing.", "").replace("pathlib.", "")
    return text.replace("NoneType", "None")


# --- the command line -------------------------------------------------------------------------


def _commands(group, prefix: list[str]):
    """``(words, command)`` for every command under ``group``, in the order the help lists them."""
    for name, command in group.commands.items():
        if command.hidden:
            continue
        words = [*prefix, name]
        if hasattr(command, "commands"):
            yield from _commands(command, words)
        else:
            yield words, command


def _parameter_rows(command, words: list[str]) -> list[str]:
    rows = []
    for param in command.params:
        if param.name == "help" or getattr(param, "hidden", False):
            continue
        where = f"`{' '.join(words)}` {param.name}"
        if not (param.help or "").strip():
            raise MissingDescription(f"{where} has no help text (typer's help=…)")
        is_option = bool(param.opts and param.opts[0].startswith("-"))
        names = (
            " / ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            if is_option
            else f"`{param.name.upper()}`" + (" …" if param.nargs == -1 else "")
        )
        if getattr(param, "is_flag", False):
            kind = "flag"
        else:
            kind = _type_name(param.type_descriptor.annotation)
            if param.multiple:
                kind += ", repeatable"
        bounds = [f"≥ {param.min}"] if param.min is not None else []
        bounds += [f"≤ {param.max}"] if param.max is not None else []
        if bounds:
            kind += f" ({', '.join(bounds)})"
        if param.required:
            default = "required"
        elif param.default is None or param.default == []:
            default = "–"
        else:
            default = f"`{param.default}`"
        help_text = param.help + (f" Environment: `{param.envvar}`." if param.envvar else "")
        rows.append(f"| {names} | {kind} | {default} | {_cell(help_text)} |")
    return rows


def _callback_help(app) -> list[str]:
    """The app callback's docstring (what holds for every command), as a paragraph."""
    callback = app.registered_callback and app.registered_callback.callback
    return [_cell(callback.__doc__), ""] if callback and callback.__doc__ else []


def cli_reference(app=None) -> str:
    """Every command of ``app`` (ethoflow's by default), its usage and each of its parameters."""
    import typer.main

    if app is None:
        from ethoflow.cli import app
    root = typer.main.get_command(app)
    lines = [
        "# Command line",
        "",
        "Generated from the Typer app in `src/ethoflow/cli.py` at every build of this site:",
        "what `ethoflow COMMAND --help` prints, in tables.",
        "",
        _cell(root.help or ""),
        "",
        *_callback_help(app),
        "| option | type | default | meaning |",
        "|---|---|---|---|",
        *_parameter_rows(root, ["ethoflow"]),
        "",
    ]
    for words, command in _commands(root, []):
        if not (command.help or "").strip():
            raise MissingDescription(f"`ethoflow {' '.join(words)}` has no docstring")
        arguments = " ".join(
            p.name.upper() + ("…" if p.nargs == -1 else "")
            for p in command.params
            if not (p.opts and p.opts[0].startswith("-"))
        )
        usage = " ".join(part for part in ("ethoflow", *words, "[OPTIONS]", arguments) if part)
        lines += [f"## {' '.join(words)}", "", "```", usage, "```", ""]
        for paragraph in command.help.split("\n\n"):
            lines += [paragraph.strip(), ""]
        rows = _parameter_rows(command, ["ethoflow", *words])
        if rows:
            lines += ["| argument / option | type | default | meaning |", "|---|---|---|---|"]
            lines += [*rows, ""]
    return "\n".join(lines)


# --- params.yaml -----------------------------------------------------------------------------


def _settings_rows(model: type[BaseModel], shipped: dict, prefix: str) -> list[str]:
    """A row per key of ``model``, a section's keys after it; ``shipped`` is params.yaml's."""
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if not (field.description or "").strip():
            raise MissingDescription(
                f"settings key {key} has no description (Field(description=…))"
            )
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue
        default = field.get_default(call_default_factory=True)
        value = shipped.get(name, "–") if isinstance(shipped, dict) else "–"
        rows.append(
            f"| `{key}` | {_cell(_type_name(annotation))} | {_yaml_cell(default)} "
            f"| {_yaml_cell(value) if value != '–' else '–'} | {_cell(field.description)} |"
        )
    return rows


def _yaml_cell(value: object) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return f"`{text.removesuffix('...').strip()}`"


def _sections(model: type[BaseModel], prefix: str):
    """``(key prefix, model)`` for ``model`` and every settings section inside it."""
    yield prefix, model
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _sections(annotation, f"{prefix}{name}.")


def params_reference(settings: type[BaseModel] | None = None, params: Path | None = None) -> str:
    """Every key of ``settings`` (ethoflow's ``Settings``) with its type, its default, the value
    ``params`` (the repository's params.yaml) sets, and its description."""
    if settings is None:
        from ethoflow.config import Settings as settings
    params = params or ROOT / "params.yaml"
    shipped_root = yaml.safe_load(params.read_text()) or {}
    lines = [
        "# params.yaml",
        "",
        "Generated from the typed settings in `src/ethoflow/config.py` at every build of this",
        "site. *Default* is the value a key takes when `params.yaml` leaves it out; *params.yaml*",
        "is the value the repository's file sets. Relative paths resolve against the folder of",
        "`params.yaml`, strings may name environment variables (`${NAME}` or",
        "`${NAME:-default}`), and an unknown key or a wrong value stops every command with the",
        "file and the key named. Commands read it from `--params PATH` (or `ETHOFLOW_PARAMS`).",
        "",
        "```",
        "params.yaml: invalid settings",
        "  ingest.target_fsp: Extra inputs are not permitted (got 10)",
        "```",
        "",
    ]
    for prefix, model in _sections(settings, ""):
        shipped = shipped_root
        for part in prefix.rstrip(".").split(".") if prefix else []:
            shipped = shipped.get(part, {}) if isinstance(shipped, dict) else {}
        rows = _settings_rows(model, shipped, prefix)
        if not rows:
            continue
        title = prefix.rstrip(".") or "top level"
        lines += [f"## {title}", ""]
        if prefix:
            parent, _, name = prefix.rstrip(".").rpartition(".")
            owner = dict(_sections(settings, "")).get(f"{parent}." if parent else "")
            lines += [_cell(owner.model_fields[name].description), ""]
        lines += [
            "| key | type | default | params.yaml | meaning |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(lines)


# --- the Python API -----------------------------------------------------------------------------


def api_pages(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Page path (under reference/api/) → the dotted modules it documents: one page per package
    folder, holding its ``__init__`` and the modules directly in it."""
    pages = {}
    for init in sorted(package.rglob("__init__.py")):
        folder = init.parent
        dotted = ".".join(folder.relative_to(package.parent).parts)
        modules = [dotted]
        modules += [f"{dotted}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem[0] != "_"]
        pages["/".join(folder.relative_to(package.parent).parts) + ".md"] = modules
    return pages


def _write_site_pages() -> None:
    import mkdocs_gen_files

    with mkdocs_gen_files.open("reference/cli.md", "w") as page:
        page.write(cli_reference())
    with mkdocs_gen_files.open("reference/params.md", "w") as page:
        page.write(params_reference())
    summary = []
    for path, modules in api_pages().items():
        # ethoflow.md and its packages side by side; a package's subpackages under it.
        depth = max(path.count("/") - 1, 0)
        summary.append(f"{'    ' * depth}* [{modules[0]}]({path})")
        with mkdocs_gen_files.open(f"reference/api/{path}", "w") as page:
            page.write(f"# {modules[0]}\n\n")
            page.write("\n".join(f"::: {module}\n" for module in modules))
    with mkdocs_gen_files.open("reference/api/SUMMARY.md", "w") as nav:
        nav.write("\n".join(summary) + "\n")


if __name__ in {"__main__", "<run_path>"}:
    _write_site_pages()
