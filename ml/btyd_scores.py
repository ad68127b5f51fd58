"""Buy-Till-You-Die scores per snapshot: BG/NBD and Gamma-Gamma fitted on each snapshot's
purchase histories, which hold only what happened before that snapshot (no labels), so the
scores are point in time like every other feature.

For every customer and snapshot: the probability they are still a customer, the probability
of no purchase within the horizon (the field's churn score for shops and marketplaces), the
purchases expected within it, and what they are expected to spend within it if they stay
(their value at risk).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.btyd import fit_bgnbd, fit_gamma_gamma

# Columns of the histories frame (one row per customer and snapshot; times in days).
HISTORY_COLUMNS = ("customer_id", "snapshot_date", "repeat_days", "recency_days", "age_days")
SCORE_COLUMNS = (
    "btyd_p_alive",
    "btyd_p_no_purchase",
    "btyd_expected_purchases",
    "btyd_expected_spend",
)


def score_snapshot(
    histories: pd.DataFrame, horizon_days: int, average_value: np.ndarray | None = None
) -> pd.DataFrame:
    """Scores of one snapshot's customers from models fitted on those same histories.

    `histories` has repeat_days (purchase days after the first), recency_days (first to last
    purchase day) and age_days (first purchase day to the snapshot); `average_value` is each
    customer's average purchase value. Scores are NaN where the data cannot support a fit
    (too few customers, nobody who came back; spend only where the spend model fits).
    """
    x = histories["repeat_days"].to_numpy(dtype=float)
    t_x = histories["recency_days"].to_numpy(dtype=float)
    age = histories["age_days"].to_numpy(dtype=float)
    scores = pd.DataFrame(np.nan, index=histories.index, columns=list(SCORE_COLUMNS))
    try:
        purchases = fit_bgnbd(x, t_x, age)
    except (ValueError, RuntimeError):
        return scores
    scores["btyd_p_alive"] = purchases.p_alive(x, t_x, age)
    scores["btyd_p_no_purchase"] = purchases.p_no_purchase(horizon_days, x, t_x, age)
    scores["btyd_expected_purchases"] = purchases.expected_purchases(horizon_days, x, t_x, age)
    if average_value is None:
        return scores
    value = np.asarray(average_value, dtype=float)
    repeat = (x > 0) & np.isfinite(value) & (value > 0)
    try:
        spend = fit_gamma_gamma(x[repeat], value[repeat])
        per_purchase = spend.expected_average_value(x, np.where(repeat, value, 0.0))
    except (ValueError, RuntimeError):
        return scores
    # Spend if they stay: the purchases of a customer still there, at their expected value.
    rate = purchases.purchase_rate_if_alive(x, age)
    scores["btyd_expected_spend"] = rate * horizon_days * per_purchase
    return scores


def score_snapshots(
    histories: pd.DataFrame, horizon_days: int, value_column: str | None = None
) -> pd.DataFrame:
    """HISTORY_COLUMNS plus SCORE_COLUMNS for every row, fitted snapshot by snapshot (in
    customer order, so the same histories give the same fit whatever order they came in)."""
    parts = []
    ordered = histories.sort_values(["snapshot_date", "customer_id"], kind="stable")
    for _, snapshot in ordered.groupby("snapshot_date", sort=True):
        value = snapshot[value_column].to_numpy(dtype=float) if value_column else None
        scored = score_snapshot(snapshot, horizon_days, value)
        parts.append(pd.concat([snapshot[list(HISTORY_COLUMNS)], scored], axis=1))
    if not parts:
        return pd.DataFrame(columns=[*HISTORY_COLUMNS, *SCORE_COLUMNS])
    return pd.concat(parts, ignore_index=True)
