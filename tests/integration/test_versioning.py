import shutil
import subprocess
from pathlib import Path

import pytest

from ethoflow.mlops.versioning import (
    data_version,
    default_remote,
    git_commit,
    pull_data,
    push_data,
    track_data,
)
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.recording import write_recording


@pytest.fixture
def dvc_repo(tmp_path):
    """A git + DVC repo configured like the project's: a local default remote beside it."""
    from dvc.repo import Repo

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    Repo.init(str(root)).close()
    (root / ".dvc" / "config").write_text(
        "[core]\n    analytics = false\n    remote = local\n"
        "['remote \"local\"']\n    url = ../../dvcstore\n"
    )
    return root


def test_default_remote_names_the_remote_pushes_go_to(dvc_repo):
    assert default_remote(dvc_repo) == "local"
    (dvc_repo / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    assert default_remote(dvc_repo) is None


def test_push_remove_pull_round_trip(dvc_repo, tmp_path):
    raw = dvc_repo / "data" / "raw" / "condition_1"
    write_recording(
        raw / "v.mp4",
        raw / "v.csv",
        dvc_repo / "data" / "truth" / "v.csv",
        condition=CONDITIONS[0],
        seconds=1,
        seed=1,
    )
    original = {p.relative_to(dvc_repo): p.read_bytes() for p in (dvc_repo / "data").rglob("*.*")}

    dvc_files = track_data(dvc_repo, [dvc_repo / "data" / "raw", dvc_repo / "data" / "truth"])
    assert [p.name for p in dvc_files] == ["raw.dvc", "truth.dvc"]
    assert "/raw" in (dvc_repo / "data" / ".gitignore").read_text()
    assert push_data(dvc_repo) == 5  # three files and the two folders' manifests
    assert push_data(dvc_repo) == 0  # already on the remote
    assert (tmp_path / "dvcstore" / "files" / "md5").is_dir()

    shutil.rmtree(dvc_repo / "data" / "raw")
    shutil.rmtree(dvc_repo / "data" / "truth")
    shutil.rmtree(dvc_repo / ".dvc" / "cache")
    pull_data(dvc_repo)
    restored = {p: (dvc_repo / p).read_bytes() for p in original}
    assert restored == original


def test_retracking_unchanged_data_keeps_the_version(dvc_repo):
    data = dvc_repo / "data" / "raw"
    data.mkdir(parents=True)
    (data / "a.csv").write_text("Grooming,Rearing\n0,1\n")
    (dvc_file,) = track_data(dvc_repo, [data])
    version = data_version(dvc_file)
    track_data(dvc_repo, [data])
    assert data_version(dvc_file) == version
    (data / "a.csv").write_text("Grooming,Rearing\n1,1\n")
    track_data(dvc_repo, [data])
    assert data_version(dvc_file) != version


def test_tracking_a_missing_path_fails(dvc_repo):
    with pytest.raises(FileNotFoundError, match="nothing to track"):
        track_data(dvc_repo, [dvc_repo / "data" / "absent"])


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    command = ["git", "-C", str(repo), *identity, "-c", "commit.gpgsign=false", *args]
    subprocess.run(command, check=True, capture_output=True)


def test_git_commit_clean_then_dirty(tmp_path):
    _git(tmp_path, "init")
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    _git(tmp_path, "add", "params.yaml")
    _git(tmp_path, "commit", "-m", "init")
    clean = git_commit(tmp_path)
    assert clean is not None and len(clean) == 40
    assert all(c in "0123456789abcdef" for c in clean)
    (tmp_path / "untracked.txt").write_text("ignored\n")
    assert git_commit(tmp_path) == clean
    (tmp_path / "params.yaml").write_text("seed: 2\n")
    assert git_commit(tmp_path) == f"{clean}-dirty"


def test_git_commit_outside_repo(tmp_path, monkeypatch):
    # Stop git from finding a repository above the temporary folder.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) is None
