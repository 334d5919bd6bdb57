"""The repository's layout: the design card's folders, MLflow and Prefect kept out of the
library's pure parts (they live in the registry, the search's trial tracking and the flows), and
the tests' tiers sharing their builders through tests/helpers."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ethoflow"
TESTS = ROOT / "tests"
# The library's pure parts: no MLflow, no Prefect (those live in mlops' other modules,
# the search's trial logging, the flows and the entry points).
PURE = [
    "data",
    "evaluation",
    "features",
    "io",
    "labelling",
    "models",
    "runtime",
    "synth",
    "vision",
    "postprocess.py",
    "mlops/model_card.py",
    "mlops/promotion.py",
]
# The pipeline's layers, lowest first: a package imports from its own layer or lower ones. The
# entry points (cli, demo, ui) and flows/ sit on top and may import any.
LAYERS = [
    {"errors", "config", "io", "runtime"},
    {"vision"},
    {"features"},
    {"data"},
    {"models", "postprocess"},
    {"training"},
    {"evaluation"},
    {"labelling"},
    {"mlops", "synth"},
]
ENTRY_POINTS = {"cli", "demo", "ui", "flows"}
# Imports against the layers, each for a reason: Prefect's deployments name the flows they
# run, and the search logs each trial's model to the registry as it ends.
UPWARD = {("mlops/deployments.py", "flows"), ("training/search.py", "mlops")}


def _imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, also inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("part", PURE)
def test_pure_parts_import_neither_mlflow_nor_prefect(part):
    target = PACKAGE / part
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    for path in files:
        assert not _imports(path) & {"mlflow", "prefect"}, path.relative_to(ROOT)


def test_flows_are_the_only_prefect_users():
    users = {p.relative_to(ROOT) for p in PACKAGE.rglob("*.py") if "prefect" in _imports(p)}
    assert users == {Path("src/ethoflow/mlops/deployments.py")}


def test_top_level_matches_the_design_card():
    for name in ("flows", "src", "mlflow", "tests", "bench", "dvc.yaml", "params.yaml"):
        assert (ROOT / name).exists(), name
    flows = {p.stem for p in (ROOT / "flows").glob("*.py")} - {"__init__", "tasks"}
    assert flows == {"ingest", "train", "evaluate", "promote", "retrain", "label", "adapt"}


def test_every_package_is_installed():
    """pyproject lists packages by hand (flows/ maps to ethoflow.flows): none may be missing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts) for p in PACKAGE.rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"ethoflow.flows"}
    assert config["package-dir"]["ethoflow.flows"] == "flows"


def _part(module: str) -> str:
    """The package (or top-level module) of an ``ethoflow.…`` module name."""
    return module.split(".")[1] if module.count(".") else module


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_packages_import_only_their_layer_and_below(path):
    relative = path.relative_to(PACKAGE)
    part = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    if part in ENTRY_POINTS or part == "__init__":
        return
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if node.module == "ethoflow":
            targets = [alias.name for alias in node.names]
        elif node.module.startswith("ethoflow."):
            targets = [_part(node.module)]
        else:
            continue
        for target in targets:
            if (str(relative), target) in UPWARD:
                continue
            assert target not in ENTRY_POINTS, f"{relative} imports the entry point {target}"
            assert layer[target] <= layer[part], f"{relative} ({part}) imports {target}, a layer up"


def test_every_module_sits_in_a_layer():
    parts = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    parts |= {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert parts == set().union(*LAYERS) | ENTRY_POINTS - {"flows"}


def test_no_test_module_imports_another():
    """Shared builders live in tests/helpers: a test module imported by another would bring its
    fixtures and tests along, and tie the two modules' order and state together."""
    test_modules = {p.stem for p in TESTS.rglob("test_*.py")} | {"conftest"}
    for path in sorted(TESTS.rglob("*.py")):
        imported = _imports(path) & test_modules
        assert not imported, f"{path.relative_to(ROOT)} imports {sorted(imported)}"


def test_every_test_module_sits_in_a_tier():
    tiers = {"unit", "integration", "e2e"}
    for path in TESTS.rglob("test_*.py"):
        assert path.relative_to(TESTS).parts[0] in tiers, path.relative_to(ROOT)
