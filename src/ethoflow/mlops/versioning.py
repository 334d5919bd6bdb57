"""Data versioning with DVC: track recordings, push them to the remote, pull them back."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import yaml

from ethoflow.config import Settings


def _repo(root: str | Path):
    from dvc.repo import Repo  # heavy import, only when versioning is used

    return Repo(str(root))


def track_data(root: str | Path, paths: Sequence[str | Path]) -> list[Path]:
    """``dvc add`` each path (a file or a folder) under the DVC repo at ``root``; return .dvc files.

    Re-tracking unchanged data is a no-op, so this is safe to re-run.
    """
    targets = [Path(p).resolve() for p in paths]
    for target in targets:
        if not target.exists():
            raise FileNotFoundError(f"{target}: nothing to track")
    with _repo(root) as repo:
        repo.add([str(t) for t in targets])
    return [t.with_name(f"{t.name}.dvc") for t in targets]


def push_data(root: str | Path, *, remote: str | None = None) -> int:
    """Push tracked data to ``remote`` (the repo's default remote if None); return files pushed."""
    with _repo(root) as repo:
        return int(repo.push(remote=remote))


def default_remote(root: str | Path) -> str | None:
    """The name of the default remote of the DVC repo at ``root`` (None: it has none)."""
    with _repo(root) as repo:
        return repo.config["core"].get("remote")


def pull_data(root: str | Path, *, remote: str | None = None) -> None:
    """Fetch tracked data from the remote and check it out into the workspace."""
    with _repo(root) as repo:
        repo.pull(remote=remote)


def data_version(dvc_file: str | Path) -> str:
    """The content hash DVC recorded for a tracked path: the data's version id."""
    meta = yaml.safe_load(Path(dvc_file).read_text())
    return str(meta["outs"][0]["md5"])


def dataset_lineage(raw_dir: Path, features_dir: Path) -> dict[str, str]:
    """Version ids of what a model is trained on, for MLflow tags.

    ``data_version``: DVC's hash of the raw recordings (``untracked`` if not under DVC);
    ``features_version``: a hash of the ingest manifest and feature matrices.
    """
    from ethoflow.io.digest import file_digest

    raw_dvc = Path(raw_dir).with_name(Path(raw_dir).name + ".dvc")
    features = sorted(Path(features_dir).glob("videos/*.npy"))
    return {
        "data_version": data_version(raw_dvc) if raw_dvc.is_file() else "untracked",
        "features_version": file_digest([Path(features_dir) / "manifest.csv", *features])[:12],
    }


def git_commit(repo: Path) -> str | None:
    """HEAD's hash, suffixed ``-dirty`` if tracked files changed; None outside git (or no git).

    Untracked files do not count as dirty, as with ``git describe --dirty``.
    """
    # No optional locks: `git status` would otherwise rewrite the index of a repo others use.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["git", "-C", str(repo), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    try:
        head = git("rev-parse", "--verify", "HEAD")
    except FileNotFoundError:  # git is not installed
        return None
    if head.returncode != 0:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    return head.stdout.strip() + ("-dirty" if changes.stdout.strip() else "")


def training_lineage(settings: Settings) -> dict[str, str]:
    """What a model is trained on, as MLflow tags: data and features versions, the code's git
    commit and the featurisation id that labelling must reproduce (from ingest's summary)."""
    import ethoflow

    summary_path = settings.paths.features / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{summary_path}: no ingest summary; run the ingest flow first")
    summary = json.loads(summary_path.read_text())
    return {
        **dataset_lineage(settings.paths.raw, settings.paths.features),
        "git_commit": git_commit(Path(ethoflow.__file__).parent) or "unknown",
        "featurization": summary["featurization"],
    }
