"""Warehouse rows as plain values, for the monitoring rules."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (typed loosely on purpose: they come from warehouse tables)."""
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]


def day(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).date()
