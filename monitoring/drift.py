"""Drift rules: how much feature and score drift counts, and when "to date" features count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml import relations
from ml.drift import feature_profiles
from ml.frame import CUSTOMER, SNAPSHOT
from ml.train import ChurnModel
from monitoring.windows import Windows

# Feature drift: PSI and Jensen-Shannon distance of the current snapshot against the pooled
# reference months, on DRIFT_BINS quantile bins. A limit is DRIFT_FACTOR times the largest
# leave-one-out value among the reference months, never below its floor.
DRIFT_BINS = 10
# Numeric features with at most VALUE_BIN_LIMIT distinct values in the reference (counts such
# as failed payments or urgent tickets, mostly zero) get one bin per value, plus one for higher
# values: their deciles are all 0, so quantile bins would put everyone in one bin and miss
# 20% of customers getting two failed payments. 20 is where Evidently, too, stops treating
# numbers as categories, so both tools bin such features alike.
VALUE_BIN_LIMIT = 20
DRIFT_FACTOR = 2.0
PSI_FLOOR = 0.1
JS_FLOOR = 0.1
# Input drift means a world change when this many features drifted, or one by STRONG_DRIFT
# times its limit (PSI 0.2 at the floor: "significant" by the usual convention); drift of
# the scores alone also counts.
MIN_DRIFTED_FEATURES = 2
STRONG_DRIFT = 2.0
# Features accumulated since a customer's first record in the data (column meta
# `drift: to_date`: totals to date, average and largest payment, usual gap between active
# days) grow by construction while the data is young: for customers older than the data,
# the first record is the data's first day, and yearly events (annual payments) have not
# all happened yet. Their drift counts only when the data covers TO_DATE_MIN_HISTORY_MONTHS
# (one yearly cycle) before the first reference snapshot; otherwise it is shown, not counted.
# Their effect on the model still counts through the scores' drift.
TO_DATE = "to_date"
TO_DATE_MIN_HISTORY_MONTHS = 12

PREDICTION = "predicted_churn_probability"
# Rows per month the profiles are computed on: above it, the same sample of customers every
# build (relations.sample_of). A bin's share then moves by about a tenth of a percent; on the
# 1,000,000-account demo (613,000 customers a month) PSI and JS moved by at most 0.007, the
# verdict not at all, and the profiles took 9 s instead of 57 s (docs/speed.md).
PROFILE_ROWS_PER_MONTH = 100_000


def model_profiles(
    snapshots: Any,
    fitted: ChurnModel,
    windows: Windows,
    rows_per_month: int = PROFILE_ROWS_PER_MONTH,
) -> pd.DataFrame:
    """Binned distributions of the model's features and scores in the reference months and the
    newest snapshot (`snapshots`: the feature mart, a ref on either engine), scored by the
    model in service, so score drift reflects the inputs, not a model change. Months of more
    than `rows_per_month` customers are profiled on a fixed sample of them."""
    months = [*windows.feature_reference, windows.current_snapshot]
    dates = ", ".join(f"DATE '{month.isoformat()}'" for month in months)
    where = f"{SNAPSHOT} in ({dates})"
    per_month = relations.scalar(relations.select(snapshots, [SNAPSHOT], where), "count(*)")
    per_month = (per_month or 0) / len(months)
    if per_month > rows_per_month:
        where += f" and {relations.sample_of(snapshots, CUSTOMER, rows_per_month / per_month)}"
    # Only the snapshot date and the model's features, not every column of the mart.
    columns = [SNAPSHOT, *fitted.config.features]
    rows = relations.select(snapshots, columns, where=where)
    profiles = feature_profiles
    if relations.is_spark(rows):  # scored and binned where the rows are
        from ml import distributed_profiles

        profiles = distributed_profiles.feature_profiles
        frame = distributed_profiles.with_score(
            rows,
            SNAPSHOT,
            fitted.config.numeric_features,
            fitted.config.categorical_features,
            PREDICTION,
            fitted.predict_proba,
        )
    else:
        frame = relations.to_pandas(rows)
        frame[PREDICTION] = fitted.predict_proba(frame) if len(frame) else []
    return profiles(
        frame,
        numeric=fitted.config.numeric_features,
        categorical=fitted.config.categorical_features,
        period=SNAPSHOT,
        reference_periods=windows.feature_reference,
        current_period=windows.current_snapshot,
        bins=DRIFT_BINS,
        scores=[PREDICTION],
        value_limit=VALUE_BIN_LIMIT,
    )


def to_date_note(history_months: int) -> str:
    """Why drift of a "to date" feature does not count with this much history, in a sentence."""
    covered = f"{history_months} month{'s' if history_months != 1 else ''}"
    return (
        f"Accumulated since each customer's first record: with only {covered} of data before "
        f"the reference months ({TO_DATE_MIN_HISTORY_MONTHS} needed), such features grow by "
        "construction. Their effect on the model still shows in the scores' drift."
    )


def count_toward_verdict(
    drift: pd.DataFrame, to_date: list[str], history_months: int
) -> pd.DataFrame:
    """The drift table with `counted` (does the feature's drift count toward the verdict) and
    `note` (why not, or empty): "to date" features count only with a year of history."""
    young = history_months < TO_DATE_MIN_HISTORY_MONTHS
    skipped = drift["feature"].isin(to_date) & young
    return drift.assign(
        counted=~skipped.to_numpy(dtype=bool),
        note=np.where(skipped, to_date_note(history_months), ""),
    )
