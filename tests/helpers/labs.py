"""Small synthetic labs, each drawn once a session and copied for every later test asking for it."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd

from ethoflow.synth.conditions import CONDITIONS, Condition
from ethoflow.synth.lab import synthesize_lab

_drawn: Path | None = None  # this session's labs, each in a folder named by its arguments' digest


def draw_labs_in(folder: Path | None) -> None:
    """Keep the labs drawn from now on in ``folder`` (None: draw each anew; tests/conftest.py
    sets the session's folder)."""
    global _drawn
    _drawn = folder


def small_lab(
    raw: Path,
    truth: Path,
    conditions: tuple[Condition, ...] = CONDITIONS,
    *,
    videos: int,
    minutes: float,
    seed: int,
    light_mouse_fraction: float = 0.25,
) -> pd.DataFrame:
    """``synthesize_lab``'s recordings of ``conditions`` in ``raw`` (``<condition>/<video_id>``)
    and their truth in ``truth``; returns the lab's inventory.

    A lab is drawn once a session and copied for each later test that asks for the same one: the
    same bytes (a recording depends only on its seed, tests/unit/test_synth.py), without the
    seconds of drawing them again.
    """
    kwargs = dict(
        videos_per_condition=videos,
        minutes=minutes,
        seed=seed,
        light_mouse_fraction=light_mouse_fraction,
        conditions=conditions,
    )
    if _drawn is None:  # outside a test session
        return synthesize_lab(raw, truth, **kwargs)
    drawn = _drawn / hashlib.sha256(repr(sorted(kwargs.items())).encode()).hexdigest()[:16]
    if not (drawn / "done").is_file():
        shutil.rmtree(drawn, ignore_errors=True)  # a draw cut short
        synthesize_lab(drawn / "raw", drawn / "truth", **kwargs)
        (drawn / "done").touch()
    shutil.copytree(drawn / "raw", raw, dirs_exist_ok=True)
    shutil.copytree(drawn / "truth", truth, dirs_exist_ok=True)
    return pd.read_csv(Path(truth) / "lab.csv")
