"""The verdict and its monitors in owners' words, for the Health page, the Overview and the CLI."""

from __future__ import annotations

from typing import Any

# The verdict as a business owner reads it, and how loudly to show it.
VERDICT_NAMES = {
    "healthy": "Healthy",
    "data_quality": "Data problem",
    "pipeline_change": "Pipeline changed",
    "world_change": "World changed",
    "model": "Model decaying",
}
MONITOR_NAMES = {
    "build": "Build failure",
    "freshness": "Freshness",
    "volume": "Row volume",
    "null_rate": "Null rate",
    "new_values": "New values",
    "out_of_range": "Out of range",
    "schema": "Schema change",
    "feature_drift": "Feature drift",
    "prediction_drift": "Score drift",
    "churn_rate": "Churn rate",
    "accuracy": "Accuracy",
    "pipeline_change": "Code or config change",
    "pipeline_shift": "Feature moved by a change",
    "pipeline_accuracy": "Accuracy moved by a change",
    "estimated_accuracy": "Estimated accuracy",
}


def verdict_name(verdict: dict[str, Any] | None) -> str:
    """The badge text of a verdict ("Not available" without one)."""
    if not verdict:
        return "Not available"
    return VERDICT_NAMES.get(str(verdict.get("verdict")), str(verdict.get("verdict")))


def owner_name(verdict: dict[str, Any]) -> str:
    """Who should act, capitalized for the start of a line ("ML" stays upper case)."""
    owner = str(verdict.get("owner") or "no one")
    return owner[:1].upper() + owner[1:]
