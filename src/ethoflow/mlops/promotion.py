"""Champion/challenger decisions: when a candidate model version replaces the champion.

Pure rules on scores; :func:`ethoflow.mlops.champion_changes.promote_if_better` reads the scores
from the MLflow registry, applies the decision to its aliases and records it. The worst
condition's PR-AUC is the default metric so that a model is not promoted for getting better on
easy recording conditions while getting worse on a hard one.
"""

from __future__ import annotations

import math
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ethoflow.runtime.users import mlflow_user

DEFAULT_METRIC = "worst_condition_pr_auc"


@dataclass(frozen=True)
class Scored:
    """A model version and its score on the promotion metric (None: missing or not finite), and
    the conditions where it could not be measured (no positives in their validation videos)."""

    version: str
    score: float | None
    unmeasurable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """One promotion or rollback decision; champion fields describe the state before it."""

    head: str
    model_name: str
    promoted: bool
    reason: str
    candidate_version: str | None
    candidate_score: float | None
    champion_version: str | None
    champion_score: float | None
    metric: str
    decided_at: str
    decided_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    candidate: Scored | None,
    champion: Scored | None,
    *,
    architecture: str,
    metric: str,
    min_improvement: float,
) -> tuple[bool, str]:
    """(promote?, why): the candidate must score strictly more than the champion plus
    ``min_improvement``; an unscored champion is never replaced silently."""
    if not (math.isfinite(min_improvement) and min_improvement >= 0):
        raise ValueError(f"min_improvement must be finite and >= 0, got {min_improvement}")
    if candidate is None:
        return False, f"no evaluated {architecture} version"
    blind = ", ".join(candidate.unmeasurable)
    if champion is None:
        # Labelling needs a model; the gap is said, not hidden.
        return True, "no champion yet" + (f" (not measurable in {blind})" if blind else "")
    if champion.version == candidate.version:
        return False, "already champion"
    if blind:
        # The worst condition may be one it was never measured on: not proof that it is better.
        return False, (
            f"v{candidate.version} cannot be measured in {blind} (no positives in the "
            "validation videos): add validation recordings that show the behaviour"
        )
    new, old = candidate.score, champion.score
    if new is None:
        return False, f"v{candidate.version} has no finite {metric} tag; evaluate it first"
    if old is None:
        # An unscored champion (promoted by hand, or evaluated before the metric existed) cannot
        # be compared; replacing it silently could serve a worse model.
        return False, (
            f"champion v{champion.version} has no finite {metric} tag; evaluate it first"
        )
    if new > old + min_improvement:
        return True, f"{new:.4f} > champion {old:.4f} + {min_improvement}"
    return False, f"{new:.4f} <= champion {old:.4f} + {min_improvement}"


def decided_by() -> str:
    """``user@host`` of whoever runs the decision: the user the MLflow server authenticates
    when it asks for one, else the login name."""
    return f"{mlflow_user()}@{socket.gethostname()}"


def make_decision(
    head: str,
    model_name: str,
    *,
    promoted: bool,
    reason: str,
    candidate: Scored | None,
    champion: Scored | None,
    metric: str,
) -> Decision:
    """A :class:`Decision` stamped with now and who decided."""
    return Decision(
        head=head,
        model_name=model_name,
        promoted=promoted,
        reason=reason,
        candidate_version=None if candidate is None else candidate.version,
        candidate_score=None if candidate is None else candidate.score,
        champion_version=None if champion is None else champion.version,
        champion_score=None if champion is None else champion.score,
        metric=metric,
        decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        decided_by=decided_by(),
    )


def setup_improves(
    setup: str, candidate: float | None, champion: float | None, *, min_improvement: float
) -> tuple[bool, str]:
    """(may it be promoted?, why) for a set-up being adapted to: the candidate's PR-AUC on the
    set-up's validation recordings must be strictly more than the champion's (on the same
    recordings) plus ``min_improvement``. The promotion rule (:func:`decide`) still applies on
    top: it keeps every trained set-up's worst from getting worse."""
    if candidate is None:
        return False, f"the candidate has no {setup} PR-AUC (not evaluated on it)"
    if champion is None:
        return True, f"{setup} PR-AUC {candidate:.4f}; the champion has none"
    if candidate > champion + min_improvement:
        return True, f"{setup} PR-AUC {candidate:.4f} > champion {champion:.4f} + {min_improvement}"
    return False, f"{setup} PR-AUC {candidate:.4f} <= champion {champion:.4f} + {min_improvement}"
