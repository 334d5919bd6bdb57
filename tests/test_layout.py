"""The repository's layout: the design card's folders, and MLflow and Prefect kept out of the
library's pure parts (they live in the registry, the search's trial tracking and the flows)."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ethoflow"
PURE = [
    "evaluation.py",
    "plots.py",
    "summaries.py",
    "featurization.py",
    "features.py",
    "preprocess",
    "io",
    "labelling.py",
    "ingest.py",
    "promotion.py",
    "reports.py",
    "tracking.py",
]


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
    assert users == {Path("src/ethoflow/deployments.py")}


def test_top_level_matches_the_design_card():
    for name in ("flows", "src", "mlflow", "tests", "bench", "dvc.yaml", "params.yaml"):
        assert (ROOT / name).exists(), name
    flows = {p.stem for p in (ROOT / "flows").glob("*.py")} - {"__init__", "tasks"}
    assert flows == {"ingest", "train", "evaluate", "promote", "retrain", "label"}


def test_every_package_is_installed():
    """pyproject lists packages by hand (flows/ maps to ethoflow.flows): none may be missing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts) for p in PACKAGE.rglob("__init__.py")
    }
    assert set(config["packages"]) == found | {"ethoflow.flows"}
    assert config["package-dir"]["ethoflow.flows"] == "flows"
