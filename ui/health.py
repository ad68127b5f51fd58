"""Words and tables for the triage verdict, shared by the Health page and the Overview badge."""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitoring.words import MONITOR_NAMES

VERDICT_TONE = {
    "healthy": "success",
    "data_quality": "error",
    "pipeline_change": "warning",
    "world_change": "warning",
    "model": "warning",
}


def evidence_table(verdict: dict[str, Any]) -> pd.DataFrame:
    """The evidence of a verdict as rows: monitor, what it is about, and what it found."""
    rows = [
        {
            "Monitor": MONITOR_NAMES.get(str(item.get("monitor")), str(item.get("monitor"))),
            "About": item.get("subject", ""),
            "Finding": item.get("message", ""),
        }
        for item in verdict.get("evidence") or []
    ]
    return pd.DataFrame(rows, columns=["Monitor", "About", "Finding"])


def counted(drift: pd.DataFrame) -> pd.Series:
    """Whether each feature's drift counts toward the verdict (all do in older warehouses)."""
    if "counted" not in drift:
        return pd.Series(True, index=drift.index)
    return drift["counted"].astype(bool)


def not_counted_sentence(drift: pd.DataFrame) -> str | None:
    """Which features' drift does not count toward the verdict and why (None if all count)."""
    skipped = drift[~counted(drift)]
    if skipped.empty:
        return None
    names = skipped["label"] if "label" in skipped else skipped["feature"]
    reasons = " ".join(dict.fromkeys(str(note) for note in skipped["note"] if note))
    return f"Not counted toward the verdict: {', '.join(map(str, names))}. {reasons}".strip()


def first_drifted(drift: pd.DataFrame) -> str | None:
    """The most severe drifted feature that counts toward the verdict, else the most severe
    counting one, else the most severe (None without features)."""
    if drift.empty:
        return None
    ordered = drift.sort_values("severity", ascending=False)
    counting = ordered[counted(ordered)]
    drifted = counting[counting["drifted"].astype(bool)]
    for candidates in (drifted, counting, ordered):
        if len(candidates):
            return str(candidates["feature"].iloc[0])
    return None


def first_alarmed_source(checks: pd.DataFrame, volume: pd.DataFrame) -> str | None:
    """The source whose volume alarmed, else the busiest source (None without volume)."""
    if volume.empty:
        return None
    if not checks.empty:
        fired = checks[(checks["check_name"] == "volume") & checks["fired"].astype(bool)]
        if len(fired):
            return str(fired["source_table"].iloc[0])
    busiest = volume.groupby("source_table")["row_count"].sum().sort_values(ascending=False)
    return str(busiest.index[0])
