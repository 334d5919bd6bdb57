"""The demo's own settings: its search budget in place of train's, and parallel synthesis."""

import hashlib
from pathlib import Path

import pandas as pd

from ethoflow import demo
from ethoflow.config import load_settings
from ethoflow.synth.conditions import CONDITIONS
from ethoflow.synth.lab import synthesize_lab

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def test_the_demo_searches_on_a_smaller_budget_than_training():
    settings = load_settings(PROJECT_PARAMS)
    budget = demo.demo_budget(settings)
    t = settings.train
    assert budget.n_trials < t.n_trials and budget.max_epochs < t.max_epochs
    assert budget.patience <= t.patience


def test_an_unset_demo_budget_is_trains(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        "train:\n  n_trials: 7\n  max_epochs: 9\n  patience: 3\ndemo:\n  n_trials: 2\n"
    )
    budget = demo.demo_budget(load_settings(params))
    assert (budget.n_trials, budget.max_epochs, budget.patience) == (2, 9, 3)


def test_the_demo_retrains_with_its_budget(tmp_path, monkeypatch):
    """run_demo hands the demo's budget to the retrain flow (everything around it stubbed)."""
    import ethoflow.flows.label
    import ethoflow.flows.retrain
    import ethoflow.mlops.deployments
    import ethoflow.mlops.versioning

    params = tmp_path / "params.yaml"
    params.write_text(
        "train:\n  n_trials: 20\n  max_epochs: 30\n  patience: 6\n"
        "demo:\n  n_trials: 2\n  max_epochs: 12\n  patience: 4\n"
        "synth:\n  inbox_videos: 1\n  minutes: 0.02\n"  # drawn for real, in the background
    )
    settings = load_settings(params)
    seen = {}

    def retrain_flow(params, budget):
        seen.update(budget.model_dump(include={"n_trials", "max_epochs", "patience"}))
        return {"ingest": {"text": ""}, "train": [], "evaluate": [], "promote": []}

    monkeypatch.setattr(ethoflow.flows.retrain, "retrain_flow", retrain_flow)
    monkeypatch.setattr(
        ethoflow.flows.label, "label_flow", lambda **_: {"counts": {}, "outcomes": []}
    )
    monkeypatch.setattr(ethoflow.mlops.versioning, "track_data", lambda *_: None)
    monkeypatch.setattr(ethoflow.mlops.versioning, "push_data", lambda *_: 0)
    lab = pd.DataFrame({"condition": ["c1"], "frames": [10]})
    monkeypatch.setattr(demo, "write_lab", lambda _: lab)
    monkeypatch.setattr(demo, "agreement", lambda *_: pd.DataFrame())
    monkeypatch.setattr(demo, "retrain_text", lambda _: "")
    monkeypatch.setattr("ethoflow.mlops.deployments.use_local_prefect", lambda _: None)
    said = []
    demo.run_demo(settings, params, echo=said.append)
    assert seen == {"n_trials": 2, "max_epochs": 12, "patience": 4}
    assert any("2 trials" in line and "20 trials" in line for line in said)
    assert [p.name for p in settings.paths.inbox.rglob("*.mp4")] == ["c4_v00.mp4"]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_parallel_synthesis_writes_the_same_bytes(tmp_path):
    kwargs = dict(videos_per_condition=2, minutes=0.03, seed=5, conditions=CONDITIONS[:2])
    one = synthesize_lab(tmp_path / "1" / "raw", tmp_path / "1" / "truth", workers=1, **kwargs)
    two = synthesize_lab(tmp_path / "2" / "raw", tmp_path / "2" / "truth", workers=2, **kwargs)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.video_id) == ["c1_v00", "c1_v01", "c2_v00", "c2_v01"]
    assert _digests(tmp_path / "1") == _digests(tmp_path / "2")
