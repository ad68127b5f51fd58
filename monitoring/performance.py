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
# The newest month's ROC AUC is estimated from its calibrated probabilities before its labels
# mature. Its band is ESTIMATE_BAND_SDS times the estimate's root-mean-square error in the
# backtest months, where the estimate and the realized value are both known (one month has
# few churners, so a month's realized AUC strays from its estimate: 0.02 on the clean demo).
# It counts as decay only when even the top of that band is below the realized floor
# (roc_auc_low); 3, like BAND_SDS, so a clean month's estimate a little under the floor is
# shown, not alarmed. With fewer than ESTIMATE_MIN_MONTHS such months the band is unknown
# and the estimate never counts.
ESTIMATE_BAND_SDS = 3.0
ESTIMATE_MIN_MONTHS = 3


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
    track_record: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Churn rate and accuracy per snapshot month, realized or estimated, with bands.

    `metrics`: backtest rows (scoring_month, method, roc_auc, precision_at_k) of the model
    ("xgboost") and its logistic baseline; `outcomes`: matured snapshots (snapshot_date,
    customers, churn_rate); `current`: the estimates for the newest, unmatured snapshot
    (customers, churn_rate, roc_auc, precision_at_k); `track_record`: the model's estimated
    ROC AUC in the backtest months (scoring_month, estimated_roc_auc), which gives the
    newest month's estimate its band (roc_auc_band, see ESTIMATE_BAND_SDS).
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
    if track_record is not None and len(track_record):
        track = track_record.assign(month=pd.to_datetime(track_record["scoring_month"]))
        frame = frame.merge(track[["month", "estimated_roc_auc"]], on="month", how="left")
    else:
        frame["estimated_roc_auc"] = math.nan
    errors = (frame["roc_auc"] - frame["estimated_roc_auc"]).dropna()
    enough = len(errors) >= ESTIMATE_MIN_MONTHS
    estimate = pd.DataFrame(
        [
            {
                "month": pd.Timestamp(windows.current_snapshot),
                "kind": "estimated",
                **current,
                "estimated_roc_auc": current.get("roc_auc", math.nan),
                "estimate_months": len(errors),
                "roc_auc_band": (
                    ESTIMATE_BAND_SDS * math.sqrt(float(np.mean(errors**2))) if enough else math.nan
                ),
            }
        ]
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
        "estimated_roc_auc", "roc_auc_band", "estimate_months",
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


@dataclass(frozen=True)
class EstimatedDecay:
    """The newest month's estimated ROC AUC below the realized floor beyond its own band."""

    estimate: float
    reference: float
    floor: float
    band: float
    months: int  # backtest months the band was learned from
    month: date | None

    @property
    def limit(self) -> float:
        """The estimate counts as decay below this: the floor minus the band."""
        return self.floor - self.band


def estimated_decay(performance: pd.DataFrame) -> EstimatedDecay | None:
    """The newest, unmatured month's estimated ROC AUC clearly below the floor the recent
    matured months are judged against (beyond ESTIMATE_BAND_SDS of its backtest error)."""
    current = performance[(performance["kind"] == "estimated") & performance["roc_auc"].notna()]
    if current.empty or "roc_auc_band" not in current:
        return None
    row = current.iloc[-1]
    estimate, band, floor = (float(row[c]) for c in ("roc_auc", "roc_auc_band", "roc_auc_low"))
    if math.isnan(band) or math.isnan(floor) or not estimate + band < floor:
        return None
    return EstimatedDecay(
        estimate,
        float(row["reference_roc_auc"]),
        floor,
        band,
        int(row["estimate_months"]),
        day(row["snapshot_date"]),
    )
