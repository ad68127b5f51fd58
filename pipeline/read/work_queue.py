"""The at-risk work queue: the same filters and order for the app, the CSV and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ORDERS = {"risk": "churn_probability", "expected_loss": "expected_loss"}


@dataclass(frozen=True)
class QueueFilter:
    """Which at-risk customers to show, and in which order (empty tuple = no filter)."""

    segments: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    order: str = "risk"

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {sorted(ORDERS)}, not {self.order!r}")


def select(at_risk: pd.DataFrame, queue: QueueFilter) -> pd.DataFrame:
    """Customers matching the filter, highest risk (or expected loss) first."""
    keep = pd.Series(True, index=at_risk.index)
    for column, allowed in (
        ("segment", queue.segments),
        ("plan", queue.plans),
        ("region", queue.regions),
    ):
        if allowed:
            keep &= at_risk[column].isin(allowed)
    if queue.min_value is not None:
        keep &= at_risk["customer_value"] >= queue.min_value
    if queue.max_value is not None:
        keep &= at_risk["customer_value"] <= queue.max_value
    ordered = at_risk[keep].sort_values(
        [ORDERS[queue.order], "risk_rank"], ascending=[False, True], kind="stable"
    )
    return ordered.reset_index(drop=True)


def largest_tie(risk_pct: pd.Series) -> tuple[int, float] | None:
    """(how many, which risk) when more than half of a list of at least 10 customers shares
    one risk as the page shows it (whole points), else None: in a business where nearly
    everyone lapses the top risks all read 100%, and the order by risk says little there."""
    shown = risk_pct.dropna().round(0)
    if len(shown) < 10:
        return None
    counts = shown.value_counts()
    if counts.iloc[0] <= len(shown) / 2:
        return None
    return int(counts.iloc[0]), float(counts.index[0])
