"""What the synthetic mouse does: a session's bouts of walking, resting, grooming and rearing,
and the activity and posture blend of each moment."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

# What the mouse is doing, drawn: each activity belongs to one labelled behaviour.
ACTIVITIES = {
    "walking": "neutral",
    "sniffing": "neutral",  # a pause: the head sweeps side to side
    "resting": "neutral",  # hunched and still: grooming's silhouette without its strokes
    "paw_licking": "grooming",
    "face_washing": "grooming",
    "body_licking": "grooming",
    "mid_rearing": "mid_rearing",  # unsupported, in the open
    "wall_rearing": "wall_rearing",  # supported against a wall
}
HUNCHED = ("resting", "paw_licking", "face_washing", "body_licking")
# Grooming runs head to tail (the cephalocaudal chain): paws, then face, then the flanks.
_GROOMING_CHAIN = ("paw_licking", "face_washing", "body_licking")


@dataclass(frozen=True)
class Bout:
    """One bout of a session's timeline."""

    kind: Literal["neutral", "resting", "grooming", "rearing"]
    seconds: float
    phases: tuple[tuple[str, float], ...] = ()  # grooming: (activity, end within the bout, s)
    side: float = 1.0  # body licking: which flank (+1 left, -1 right)


def _behaviour_timeline(rng: np.random.Generator, seconds: float) -> list[tuple[str, float]]:
    """Alternate neutral bouts with grooming or rearing bouts; durations in seconds.

    Neutral bouts average ~9 s and grooming ~9 s, chosen one time in seven against rearing's
    ~3 s, which gives about 10 % grooming and 20 % rearing frames.
    """
    bouts: list[tuple[str, float]] = []
    total = 0.0
    while total < seconds:
        neutral = float(np.clip(rng.gamma(3.0, 3.0), 2.0, 40.0))
        if rng.random() < 1 / 7:
            behaviour, length = "grooming", float(np.clip(rng.lognormal(math.log(9), 0.4), 4, 55))
        elif rng.random() < 0.85:
            behaviour, length = "rearing", float(rng.uniform(2.0, 3.0))
        else:
            behaviour, length = "rearing", float(rng.uniform(3.0, 10.0))
        bouts += [("neutral", neutral), (behaviour, length)]
        total += neutral + length
    return bouts


def lab_timeline(rng: np.random.Generator, acts: np.random.Generator, seconds: float) -> list[Bout]:
    """:func:`_behaviour_timeline` made like a real session: every recording of 20 s or more
    holds both behaviours, neutral bouts often contain a rest (hunched and still, as grooming
    looks in silhouette), next to a grooming or rearing bout as often as not, and each grooming
    bout runs through the grooming chain in phases of 1.5-4 s."""
    plan = _behaviour_timeline(rng, seconds)
    for needed, shortest in (("grooming", 3.0), ("rearing", 2.0)):
        starts = np.cumsum([0.0] + [seconds for _, seconds in plan[:-1]])
        shown = [kind for (kind, _), start in zip(plan, starts, strict=True) if start < seconds - 4]
        if needed in shown:
            continue
        # Into the longest neutral bout that starts early enough, without moving later bouts.
        room = [
            i
            for i, ((kind, n), start) in enumerate(zip(plan, starts, strict=True))
            if kind == "neutral" and n >= shortest + 2 and start + 1 < seconds - 4
        ]
        if room:
            i = max(room, key=lambda j: plan[j][1])
            n = plan[i][1]
            length = min(2 * shortest, n - 2)
            plan[i : i + 1] = [("neutral", 1.0), (needed, length), ("neutral", n - 1 - length)]
    bouts: list[Bout] = []
    for kind, length in plan:
        if kind == "neutral" and length > 4 and acts.random() < 0.45:
            rest = min(0.7 * length, float(acts.uniform(3.0, 12.0)))
            walk = Bout("neutral", length - rest)
            pair = (
                [Bout("resting", rest), walk]
                if acts.random() < 0.5
                else [walk, Bout("resting", rest)]
            )
            bouts += pair
        elif kind == "grooming":
            phases, end, step = [], 0.0, int(acts.integers(len(_GROOMING_CHAIN)))
            while end < length:
                end = min(length, end + float(acts.uniform(1.5, 4.0)))
                phases.append((_GROOMING_CHAIN[step % len(_GROOMING_CHAIN)], end))
                step += 1
            bouts.append(Bout("grooming", length, tuple(phases), float(acts.choice([-1.0, 1.0]))))
        else:
            bouts.append(Bout(kind, length))  # type: ignore[arg-type]
    return bouts


def _ramp(t: float, length: float, rise: float) -> float:
    """Shape blend 0→1→0 across a bout, so postures change over a few frames, not in one."""
    return float(np.clip(min(t, length - t) / rise, 0.0, 1.0))


def activity_at(
    bout: Bout, behaviour: str, t_bout: float, pause_left: float, pause_length: float
) -> tuple[str, float]:
    """What the mouse does this frame and how far its posture is blended in (0..1)."""
    if bout.kind == "grooming":
        phase = next((a for a, end in bout.phases if t_bout < end), bout.phases[-1][0])
        return phase, _ramp(t_bout, bout.seconds, 0.3)
    if bout.kind == "resting":
        return "resting", _ramp(t_bout, bout.seconds, 0.4)
    if bout.kind == "neutral":
        if pause_left <= 0:
            return "walking", 0.0
        # Long sits (wall_sitting) are rests; ordinary pauses are spent sniffing.
        activity = "resting" if pause_length > 3.0 else "sniffing"
        return activity, _ramp(pause_length - pause_left, pause_length, 0.3)
    return behaviour, _ramp(t_bout, bout.seconds, 0.3)
