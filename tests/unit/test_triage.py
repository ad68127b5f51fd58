"""The triage rules: data-quality checks, the promotion hold, bands and the verdict."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml.promotion import decide
from monitoring import drift as drift_rules
from monitoring import performance as performance_rules
from monitoring import quality, windows
from monitoring import verdict as verdicts

WINDOWS = windows.Windows(
    as_of=date(2026, 10, 1),
    recent_start=date(2026, 7, 1),
    current_snapshot=date(2026, 10, 1),
    feature_reference=tuple(d.date() for d in pd.date_range("2026-02-01", periods=6, freq="MS")),
    outcome_reference=tuple(d.date() for d in pd.date_range("2026-01-01", periods=6, freq="MS")),
)


def freshness(lag: int = 0, allowed: int = 1, newest: str | None = "2026-09-30") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "source_table": "usage_daily",
                "newest_date": pd.Timestamp(newest) if newest else pd.NaT,
                "lag_days": lag,
                "allowed_lag_days": allowed,
            }
        ]
    )


def volume(below_days: int = 0, above_days: int = 0) -> pd.DataFrame:
    days = pd.date_range("2026-07-01", periods=20, freq="D")
    status = ["below"] * below_days + ["above"] * above_days
    status += ["in range"] * (len(days) - len(status))
    return pd.DataFrame(
        {
            "source_table": "usage_daily",
            "day": days,
            "row_count": [500.0 if s == "below" else 1000.0 for s in status],
            "expected_rows": 1000.0,
            "status": status,
            "time_window": "recent",
        }
    )


def column(**overrides: object) -> pd.DataFrame:
    row = {
        "source_table": "payments",
        "column_name": "status",
        "data_type": "varchar",
        "rows_recent": 100,
        "rows_before": 1_000,
        "null_rate_recent": 0.0,
        "null_rate_before": 0.0,
        "distinct_before": 2,
        "new_values": 0,
        "new_value_rows_recent": 0,
        "singletons_before": 0,
        "invalid_recent": 0,
        "rule": "",
    }
    return pd.DataFrame([{**row, **overrides}])


def schema(status: str = "unchanged") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "source_table": "usage_daily",
                "column_name": "events",
                "status": status,
                "previous_type": "integer",
                "current_type": None if status == "removed" else "integer",
                "previous_build_id": "b1",
            }
        ]
    )


def checks(**parts: pd.DataFrame) -> pd.DataFrame:
    return quality.quality_checks(
        parts.get("freshness", freshness()),
        parts.get("volume", volume()),
        parts.get("columns", column()),
        parts.get("schema", schema()),
    )


def fired(frame: pd.DataFrame) -> list[str]:
    return frame.loc[frame["fired"], "check_name"].tolist()


def test_clean_sources_fire_no_check() -> None:
    assert fired(checks()) == []
    assert quality.quality_alarm(checks()) is None


def test_a_source_lagging_more_than_allowed_is_stale() -> None:
    result = checks(freshness=freshness(lag=5, allowed=1))
    assert fired(result) == ["freshness"]
    row = result[result["fired"]].iloc[0]
    assert row["first_seen"] == date(2026, 10, 1)
    assert "5 day(s)" in row["message"]


def test_an_empty_source_is_not_stale() -> None:
    assert quality.freshness_checks(freshness(lag=99, newest=None)) == []


def sources(**lags: int | None) -> pd.DataFrame:
    """Freshness of several sources: lag days per source (None: no rows), 1 day allowed."""
    return pd.concat(
        [
            freshness(lag or 0, 1, None if lag is None else "2026-09-30").assign(source_table=name)
            for name, lag in lags.items()
        ],
        ignore_index=True,
    )


def by_source(frame: pd.DataFrame, check: str) -> pd.DataFrame:
    return frame[frame["check_name"] == check].set_index("source_table")


def test_an_entity_table_that_stops_growing_while_its_events_flow_is_reported_not_alarmed() -> None:
    # One cohort of customers (all signed up in one quarter), whose purchases keep arriving.
    result = checks(freshness=sources(accounts=462, usage_daily=0, payments=0, tickets=None))
    assert fired(result) == []
    accounts = by_source(result, "freshness").loc["accounts"]
    assert accounts["value"] == 462 and not accounts["fired"]
    assert "reported, not an alarm" in accounts["message"]
    assert "payments, usage_daily keep arriving" in accounts["message"]
    assert accounts["first_seen"] is None
    assert quality.flowing_events(sources(accounts=462, usage_daily=0, tickets=None)) == [
        "usage_daily"
    ]


def test_an_event_source_that_stops_alarms_even_while_others_flow() -> None:
    result = checks(freshness=sources(accounts=0, usage_daily=30, payments=0))
    assert fired(result) == ["freshness"]
    assert by_source(result, "freshness").loc["usage_daily", "fired"]
    assert "reported" not in by_source(result, "freshness").loc["usage_daily", "message"]


def test_an_entity_table_that_stops_while_its_events_stop_too_alarms() -> None:
    result = checks(freshness=sources(accounts=40, usage_daily=30, payments=35))
    stale = by_source(result, "freshness")
    assert stale["fired"].all()
    assert "no event source is up to date either" in stale.loc["accounts", "message"]
    assert quality.quality_alarm(result) is not None


def test_an_entity_table_below_its_volume_range_alarms_only_when_its_events_stopped_too() -> None:
    accounts = volume(below_days=10).assign(source_table="accounts")
    flowing = checks(freshness=sources(accounts=0, usage_daily=0), volume=accounts)
    assert fired(flowing) == []
    assert "reported, not an alarm" in by_source(flowing, "volume").loc["accounts", "message"]
    stopped = checks(freshness=sources(accounts=0, usage_daily=30), volume=accounts)
    assert sorted(fired(stopped)) == ["freshness", "volume"]
    # An event source below its range alarms whatever else flows.
    usage = checks(freshness=sources(accounts=0, usage_daily=0), volume=volume(below_days=10))
    assert fired(usage) == ["volume"]


def test_volume_alarms_after_three_days_below_range_but_not_for_days_above() -> None:
    assert fired(checks(volume=volume(below_days=2, above_days=10))) == []
    result = checks(volume=volume(below_days=3))
    assert fired(result) == ["volume"]
    assert result.loc[result["fired"], "first_seen"].item() == date(2026, 7, 1)
    assert "median 500 vs 1,000 expected" in result.loc[result["fired"], "message"].item()


def two_feeds(
    usage: list[float], payments: list[float], usual: tuple[float, float] = (400.0, 100.0)
) -> pd.DataFrame:
    """Four weeks of usage_daily and payments before the recent window (`usual` rows a day),
    then the recent days given; a day under 3/4 of its usual rows is below its range."""
    before = pd.date_range("2026-06-03", periods=28, freq="D")
    recent = pd.date_range(before[-1] + pd.Timedelta(days=1), periods=len(usage), freq="D")
    frames = []
    for name, level, values in zip(
        ("usage_daily", "payments"), usual, (usage, payments), strict=True
    ):
        rows = [level] * len(before) + list(values)
        frames.append(
            pd.DataFrame(
                {
                    "source_table": name,
                    "day": list(before) + list(recent),
                    "row_count": rows,
                    "expected_rows": level,
                    "status": ["below" if r < 0.75 * level else "in range" for r in rows],
                    "time_window": ["before"] * len(before) + ["recent"] * len(recent),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_drop_every_feed_shares_is_the_business_not_the_data() -> None:
    # A season: usage and payments both halve for a week; a holiday: nothing at all.
    quieter = two_feeds([200.0] * 7 + [0.0] * 3, [50.0] * 7 + [0.0] * 3)
    result = checks(volume=quieter)
    assert fired(result) == []
    usage = by_source(result, "volume").loc["usage_daily"]
    assert "on 10 of those days payments fell alike" in usage["message"]
    # A small shop (40 and 10 rows a day): 15 usage rows beside 6 payments is a ratio 37%
    # under its usual 4, yet well within chance at those counts, so it is alike too.
    small = two_feeds([15.0] * 5, [6.0] * 5, usual=(40.0, 10.0))
    assert fired(checks(volume=small)) == []


def test_a_drop_in_one_feed_while_the_others_flow_is_the_data() -> None:
    # A tracker losing half the usage records, then the newest days missing altogether.
    lost = two_feeds([200.0] * 7 + [0.0] * 3, [100.0] * 10)
    result = checks(volume=lost)
    assert fired(result) == ["volume"]
    assert by_source(result, "volume").loc["usage_daily", "value"] == 10
    late = checks(volume=two_feeds([400.0] * 7 + [0.0] * 3, [100.0] * 10))
    assert fired(late) == ["volume"]


def test_nulls_alarm_only_in_a_column_that_was_complete() -> None:
    assert fired(checks(columns=column(null_rate_recent=0.2))) == ["null_rate"]
    assert fired(checks(columns=column(null_rate_recent=0.03))) == []
    optional = column(null_rate_before=0.6, null_rate_recent=0.9)  # e.g. ended_at
    assert fired(checks(columns=optional)) == []


def test_a_category_value_never_seen_before_alarms_but_not_in_high_cardinality_columns() -> None:
    assert fired(checks(columns=column(new_values=1, new_value_rows_recent=40))) == ["new_values"]
    ids = column(
        column_name="payment_id",
        distinct_before=90_000,
        new_values=3_000,
        new_value_rows_recent=100,
    )
    assert fired(checks(columns=ids)) == []


def test_a_new_value_on_a_handful_of_rows_is_reported_but_does_not_alarm() -> None:
    # Online Retail: one account from a country never seen before among 960 recent accounts.
    country = column(
        source_table="accounts",
        column_name="region",
        rows_recent=960,
        distinct_before=36,
        new_values=1,
        new_value_rows_recent=1,
    )
    result = checks(columns=country)
    assert fired(result) == []
    message = result.loc[result["check_name"] == "new_values", "message"].item()
    assert "1 value(s) never seen before, on 0.1% of recent rows" in message
    assert "reported, not an alarm" in message
    # A renamed plan code is on most recent rows: that alarms.
    renamed = column(rows_recent=960, new_values=1, new_value_rows_recent=700)
    assert fired(checks(columns=renamed)) == ["new_values"]


def test_a_new_value_where_new_values_keep_coming_is_growth_whatever_the_size() -> None:
    # A small shop (Online Retail outside the UK: 422 customers): one customer from a country
    # never seen before is 1.5% of the 66 recent ones, but 5 of 35 countries had one
    # customer before, so a new country was expected on about 1.7% of customers.
    country = column(
        source_table="accounts",
        column_name="region",
        rows_recent=66,
        rows_before=356,
        distinct_before=35,
        singletons_before=5,
        new_values=1,
        new_value_rows_recent=1,
    )
    result = checks(columns=country)
    assert fired(result) == []
    message = result.loc[result["check_name"] == "new_values", "message"].item()
    assert "new values were expected on about 1.7% of rows" in message
    assert "reported, not an alarm" in message
    # The same share where every earlier value was on many rows: not what this column does.
    settled = column(rows_recent=66, rows_before=356, new_values=1, new_value_rows_recent=4)
    assert fired(checks(columns=settled)) == ["new_values"]
    # And a flood of new values beats even a column where they keep coming.
    flood = column(
        rows_recent=66, rows_before=356, singletons_before=5, new_values=2, new_value_rows_recent=20
    )
    assert fired(checks(columns=flood)) == ["new_values"]


def test_identifier_columns_have_no_distinct_counts_and_are_skipped() -> None:
    ids = column(column_name="customer_id", distinct_before=None, new_values=None)
    assert checks(columns=ids)["check_name"].tolist().count("new_values") == 0
    nan = column(column_name="customer_id", distinct_before=np.nan, new_values=np.nan)
    assert checks(columns=nan)["check_name"].tolist().count("new_values") == 0


def test_rows_breaking_a_hard_rule_alarm() -> None:
    broken = column(column_name="amount", data_type="double", rule="amount < 0", invalid_recent=4)
    result = checks(columns=broken)
    assert fired(result) == ["out_of_range"]
    assert "amount < 0" in result.loc[result["fired"], "message"].item()


def test_removed_or_retyped_columns_alarm_while_added_ones_are_only_reported() -> None:
    assert fired(checks(schema=schema("removed"))) == ["schema"]
    assert fired(checks(schema=schema("retyped"))) == ["schema"]
    added = checks(schema=schema("added"))
    assert fired(added) == [] and "added" in added["message"].iloc[-1]


def test_compare_schemas_finds_renamed_and_retyped_columns() -> None:
    before = pd.DataFrame(
        {
            "source_table": ["usage_daily"] * 3,
            "column_name": ["usage_date", "events", "active_users"],
            "data_type": ["date", "integer", "integer"],
        }
    )
    now = pd.DataFrame(
        {
            "source_table": ["usage_daily"] * 3,
            "column_name": ["usage_date", "event_count", "active_users"],
            "data_type": ["varchar", "integer", "integer"],
        }
    )
    changes = quality.compare_schemas(now, before, "b1").set_index("column_name")["status"]
    assert changes.to_dict() == {
        "active_users": "unchanged",
        "event_count": "added",
        "events": "removed",
        "usage_date": "retyped",
    }
    first = quality.compare_schemas(now, None, None)
    assert set(first["status"]) == {"no previous build"}


def test_a_data_quality_alarm_keeps_the_model_in_service_and_says_why() -> None:
    decision = decide("new", 0.85, "old", 0.80, pinned=False, tolerance=0.02)
    held = quality.hold_for_data_quality(decision, checks(volume=volume(5)), "old")
    assert not held.promoted and held.model_version == "old" and held.candidate_version == "new"
    assert held.reason.startswith("Kept version old: data-quality alarm on volume of usage_daily")


def test_without_an_alarm_or_with_a_pin_the_decision_is_unchanged() -> None:
    promoted = decide("new", 0.85, "old", 0.80, pinned=False, tolerance=0.02)
    assert quality.hold_for_data_quality(promoted, checks(), "old") == promoted
    pinned = decide("new", 0.85, "old", 0.80, pinned=True, tolerance=0.02)
    assert quality.hold_for_data_quality(pinned, checks(volume=volume(5)), "old") == pinned


def test_a_model_kept_for_another_reason_also_names_the_data_quality_alarm() -> None:
    worse = decide("new", 0.70, "old", 0.80, pinned=False, tolerance=0.02)
    held = quality.hold_for_data_quality(worse, checks(volume=volume(5)), "old")
    assert not held.promoted and held.model_version == "old"
    assert held.reason.startswith("Kept version old: data-quality alarm on volume of usage_daily.")
    assert held.reason.endswith(worse.reason)


def test_the_first_model_serves_despite_an_alarm_since_there_is_nothing_to_keep() -> None:
    first = decide("new", 0.85, None, None, pinned=False, tolerance=0.02)
    held = quality.hold_for_data_quality(first, checks(volume=volume(5)), None)
    assert held.promoted and held.model_version == "new"
    assert "no earlier model to keep" in held.reason


def months(start: str, count: int) -> list[date]:
    return [d.date() for d in pd.date_range(start, periods=count, freq="MS")]


def performance(
    churn: list[float],
    auc: list[float],
    baseline: list[float] | None = None,
    estimate: float = 0.8,
    track: list[float] | None = None,
) -> pd.DataFrame:
    """Nine matured months (Jan-Sep 2026) with churn, the model's and the logistic baseline's
    AUC (0.02 below the model's unless given), the October estimate, and what the estimate
    said in the matured months (`track`; none unless given)."""
    snapshots = months("2026-01-01", 9)
    outcomes = pd.DataFrame({"snapshot_date": snapshots, "customers": 2000.0, "churn_rate": churn})
    baseline = baseline or [value - 0.02 for value in auc]
    metrics = pd.concat(
        [
            pd.DataFrame(
                {
                    "scoring_month": snapshots,
                    "method": method,
                    "roc_auc": values,
                    "precision_at_k": 0.3,
                }
            )
            for method, values in (("xgboost", auc), ("logistic", baseline), ("recency", auc))
        ]
    )
    current = {"customers": 2000.0, "churn_rate": 0.03, "roc_auc": estimate, "precision_at_k": 0.2}
    record = None
    if track is not None:
        record = pd.DataFrame({"scoring_month": snapshots, "estimated_roc_auc": track})
    return performance_rules.performance_table(metrics, outcomes, current, WINDOWS, record)


STEADY_CHURN = [0.030, 0.028, 0.031, 0.029, 0.030, 0.032, 0.030, 0.029, 0.031]
STEADY_AUC = [0.84, 0.82, 0.85, 0.83, 0.84, 0.83, 0.84, 0.83, 0.85]


def test_performance_table_labels_windows_and_estimates_the_newest_month() -> None:
    table = performance(STEADY_CHURN, STEADY_AUC).set_index("snapshot_date")
    assert table.loc[date(2026, 1, 1), "time_window"] == "reference"
    assert table.loc[date(2026, 7, 1), "time_window"] == "recent"
    assert table.loc[date(2026, 10, 1), ["time_window", "kind"]].tolist() == [
        "current",
        "estimated",
    ]
    assert table["reference_churn_rate"].iloc[0] == pytest.approx(np.mean(STEADY_CHURN[:6]))
    assert table["churn_rate_high"].iloc[0] >= 1.2 * table["reference_churn_rate"].iloc[0]
    assert table["roc_auc_low"].iloc[0] <= table["reference_roc_auc"].iloc[0] - 0.03


def test_churn_shift_and_accuracy_decay_need_the_recent_mean_beyond_the_band() -> None:
    steady = performance(STEADY_CHURN, STEADY_AUC)
    assert performance_rules.churn_shift(steady) is None
    assert performance_rules.accuracy_decay(steady) is None
    rising = performance([*STEADY_CHURN[:6], 0.045, 0.040, 0.042], STEADY_AUC)
    shift = performance_rules.churn_shift(rising)
    assert shift is not None and shift.first_month == date(2026, 7, 1)
    decaying = performance(
        STEADY_CHURN, [*STEADY_AUC[:6], 0.74, 0.75, 0.73], [a - 0.02 for a in STEADY_AUC]
    )
    assert performance_rules.accuracy_decay(decaying) is not None


def test_months_harder_for_every_method_are_not_the_models_fault() -> None:
    harder = [*STEADY_AUC[:6], 0.74, 0.75, 0.73]
    alike = performance(STEADY_CHURN, harder, [a - 0.02 for a in harder])
    assert alike["model_lead"].dropna().round(6).eq(0.02).all()
    assert alike["roc_auc"].iloc[7] < alike["roc_auc_low"].iloc[0]
    assert performance_rules.accuracy_decay(alike) is None
    assert verdict_of(auc=harder, baseline=[a - 0.02 for a in harder]).verdict == "healthy"


# What the estimate said in the matured months: off by 0.02 either way (RMS error 0.02).
TRACK = [a + (0.02 if i % 2 else -0.02) for i, a in enumerate(STEADY_AUC)]


def test_the_estimate_gets_a_band_from_its_error_in_the_backtest_months() -> None:
    table = performance(STEADY_CHURN, STEADY_AUC, track=TRACK).set_index("snapshot_date")
    newest = table.loc[date(2026, 10, 1)]
    assert newest["estimate_months"] == 9
    assert newest["roc_auc_band"] == pytest.approx(performance_rules.ESTIMATE_BAND_SDS * 0.02)
    assert newest["estimated_roc_auc"] == newest["roc_auc"] == 0.8
    assert table.loc[date(2026, 1, 1), "estimated_roc_auc"] == pytest.approx(TRACK[0])
    assert table.loc[date(2026, 1, 1), ["roc_auc_band", "estimate_months"]].isna().all()


def test_an_estimate_below_the_floor_but_within_its_own_error_is_shown_not_counted() -> None:
    table = performance(STEADY_CHURN, STEADY_AUC, track=TRACK)
    floor = table["roc_auc_low"].iloc[0]
    assert floor > 0.8  # the estimate is below the floor, as on the clean demo...
    assert performance_rules.estimated_decay(table) is None  # ...but within +/-0.06
    verdict = verdicts.decide(checks(), drift(), table, WINDOWS)
    assert verdict.verdict == "healthy" and verdict.evidence == []


def test_an_estimate_clearly_below_the_floor_is_model_decay_with_its_own_evidence() -> None:
    table = performance(STEADY_CHURN, STEADY_AUC, estimate=0.70, track=TRACK)
    decay = performance_rules.estimated_decay(table)
    assert decay is not None and decay.months == 9
    assert decay.limit == pytest.approx(table["roc_auc_low"].iloc[0] - 0.06)
    verdict = verdicts.decide(checks(), drift(), table, WINDOWS)
    assert verdict.verdict == "model" and verdict.owner == "ML engineer"
    assert verdict.changed_at == date(2026, 10, 1)
    assert [item["monitor"] for item in verdict.evidence] == ["estimated_accuracy"]
    assert "estimated ROC AUC 0.700" in verdict.evidence[0]["message"]
    assert "from 9 backtest months" in verdict.evidence[0]["message"]
    assert "expected for the newest month fell to 0.700" in verdict.summary


def test_without_enough_backtest_months_the_estimate_has_no_band_and_never_counts() -> None:
    few = [np.nan] * 7 + TRACK[7:]
    table = performance(STEADY_CHURN, STEADY_AUC, estimate=0.5, track=few)
    assert table["roc_auc_band"].isna().all()
    assert performance_rules.estimated_decay(table) is None
    assert performance_rules.estimated_decay(performance(STEADY_CHURN, STEADY_AUC, 0.5)) is None


def drift(*drifted: tuple[str, float], kind: str = "numeric") -> pd.DataFrame:
    rows = [
        {"feature": name, "kind": kind, "psi": 0.1 * severity, "js_distance": 0.2,
         "psi_limit": 0.1, "js_limit": 0.1, "severity": severity, "drifted": severity > 1}
        for name, severity in drifted
    ]  # fmt: skip
    rows.append(
        {"feature": "calm", "kind": "numeric", "psi": 0.01, "js_distance": 0.02,
         "psi_limit": 0.1, "js_limit": 0.1, "severity": 0.1, "drifted": False}
    )  # fmt: skip
    return pd.DataFrame(rows)


def verdict_of(
    quality: pd.DataFrame | None = None,
    moved: pd.DataFrame | None = None,
    churn: list[float] = STEADY_CHURN,
    auc: list[float] = STEADY_AUC,
    baseline: list[float] | None = None,
) -> verdicts.Verdict:
    return verdicts.decide(
        checks() if quality is None else quality,
        drift() if moved is None else moved,
        performance(churn, auc, baseline or [a - 0.02 for a in STEADY_AUC]),
        WINDOWS,
        labels={"events_30d": "Product events, last 30 days"},
    )


def test_nothing_fired_is_healthy_and_nobody_has_to_act() -> None:
    verdict = verdict_of()
    assert verdict.verdict == "healthy" and verdict.owner == "no one"
    assert verdict.evidence == [] and verdict.changed_at is None
    # Freshness is judged against the data's newest day, not the calendar: a build of data
    # older than the team's cadence is healthy, and `status` warns about its age beside it,
    # so the verdict must not call that data fresh.
    assert "fresh" not in verdict.summary and "the data's newest day" in verdict.summary


def test_broken_data_wins_over_drift_and_goes_to_the_analytics_engineer() -> None:
    verdict = verdict_of(
        quality=checks(volume=volume(10)), moved=drift(("events_30d", 9), ("active_days", 5))
    )
    assert verdict.verdict == "data_quality"
    assert verdict.owner == "analytics engineer"
    assert verdict.changed_at == date(2026, 7, 1)
    monitors = [item["monitor"] for item in verdict.evidence]
    assert monitors[0] == "volume" and "feature_drift" in monitors
    assert "Product events, last 30 days" in verdict.evidence[1]["message"]


def test_valid_inputs_that_moved_are_a_world_change_for_both_teams() -> None:
    verdict = verdict_of(moved=drift(("price_per_seat", 1.5), ("mrr", 1.2)))
    assert verdict.verdict == "world_change"
    assert verdict.owner == "analytics engineer and ML engineer"
    assert "price per seat" in verdict.summary


def test_one_feature_just_past_its_limit_is_not_enough_but_a_strong_one_is() -> None:
    assert verdict_of(moved=drift(("mrr", 1.3))).verdict == "healthy"
    assert verdict_of(moved=drift(("mrr", 2.5))).verdict == "world_change"


def test_drifting_scores_alone_are_a_world_change() -> None:
    scores = drift((drift_rules.PREDICTION, 1.5), kind="prediction")
    verdict = verdict_of(moved=scores)
    assert verdict.verdict == "world_change"
    assert verdict.evidence[0]["monitor"] == "prediction_drift"


def test_rising_churn_with_stable_inputs_is_a_world_change() -> None:
    verdict = verdict_of(churn=[*STEADY_CHURN[:6], 0.05, 0.045, 0.048])
    assert verdict.verdict == "world_change"
    assert verdict.changed_at == date(2026, 7, 1)
    assert "churn rose" in verdict.summary


def test_decaying_accuracy_with_stable_valid_inputs_is_the_model() -> None:
    verdict = verdict_of(auc=[*STEADY_AUC[:6], 0.72, 0.74, 0.73])
    assert verdict.verdict == "model" and verdict.owner == "ML engineer"
    assert verdict.evidence[0]["monitor"] == "accuracy"
    assert "logistic regression" in verdict.summary


def test_a_build_broken_by_its_source_data_gets_a_data_quality_verdict() -> None:
    failure = {"node": "stg_raw__activity", "layer": "source data", "message": "events?"}
    verdict = verdicts.failed_build(failure)
    assert verdict is not None and verdict.verdict == "data_quality"
    assert verdict.evidence[0]["subject"] == "stg_raw__activity"
    assert "last good build keeps serving" in verdict.summary
    assert verdicts.failed_build({"node": "ml_model_candidate", "layer": "ML"}) is None
    assert verdicts.failed_build(None) is None


def test_evidence_is_plain_json_with_rounded_numbers() -> None:
    text = verdicts.evidence_json([{"value": np.float64(0.123456789), "n": np.int64(3), "x": "a"}])
    assert json.loads(text) == [{"value": 0.1235, "n": 3, "x": "a"}]


def test_to_date_features_do_not_count_while_the_data_covers_less_than_a_year() -> None:
    moved = drift(("average_payment", 5.5), ("largest_payment", 5.5))
    young = drift_rules.count_toward_verdict(moved, ["average_payment", "largest_payment"], 4)
    assert verdict_of(moved=young).verdict == "healthy"
    skipped = young[~young["counted"]]
    assert skipped["feature"].tolist() == ["average_payment", "largest_payment"]
    assert skipped["note"].str.contains("only 4 months of data").all()
    assert young.loc[young["feature"] == "calm", "note"].tolist() == [""]


def test_to_date_features_count_once_the_data_covers_a_year() -> None:
    moved = drift(("average_payment", 5.5), ("largest_payment", 5.5))
    year = drift_rules.TO_DATE_MIN_HISTORY_MONTHS
    mature = drift_rules.count_toward_verdict(moved, ["average_payment", "largest_payment"], year)
    assert mature["counted"].all() and (mature["note"] == "").all()
    verdict = verdict_of(moved=mature)
    assert verdict.verdict == "world_change" and "average payment" in verdict.summary


def test_other_features_count_however_short_the_data() -> None:
    moved = drift(("price_per_seat", 2.5), ("average_payment", 5.5))
    young = drift_rules.count_toward_verdict(moved, ["average_payment"], 4)
    verdict = verdict_of(moved=young)
    assert verdict.verdict == "world_change"
    assert [item["subject"] for item in verdict.evidence] == ["price_per_seat"]
