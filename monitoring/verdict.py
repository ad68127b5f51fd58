"""Is it the data, the world or the model? The verdict of a build, its evidence and its owner.

The rules that feed it live beside it (monitoring.quality, monitoring.drift,
monitoring.performance; the windows they look at are dbt vars, see `monitor_config`); the
statistics they use are in ml/drift.py. Pure Python on pandas frames, so each rule is
unit-tested without a build.

| verdict | when | who acts |
|---|---|---|
| data_quality | any data-quality check fired (freshness, volume, nulls, new values, hard rules, schema) | analytics engineer |
| world_change | valid inputs drifted (2+ features, one strongly, or the scores), or churn rose | both |
| model | valid, stable inputs and outcomes, but accuracy fell below its band (more than a baseline's), or the newest month's estimate fell below it beyond its own error | ML engineer |
| healthy | nothing fired | no one |

Drift of features accumulated "to date" counts only once the data covers a year before the
reference months (see monitoring.drift).
"""  # noqa: E501

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift import MIN_DRIFTED_FEATURES, PREDICTION, STRONG_DRIFT
from monitoring.performance import accuracy_decay, churn_shift, estimated_decay
from monitoring.quality import quality_alarm, schema_checks
from monitoring.rows import records
from monitoring.windows import Windows

HEALTHY, DATA_QUALITY, WORLD_CHANGE, MODEL = "healthy", "data_quality", "world_change", "model"
PIPELINE_CHANGE = "pipeline_change"
VERDICTS = (HEALTHY, DATA_QUALITY, PIPELINE_CHANGE, WORLD_CHANGE, MODEL)
OWNERS = {
    HEALTHY: "no one",
    DATA_QUALITY: "analytics engineer",
    PIPELINE_CHANGE: "the owner of the change",
    WORLD_CHANGE: "analytics engineer and ML engineer",
    MODEL: "ML engineer",
}


@dataclass
class Verdict:
    """One build's verdict: what it is, who acts, one sentence and the evidence."""

    verdict: str
    owner: str
    summary: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    changed_at: date | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) for the run record and `status --json`."""
        data = asdict(self)
        data["changed_at"] = self.changed_at.isoformat() if self.changed_at else None
        return data


def _names(labels: dict[str, str], features: list[str]) -> str:
    named = [labels.get(f, f.replace("_", " ")) for f in features]
    return ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]


def decide(
    checks: pd.DataFrame,
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    windows: Windows,
    labels: dict[str, str] | None = None,
    model_reason: str = "",
    pipeline: tuple[pd.DataFrame, list[dict[str, Any]]] | None = None,
) -> Verdict:
    """The verdict: data quality first, then a change of the pipeline, then a world change,
    then the model, else healthy.

    Drift rows whose `counted` is False (see count_toward_verdict) are left out. `pipeline`
    is monitoring.changes.judge's (culprits, evidence) for the changes since the last build.
    """
    labels = {PREDICTION: "predicted churn probability", **(labels or {})}
    evidence: list[dict[str, Any]] = []
    fired = checks[checks["fired"].astype(bool)]
    for row in records(fired):
        evidence.append(
            {
                "monitor": row["check_name"],
                "subject": row["source_table"]
                + (f".{row['column_name']}" if row["column_name"] else ""),
                "value": row["value"],
                "limit": row["threshold"],
                "message": row["message"],
            }
        )
    counted = drift["counted"].astype(bool) if "counted" in drift else True
    moved = drift[drift["drifted"].astype(bool) & counted]
    moved = moved.sort_values("severity", ascending=False)
    inputs = moved[moved["kind"] != "prediction"]
    for row in records(moved):
        evidence.append(
            {
                "monitor": "prediction_drift" if row["kind"] == "prediction" else "feature_drift",
                "subject": row["feature"],
                "value": row["psi"],
                "limit": row["psi_limit"],
                "message": f"{labels.get(row['feature'], row['feature'])}: PSI {row['psi']:.2f} "
                f"(limit {row['psi_limit']:.2f}), Jensen-Shannon {row['js_distance']:.2f} "
                f"(limit {row['js_limit']:.2f})",
            }
        )
    churn = churn_shift(performance)
    decay = accuracy_decay(performance)
    estimate = estimated_decay(performance)
    if churn:
        evidence.append(
            {
                "monitor": "churn_rate",
                "subject": "recent matured months",
                "value": churn.recent,
                "limit": churn.limit,
                "message": f"churn rate {churn.recent:.1%} in the recent matured months vs "
                f"{churn.reference:.1%} before (limit {churn.limit:.1%})",
            }
        )
    if decay:
        evidence.append(
            {
                "monitor": "accuracy",
                "subject": "recent matured months",
                "value": decay.recent,
                "limit": decay.limit,
                "message": f"realized ROC AUC {decay.recent:.3f} in the recent matured months vs "
                f"{decay.reference:.3f} before (limit {decay.limit:.3f})",
            }
        )
    if estimate:
        evidence.append(
            {
                "monitor": "estimated_accuracy",
                "subject": "newest month (labels not matured)",
                "value": estimate.estimate,
                "limit": estimate.limit,
                "message": f"estimated ROC AUC {estimate.estimate:.3f} for {estimate.month} "
                f"(labels not matured) vs {estimate.reference:.3f} before: below its floor "
                f"{estimate.floor:.3f} by more than the estimate's own error (+/-"
                f"{estimate.band:.3f}, from {estimate.months} backtest months)",
            }
        )
    strong = bool(len(inputs)) and float(inputs["severity"].max()) >= STRONG_DRIFT
    scores_moved = bool((moved["kind"] == "prediction").any())
    world = churn is not None or len(inputs) >= MIN_DRIFTED_FEATURES or strong or scores_moved

    if len(fired):
        first = fired["first_seen"].dropna()
        changed = min(first) if len(first) else windows.recent_start
        kept = f" {model_reason}" if model_reason.startswith("Kept version") else ""
        summary = (
            f"It is the data: {quality_alarm(checks)} failed its checks, so fix the pipeline "
            f"before trusting or retraining the model.{kept}"
        )
        return Verdict(DATA_QUALITY, OWNERS[DATA_QUALITY], summary, evidence, changed)
    culprits, change_evidence = pipeline if pipeline is not None else (pd.DataFrame(), [])
    evidence = change_evidence + evidence
    if len(culprits):
        return _pipeline_change(culprits, evidence, windows)
    if world:
        parts = []
        if len(inputs):
            parts.append(
                f"valid inputs moved ({_names(labels, inputs['feature'].head(3).tolist())})"
            )
        elif scores_moved:
            parts.append("the model's scores moved")
        if churn:
            parts.append(f"churn rose to {churn.recent:.1%} from {churn.reference:.1%}")
        summary = (
            f"It is the world: {' and '.join(parts)}, while the data passed its checks; "
            "retrain and review the model."
        )
        changed = churn.first_month if churn and churn.first_month else windows.recent_start
        return Verdict(WORLD_CHANGE, OWNERS[WORLD_CHANGE], summary, evidence, changed)
    if decay:
        summary = (
            f"It is the model: inputs are valid and stable, yet its realized ROC AUC fell to "
            f"{decay.recent:.3f} from {decay.reference:.3f}, more than a logistic regression on "
            "the same features did; review the model logic."
        )
        return Verdict(MODEL, OWNERS[MODEL], summary, evidence, decay.first_month)
    if estimate:
        summary = (
            f"It is the model: inputs are valid and stable, yet the ROC AUC expected for the "
            f"newest month fell to {estimate.estimate:.3f} from {estimate.reference:.3f}, below "
            "its floor by more than the estimate's own error; review the model logic (the "
            "month's labels will confirm it once they mature)."
        )
        return Verdict(MODEL, OWNERS[MODEL], summary, evidence, estimate.month)
    summary = (
        "Nothing to fix: every source is complete and as recent as the data's newest day, "
        "inputs and scores are stable, and accuracy is within its usual range."
    )
    return Verdict(HEALTHY, OWNERS[HEALTHY], summary, evidence, None)


def _pipeline_change(
    culprits: pd.DataFrame, evidence: list[dict[str, Any]], windows: Windows
) -> Verdict:
    """The verdict when a change of code or config moved features or accuracy."""
    named = [f"{row.name} ({row.owner})" for row in culprits.itertuples()]
    owners = ", ".join(dict.fromkeys(str(owner) for owner in culprits["owner"]))
    summary = (
        f"It is a change to the pipeline: {', '.join(named[:3])}"
        + (f" and {len(named) - 3} more" if len(named) > 3 else "")
        + " changed what the model sees or how it learns since the last build, on the same "
        "data. Review that change before trusting the new scores; `python -m pipeline diff` "
        "shows its effect."
    )
    return Verdict(PIPELINE_CHANGE, owners, summary, evidence, windows.as_of)


def failed_build(failure: dict[str, str] | None) -> Verdict | None:
    """The verdict of a build that failed on its source data (contract, source tests)."""
    if not failure or failure.get("layer") != "source data":
        return None
    node = failure.get("node") or "a staging model"
    summary = (
        f"It is the data: the build failed at {node}, where raw data enters the pipeline; fix "
        "the source or its contract. The last good build keeps serving."
    )
    evidence = [
        {
            "monitor": "build",
            "subject": node,
            "value": 1.0,
            "limit": 0.0,
            "message": f"{node}: {failure.get('message', '')}",
        }
    ]
    return Verdict(DATA_QUALITY, OWNERS[DATA_QUALITY], summary, evidence, None)


def schema_evidence(changes: pd.DataFrame) -> list[dict[str, Any]]:
    """Evidence items for the raw columns added, removed or retyped since the last build."""
    return [
        {
            "monitor": "schema",
            "subject": f"{check['source_table']}.{check['column_name']}",
            "value": check["value"],
            "limit": check["threshold"],
            "message": check["message"],
        }
        for check in schema_checks(changes)
    ]


def evidence_json(evidence: list[dict[str, Any]]) -> str:
    """Evidence as JSON text for a warehouse column (numbers rounded for reading)."""

    def plain(value: Any) -> Any:
        if isinstance(value, float | np.floating):
            return None if math.isnan(value) else round(float(value), 4)
        if isinstance(value, np.integer):
            return int(value)
        return value

    return json.dumps([{key: plain(value) for key, value in item.items()} for item in evidence])
