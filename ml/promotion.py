"""Which model scores this build: the new candidate, the model in service, or a pinned one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Decision:
    """The model chosen for scoring, and why, in words for the Pipeline page."""

    model_version: str
    candidate_version: str
    promoted: bool
    reason: str


def decide(
    candidate_version: str,
    candidate_auc: float,
    in_service_version: str | None,
    in_service_auc: float | None,
    pinned: bool,
    tolerance: float,
) -> Decision:
    """Promote the candidate unless a model is pinned or the candidate is clearly worse."""
    if pinned and in_service_version:
        return Decision(
            in_service_version,
            candidate_version,
            False,
            f"Model {in_service_version} is pinned (python -m pipeline model use); "
            f"candidate {candidate_version} was registered but not put in service.",
        )
    if in_service_version is None or in_service_auc is None or np.isnan(in_service_auc):
        return Decision(candidate_version, candidate_version, True, "First model in service.")
    if np.isnan(candidate_auc):
        return Decision(
            in_service_version,
            candidate_version,
            False,
            "The candidate has no backtest yet (too little matured history), so the model in "
            "service keeps scoring.",
        )
    if candidate_auc < in_service_auc - tolerance:
        return Decision(
            in_service_version,
            candidate_version,
            False,
            f"Candidate backtest ROC AUC {candidate_auc:.3f} is more than {tolerance:.2f} below "
            f"the model in service ({in_service_auc:.3f}); the model in service keeps scoring.",
        )
    return Decision(
        candidate_version,
        candidate_version,
        True,
        f"Candidate backtest ROC AUC {candidate_auc:.3f} vs {in_service_auc:.3f} for the "
        "previous model: within tolerance or better, so it went into service.",
    )


def as_row(decision: Decision, record: dict[str, Any]) -> dict[str, Any]:
    """The chosen model's registry record plus the decision columns."""
    return {
        **record,
        "candidate_version": decision.candidate_version,
        "promoted": decision.promoted,
        "decision_reason": decision.reason,
    }
