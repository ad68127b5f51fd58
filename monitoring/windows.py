"""The months the monitors compare, from the `monitor_config` model (windows are dbt vars)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Windows:
    """The months the monitors compare, from the `monitor_config` model."""

    as_of: date
    recent_start: date  # first day of the recent window (days and snapshots from here on)
    current_snapshot: date  # the newest snapshot (scored, not yet matured)
    feature_reference: tuple[date, ...]  # snapshots whose features predate the recent window
    outcome_reference: tuple[date, ...]  # snapshots whose labels matured before it


def _month_starts(first: Any, last: Any) -> tuple[date, ...]:
    return tuple(
        d.date() for d in pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    )


def windows_from_config(config: dict[str, Any]) -> Windows:
    """The windows from a `monitor_config` row."""
    return Windows(
        as_of=pd.Timestamp(config["as_of_date"]).date(),
        recent_start=pd.Timestamp(config["recent_start"]).date(),
        current_snapshot=pd.Timestamp(config["current_snapshot"]).date(),
        feature_reference=_month_starts(
            config["feature_reference_from"], config["feature_reference_to"]
        ),
        outcome_reference=_month_starts(
            config["outcome_reference_from"], config["outcome_reference_to"]
        ),
    )
