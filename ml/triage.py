"""Is it the data, the world or the model? The verdict of a build, its evidence and its owner.

Every rule and threshold of the monitors lives here (the windows they look at are dbt vars,
see `monitor_config`); the statistics they use are in ml/drift.py. Pure Python on pandas
frames, so each rule is unit-tested without a build.

| verdict | when | who acts |
|---|---|---|
| data_quality | any data-quality check fired (freshness, volume, nulls, new values, hard rules, schema) | analytics engineer |
| world_change | valid inputs drifted (2+ features, one strongly, or the scores), or churn rose | both |
| model | valid, stable inputs and outcomes, but accuracy fell below its band (more than a baseline's) | ML engineer |
| healthy | nothing fired | no one |

Drift of features accumulated "to date" counts only once the data covers a year before the
reference months (see TO_DATE below).
"""  # noqa: E501

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ml.promotion import Decision

HEALTHY, DATA_QUALITY, WORLD_CHANGE, MODEL = "healthy", "data_quality", "world_change", "model"
VERDICTS = (HEALTHY, DATA_QUALITY, WORLD_CHANGE, MODEL)
OWNERS = {
    HEALTHY: "no one",
    DATA_QUALITY: "analytics engineer",
    WORLD_CHANGE: "analytics engineer and ML engineer",
    MODEL: "ML engineer",
}

# Data quality. Daily rows of a source are compared with the same weekday of the previous
# weeks (volume_history_weeks, a dbt var): median -/+ VOLUME_K robust SDs (never below the
# counting noise), and never closer than VOLUME_MIN_RELATIVE of the median or
# VOLUME_MIN_ABSOLUTE rows. Days outside their range never teach a later day's range.
VOLUME_K = 4.0
VOLUME_MIN_RELATIVE = 0.25
VOLUME_MIN_ABSOLUTE = 5.0
# A source alarms when this many recent days fall below their range. Days above it are
# reported but do not alarm on their own: real events (a price change, a campaign) cause
# bursts, and duplicated loads fail the unique tests on the staging ids.
VOLUME_MIN_DAYS = 3
# A column that was complete (at most NULL_RATE_COMPLETE null before the recent window)
# alarms when its recent null rate is NULL_RATE_JUMP (absolute) higher.
NULL_RATE_COMPLETE = 0.01
NULL_RATE_JUMP = 0.05
# Text columns with at most this many distinct values before are categories: values never
# seen before alarm (a new status, a renamed plan) when they are on at least NEW_VALUE_SHARE
# of the recent rows. Fewer are reported, not an alarm: a first customer from a new country
# is growth, and a handful of rows cannot move the model.
CATEGORY_LIMIT = 50
NEW_VALUE_SHARE = 0.01
# Schema changes against the previous published build that alarm (added columns do not).
SCHEMA_ALARMS = ("removed", "retyped")

# Feature drift: PSI and Jensen-Shannon distance of the current snapshot against the pooled
# reference months, on DRIFT_BINS quantile bins. A limit is DRIFT_FACTOR times the largest
# leave-one-out value among the reference months, never below its floor.
DRIFT_BINS = 10
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

PREDICTION = "predicted_churn_probability"


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


SCHEMA_COLUMNS = [
    "source_table", "column_name", "status", "previous_type", "current_type", "previous_build_id",
]  # fmt: skip


def compare_schemas(
    current: pd.DataFrame, previous: pd.DataFrame | None, previous_build_id: str | None
) -> pd.DataFrame:
    """Each raw column now or in the previous build: unchanged, added, removed or retyped.

    Both frames have source_table, column_name and data_type; without a previous build every
    column is reported as "no previous build".
    """
    key = ["source_table", "column_name"]
    now = current[[*key, "data_type"]].rename(columns={"data_type": "current_type"})
    if previous is None:
        frame = now.assign(status="no previous build", previous_type=None)
    else:
        before = previous[[*key, "data_type"]].rename(columns={"data_type": "previous_type"})
        frame = now.merge(before, on=key, how="outer")
        frame["status"] = np.select(
            [
                frame["previous_type"].isna(),
                frame["current_type"].isna(),
                frame["previous_type"] != frame["current_type"],
            ],
            ["added", "removed", "retyped"],
            "unchanged",
        )
    frame["previous_build_id"] = previous_build_id
    frame = frame.astype({"previous_type": "object", "current_type": "object"})
    return frame[SCHEMA_COLUMNS].sort_values(key).reset_index(drop=True)


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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (typed loosely on purpose: they come from warehouse tables)."""
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]


def _day(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _check(
    check: str,
    source: str,
    column: str,
    value: float,
    limit: float,
    fired: bool,
    message: str,
    first_seen: Any = None,
) -> dict[str, Any]:
    return {
        "check_name": check,
        "source_table": source,
        "column_name": column,
        "value": float(value),
        "threshold": float(limit),
        "fired": bool(fired),
        "first_seen": _day(first_seen),
        "message": message,
    }


def freshness_checks(freshness: pd.DataFrame) -> list[dict[str, Any]]:
    """A source is stale when its newest day lags the data as-of date more than allowed."""
    checks = []
    for row in _records(freshness):
        if pd.isna(row["newest_date"]):
            continue  # an empty source (e.g. no tickets in this dataset) is not stale
        lag, allowed = float(row["lag_days"]), float(row["allowed_lag_days"])
        fired = lag > allowed
        checks.append(
            _check(
                "freshness",
                row["source_table"],
                "",
                lag,
                allowed,
                fired,
                f"{row['source_table']}: newest row {_day(row['newest_date'])}, "
                f"{lag:.0f} day(s) before the data as-of date (allowed {allowed:.0f})",
                pd.Timestamp(row["newest_date"]) + pd.Timedelta(days=1) if fired else None,
            )
        )
    return checks


def volume_checks(volume: pd.DataFrame) -> list[dict[str, Any]]:
    """A source alarms when VOLUME_MIN_DAYS recent days have fewer rows than their range."""
    checks = []
    recent = volume[volume["time_window"] == "recent"]
    for source, days in recent.groupby("source_table", sort=True):
        below = days[days["status"] == "below"]
        above = days[days["status"] == "above"]
        fired = len(below) >= VOLUME_MIN_DAYS
        if len(below):
            observed, expected = below["row_count"].median(), below["expected_rows"].median()
            detail = (
                f"below its learned range on {len(below)} of {len(days)} recent days from "
                f"{_day(below['day'].min())} (median {observed:,.0f} vs {expected:,.0f} expected)"
            )
        else:
            detail = f"within its learned range on all {len(days)} recent days"
        if len(above):
            detail += f"; above it on {len(above)} day(s) (reported, not an alarm)"
        checks.append(
            _check(
                "volume",
                str(source),
                "",
                len(below),
                VOLUME_MIN_DAYS,
                fired,
                f"{source}: rows per day {detail}",
                below["day"].min() if fired else None,
            )
        )
    return checks


def column_checks(columns: pd.DataFrame) -> list[dict[str, Any]]:
    """Nulls in a column that was complete, values never seen in a category, hard rules."""
    checks = []
    for row in _records(columns):
        name = f"{row['source_table']}.{row['column_name']}"
        if row["rows_recent"] == 0:
            continue
        before, now = float(row["null_rate_before"] or 0.0), float(row["null_rate_recent"] or 0.0)
        if before <= NULL_RATE_COMPLETE:
            fired = now - before > NULL_RATE_JUMP
            checks.append(
                _check(
                    "null_rate",
                    row["source_table"],
                    row["column_name"],
                    now,
                    before + NULL_RATE_JUMP,
                    fired,
                    f"{name}: {now:.1%} null in the recent window vs {before:.1%} before",
                )
            )
        distinct = row["distinct_before"]
        if pd.notna(distinct) and 0 < distinct <= CATEGORY_LIMIT:  # a category (text, not ids)
            new = int(row["new_values"])
            share = float(row["new_value_rows_recent"] or 0) / row["rows_recent"]
            fired = new > 0 and share >= NEW_VALUE_SHARE
            checks.append(
                _check(
                    "new_values",
                    row["source_table"],
                    row["column_name"],
                    share,
                    NEW_VALUE_SHARE,
                    fired,
                    f"{name}: {new} value(s) never seen before, on {share:.1%} of recent rows "
                    f"({row['distinct_before']} distinct values before)"
                    + ("" if fired or new == 0 else " (reported, not an alarm)"),
                )
            )
        if isinstance(row["rule"], str) and row["rule"]:
            invalid = int(row["invalid_recent"])
            checks.append(
                _check(
                    "out_of_range",
                    row["source_table"],
                    row["column_name"],
                    invalid,
                    0,
                    invalid > 0,
                    f"{name}: {invalid:,} recent row(s) break the rule `{row['rule']}`",
                )
            )
    return checks


def schema_checks(schema: pd.DataFrame) -> list[dict[str, Any]]:
    """Columns removed or retyped since the previous published build (added: reported)."""
    checks = []
    for row in _records(schema):
        if row["status"] in ("unchanged", "no previous build"):
            continue
        name = f"{row['source_table']}.{row['column_name']}"
        before = row["previous_type"] if isinstance(row["previous_type"], str) else "-"
        after = row["current_type"] if isinstance(row["current_type"], str) else "-"
        checks.append(
            _check(
                "schema",
                row["source_table"],
                row["column_name"],
                1,
                0,
                row["status"] in SCHEMA_ALARMS,
                f"{name} {row['status']} since build {row['previous_build_id']} "
                f"({before} -> {after})",
            )
        )
    return checks


QUALITY_COLUMNS = [
    "check_name", "source_table", "column_name", "value", "threshold", "fired", "first_seen",
    "message",
]  # fmt: skip


def quality_checks(
    freshness: pd.DataFrame, volume: pd.DataFrame, columns: pd.DataFrame, schema: pd.DataFrame
) -> pd.DataFrame:
    """Every data-quality check of a build, fired or not, one row each."""
    rows = (
        freshness_checks(freshness)
        + volume_checks(volume)
        + column_checks(columns)
        + schema_checks(schema)
    )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def quality_alarm(checks: pd.DataFrame) -> str | None:
    """The fired data-quality checks in a few words ("volume of usage_daily"), or None."""
    fired = checks[checks["fired"].astype(bool)]
    if fired.empty:
        return None
    names = [
        f"{row['check_name'].replace('_', ' ')} of {row['source_table']}"
        + (f".{row['column_name']}" if row["column_name"] else "")
        for row in _records(fired)
    ]
    shown = ", ".join(dict.fromkeys(names[:3]))
    more = len(fired) - 3
    return shown + (f" and {more} more" if more > 0 else "")


def hold_for_data_quality(
    decision: Decision, checks: pd.DataFrame, in_service_version: str | None
) -> Decision:
    """Keep the model in service when a data-quality alarm would have let a new one in.

    A model trained on broken inputs must not replace one trained on good data. With no
    model in service yet, the candidate scores anyway (there is nothing else), and says so.
    """
    alarm = quality_alarm(checks)
    if alarm is None or decision.reason.startswith(f"Model {decision.model_version} is pinned"):
        return decision
    if not decision.promoted:  # kept for another reason too: say both
        return replace(
            decision,
            reason=f"Kept version {decision.model_version}: data-quality alarm on {alarm}. "
            + decision.reason,
        )
    if in_service_version is None:
        return replace(
            decision,
            reason=f"First model in service despite a data-quality alarm on {alarm}: "
            "there was no earlier model to keep.",
        )
    return replace(
        decision,
        model_version=in_service_version,
        promoted=False,
        reason=f"Kept version {in_service_version}: data-quality alarm on {alarm}; "
        f"candidate {decision.candidate_version} was registered but not put in service.",
    )


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
    return Shift(mean, reference, high, _day(first.min()) if len(first) else None)


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
    return Shift(mean, reference, low, _day(first.min()) if len(first) else None)


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
) -> Verdict:
    """The verdict: data quality first, then a world change, then the model, else healthy.

    Drift rows whose `counted` is False (see count_toward_verdict) are left out.
    """
    labels = {PREDICTION: "predicted churn probability", **(labels or {})}
    evidence: list[dict[str, Any]] = []
    fired = checks[checks["fired"].astype(bool)]
    for row in _records(fired):
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
    for row in _records(moved):
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
    summary = (
        "Nothing to fix: the data is fresh and complete, inputs and scores are stable, and "
        "accuracy is within its usual range."
    )
    return Verdict(HEALTHY, OWNERS[HEALTHY], summary, evidence, None)


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
