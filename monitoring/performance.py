"""Outcome and accuracy monitors: churn and realized ROC AUC per month against learned bands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from monitoring.rows import day
from monitoring.windows import Windows

# Outcomes and accuracy: the mean over the recent matured months against the reference
# months' mean, by at least a minimum and by BAND_SDS standard errors of the difference of
# the two means (month-to-month SD of the reference months).
BAND_SDS = 3.0
CHURN_MIN_RISE = 0.2  # relative: churn 20% above its reference rate
AUC_MIN_DROP = 0.03  # absolute ROC AUC
# Accuracy decay is the model's only when its lead over the logistic regression on the same
# customers and features shrank too: months that are harder for every method (fewer or
# less typical churners) are not the model's fault.
LEAD_MIN_DROP = 0.02  # absolute ROC AUC
BASELINE = "logistic"


def _band(reference: pd.Series, recent: pd.Series) -> tuple[float, float]:
    """The reference mean, and BAND_SDS standard errors of (recent mean - reference mean)."""
    ref = reference.dropna().astype(float)
    if ref.empty:
        return math.nan, math.nan
    sd = float(ref.std(ddof=1)) if len(ref) > 1 else 0.0
    n_recent = max(int(recent.notna().sum()), 1)
    return float(ref.mean()), BAND_SDS * sd * math.sqrt(1 / len(ref) + 1 / n_recent)


def performance_table(
    metrics: pd.DataFrame,
    outcomes: pd.DataFrame,
    current: dict[str, float],
    windows: Windows,
) -> pd.DataFrame:
    """Churn rate and accuracy per snapshot month, realized or estimated, with bands.

    `metrics`: backtest rows (scoring_month, method, roc_auc, precision_at_k) of the model
    ("xgboost") and its logistic baseline; `outcomes`: matured snapshots (snapshot_date,
    customers, churn_rate); `current`: the estimates for the newest, unmatured snapshot
    (customers, churn_rate, roc_auc, precision_at_k).
    """
    realized = outcomes.assign(month=pd.to_datetime(outcomes["snapshot_date"]))
    backtest = metrics.assign(month=pd.to_datetime(metrics["scoring_month"]))
    model = backtest[backtest["method"] == "xgboost"]
    baseline = backtest.loc[backtest["method"] == BASELINE, ["month", "roc_auc"]]
    frame = (
        realized[["month", "customers", "churn_rate"]]
        .merge(model[["month", "roc_auc", "precision_at_k"]], on="month", how="left")
        .merge(baseline.rename(columns={"roc_auc": "baseline_roc_auc"}), on="month", how="left")
    )
    frame["kind"] = "realized"
    estimate = pd.DataFrame(
        [{"month": pd.Timestamp(windows.current_snapshot), "kind": "estimated", **current}]
    )
    frame = pd.concat([frame, estimate], ignore_index=True).sort_values("month")
    reference = {pd.Timestamp(d) for d in windows.outcome_reference}
    recent_start = pd.Timestamp(windows.recent_start)
    frame["time_window"] = np.select(
        [
            frame["kind"] == "estimated",
            frame["month"].isin(reference),
            frame["month"] >= recent_start,
        ],
        ["current", "reference", "recent"],
        "earlier",
    )
    frame["model_lead"] = frame["roc_auc"] - frame["baseline_roc_auc"]
    ref = frame[frame["time_window"] == "reference"]
    recent = frame[frame["time_window"] == "recent"]
    churn_mean, churn_margin = _band(ref["churn_rate"], recent["churn_rate"])
    auc_mean, auc_margin = _band(ref["roc_auc"], recent["roc_auc"])
    lead_mean, _ = _band(ref["model_lead"], recent["model_lead"])
    frame["reference_churn_rate"] = churn_mean
    frame["churn_rate_high"] = churn_mean + max(CHURN_MIN_RISE * churn_mean, churn_margin)
    frame["reference_roc_auc"] = auc_mean
    frame["roc_auc_low"] = auc_mean - max(AUC_MIN_DROP, auc_margin)
    frame["reference_model_lead"] = lead_mean
    frame["snapshot_date"] = frame.pop("month").dt.date
    columns = [
        "snapshot_date", "time_window", "kind", "customers", "churn_rate", "roc_auc",
        "precision_at_k", "baseline_roc_auc", "model_lead", "reference_churn_rate",
        "churn_rate_high", "reference_roc_auc", "roc_auc_low", "reference_model_lead",
    ]  # fmt: skip
    return frame[columns].reset_index(drop=True)


@dataclass(frozen=True)
class Shift:
    """A recent mean outside its reference band, and the first recent month outside it."""

    recent: float
    reference: float
    limit: float
    first_month: date | None


def churn_shift(performance: pd.DataFrame) -> Shift | None:
    """Churn of the recent matured months above its band, or None."""
    recent = performance[
        (performance["time_window"] == "recent") & performance["churn_rate"].notna()
    ]
    if recent.empty or performance["churn_rate_high"].isna().all():
        return None
    high = float(performance["churn_rate_high"].iloc[0])
    mean = float(recent["churn_rate"].mean())
    if not mean > high:
        return None
    first = recent.loc[recent["churn_rate"] > high, "snapshot_date"]
    reference = float(performance["reference_churn_rate"].iloc[0])
    return Shift(mean, reference, high, day(first.min()) if len(first) else None)


def accuracy_decay(performance: pd.DataFrame) -> Shift | None:
    """Realized ROC AUC of the recent matured months below its band while the model's lead
    over the logistic baseline shrank by LEAD_MIN_DROP too, or None."""
    recent = performance[(performance["time_window"] == "recent") & performance["roc_auc"].notna()]
    if recent.empty or performance["roc_auc_low"].isna().all():
        return None
    low = float(performance["roc_auc_low"].iloc[0])
    mean = float(recent["roc_auc"].mean())
    if not mean < low:
        return None
    lead_before = float(performance["reference_model_lead"].iloc[0])
    lead_now = float(recent["model_lead"].mean())
    # NaN (no baseline) compares False: then the AUC band alone decides.
    if lead_before - lead_now < LEAD_MIN_DROP:
        return None  # every method found these months harder: not the model
    first = recent.loc[recent["roc_auc"] < low, "snapshot_date"]
    reference = float(performance["reference_roc_auc"].iloc[0])
    return Shift(mean, reference, low, day(first.min()) if len(first) else None)
