"""Data-quality rules: freshness, row volume, nulls, new values, hard rules and schema changes.

Each check is one row (fired or not) of the `monitor_data_quality` model; any fired check
makes the verdict `data_quality` and holds a new model out of service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ml.promotion import Decision
from monitoring.rows import day, records

# Volume. Daily rows of a source are compared with the same weekday of the previous weeks
# (volume_history_weeks, a dbt var): median -/+ VOLUME_K robust SDs (never below the
# counting noise), and never closer than VOLUME_MIN_RELATIVE of the median or
# VOLUME_MIN_ABSOLUTE rows. Days outside their range never teach a later day's range.
VOLUME_K = 4.0
VOLUME_MIN_RELATIVE = 0.25
VOLUME_MIN_ABSOLUTE = 5.0
# A source alarms when this many recent days fall below their range. Days above it are
# reported but do not alarm on their own: real events (a price change, a campaign) cause
# bursts, and duplicated loads fail the unique tests on the staging ids.
VOLUME_MIN_DAYS = 3
# A day an event source is below its range counts toward that alarm only when the other
# event sources did not fall alike. Its rows relative to theirs (usage rows per payment, say)
# hold through seasons and holidays, when the whole business is quieter; one broken feed
# moves that ratio by as much as its own drop, at least VOLUME_MIN_RELATIVE (the range's
# narrowest half-width). So a below day counts only when the source's share of the day's
# event rows is below its usual share on that weekday (the median ratio over the days before
# the recent window) both by more than VOLUME_ALIKE and significantly (one-sided binomial
# test at VOLUME_ALIKE_P: a few dozen rows a day are noisy). A day on which every event
# source has no rows (the business was closed) does not count either.
VOLUME_ALIKE = VOLUME_MIN_RELATIVE / 2
VOLUME_ALIKE_P = 0.001
# Entity tables hold one row per customer, dated by the day the customer joined: they stop
# growing whenever no new customers come (a single cohort, paused acquisition), and that is a
# fact about the business, not an outage. So an entity table that is stale, or below its
# volume range, is reported, not an alarm, while its customers' events keep arriving (an
# event source is fresh); it alarms when the events stopped too. Event sources (activity,
# payments, ...) are judged against their own learned cadence. A feed that loses new
# customers still shows: their events name accounts the table lacks, which an import rejects.
ENTITY_SOURCES = ("accounts",)
# A column that was complete (at most NULL_RATE_COMPLETE null before the recent window)
# alarms when its recent null rate is NULL_RATE_JUMP (absolute) higher.
NULL_RATE_COMPLETE = 0.01
NULL_RATE_JUMP = 0.05
# Text columns with at most this many distinct values before are categories: values never
# seen before alarm (a new status, a renamed plan) when they are on at least NEW_VALUE_SHARE
# of the recent rows and on more rows than the column's own history makes likely. That
# history is Good-Turing's estimate of the chance that a row holds a value never seen: the
# share of earlier rows whose value was seen on that row only (plus one, so it is never 0).
# Fewer rows, or a column where new values keep coming (the first customer from yet another
# country), are reported, not an alarm: that is growth, and a handful of rows cannot move
# the model. The excess must be significant by a one-sided binomial test at NEW_VALUE_P.
CATEGORY_LIMIT = 50
NEW_VALUE_SHARE = 0.01
NEW_VALUE_P = 0.001
# Schema changes against the previous published build that alarm (added columns do not).
SCHEMA_ALARMS = ("removed", "retyped")


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
        "first_seen": day(first_seen),
        "message": message,
    }


def flowing_events(freshness: pd.DataFrame) -> list[str]:
    """Event sources (not entity tables) with rows, whose newest day is within their lag."""
    return sorted(
        str(row["source_table"])
        for row in records(freshness)
        if row["source_table"] not in ENTITY_SOURCES
        and pd.notna(row["newest_date"])
        and float(row["lag_days"]) <= float(row["allowed_lag_days"])
    )


def _entity_note(source: str, flowing: list[str]) -> str:
    if flowing:
        return (
            f"; reported, not an alarm: {source} has one row per customer, dated by signup, so "
            f"it stops growing when no new customers join, while {', '.join(flowing)} keep "
            "arriving"
        )
    return "; no event source is up to date either"


def freshness_checks(freshness: pd.DataFrame) -> list[dict[str, Any]]:
    """A source is stale when its newest day lags the data as-of date more than allowed.

    An entity table (ENTITY_SOURCES) that stopped growing while events keep arriving is
    reported, not an alarm.
    """
    flowing = flowing_events(freshness)
    checks = []
    for row in records(freshness):
        if pd.isna(row["newest_date"]):
            continue  # an empty source (e.g. no tickets in this dataset) is not stale
        source = str(row["source_table"])
        lag, allowed = float(row["lag_days"]), float(row["allowed_lag_days"])
        stale = lag > allowed
        entity = source in ENTITY_SOURCES
        fired = stale and not (entity and flowing)
        checks.append(
            _check(
                "freshness",
                source,
                "",
                lag,
                allowed,
                fired,
                f"{source}: newest row {day(row['newest_date'])}, "
                f"{lag:.0f} day(s) before the data as-of date (allowed {allowed:.0f})"
                + (_entity_note(source, flowing) if stale and entity else ""),
                pd.Timestamp(row["newest_date"]) + pd.Timedelta(days=1) if fired else None,
            )
        )
    return checks


def volume_checks(volume: pd.DataFrame, flowing: list[str] | None = None) -> list[dict[str, Any]]:
    """A source alarms when VOLUME_MIN_DAYS recent days have fewer rows than their range.

    An entity table below its range while the event sources in `flowing` keep arriving
    (see flowing_events) is reported, not an alarm.
    """
    flowing = flowing or []
    checks = []
    recent = volume[volume["time_window"] == "recent"]
    for source, days in recent.groupby("source_table", sort=True):
        below = days[days["status"] == "below"]
        above = days[days["status"] == "above"]
        entity = source in ENTITY_SOURCES
        alike = set() if entity else fell_alike(volume, str(source), below["day"])
        counted = below[~below["day"].isin(alike)]
        low = len(counted) >= VOLUME_MIN_DAYS
        fired = low and not (entity and flowing)
        if len(below):
            observed, expected = below["row_count"].median(), below["expected_rows"].median()
            detail = (
                f"below its learned range on {len(below)} of {len(days)} recent days from "
                f"{day(below['day'].min())} (median {observed:,.0f} vs {expected:,.0f} expected)"
            )
        else:
            detail = f"within its learned range on all {len(days)} recent days"
        if len(above):
            detail += f"; above it on {len(above)} day(s) (reported, not an alarm)"
        if alike:
            others = ", ".join(sorted(_event_sources(volume) - {str(source)}))
            detail += (
                f"; on {len(alike)} of those days {others} fell alike (reported, not an alarm: "
                "the business was quieter, not the feed)"
            )
        if low and entity:
            detail += _entity_note(str(source), flowing)
        checks.append(
            _check(
                "volume",
                str(source),
                "",
                len(counted),
                VOLUME_MIN_DAYS,
                fired,
                f"{source}: rows per day {detail}",
                counted["day"].min() if fired else None,
            )
        )
    return checks


def _event_sources(volume: pd.DataFrame) -> set[str]:
    return {str(s) for s in volume["source_table"].unique() if s not in ENTITY_SOURCES}


def fell_alike(volume: pd.DataFrame, source: str, days: pd.Series) -> set[Any]:
    """Which of `days` (below days of event source `source`) the other event sources fell
    alike on (see VOLUME_ALIKE); empty when there is no other event source to compare."""
    events = volume[volume["source_table"].isin(_event_sources(volume))]
    if events["source_table"].nunique() < 2 or days.empty:
        return set()
    counts = events.pivot_table(
        index="day", columns="source_table", values="row_count", aggfunc="sum", fill_value=0
    )
    mine = counts[source]
    others = counts.drop(columns=[source]).sum(axis=1)
    ratio = (mine / others.where(others > 0)).astype(float)
    weekday = pd.to_datetime(pd.Series(counts.index, index=counts.index)).dt.day_of_week
    before_days = volume.loc[volume["time_window"] == "before", "day"]
    usual = ratio[ratio.index.isin(before_days)].groupby(weekday).median()
    alike = set()
    for day_ in days:
        if day_ not in counts.index:
            continue
        if mine[day_] == 0 and others[day_] == 0:  # every feed empty: the business was closed
            alike.add(day_)
            continue
        typical = float(usual.get(weekday[day_], float("nan")))
        if not typical > 0 or others[day_] == 0:
            continue  # nothing to compare with: the day counts
        rows, total = int(mine[day_]), int(mine[day_] + others[day_])
        share = typical / (1 + typical)
        fell = ratio[day_] < (1 - VOLUME_ALIKE) * typical
        if not (fell and binomtest(rows, total, share, "less").pvalue < VOLUME_ALIKE_P):
            alike.add(day_)
    return alike


def expected_new_share(row: Mapping[str, Any]) -> float:
    """Good-Turing's chance that a row holds a value never seen before, from the earlier
    rows: (values seen on one row + 1) / (non-null rows + 1)."""
    before = float(row.get("rows_before") or 0) * (1.0 - float(row["null_rate_before"] or 0.0))
    singles = row.get("singletons_before")
    singles = 0.0 if singles is None or pd.isna(singles) else float(singles)
    return min(1.0, (singles + 1.0) / (before + 1.0))


def column_checks(columns: pd.DataFrame) -> list[dict[str, Any]]:
    """Nulls in a column that was complete, values never seen in a category, hard rules."""
    checks = []
    for row in records(columns):
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
            new_rows = int(row["new_value_rows_recent"] or 0)
            share = new_rows / row["rows_recent"]
            expected = expected_new_share(row)
            fired = (
                new > 0
                and share >= NEW_VALUE_SHARE
                and binomtest(new_rows, int(row["rows_recent"]), expected, "greater").pvalue
                < NEW_VALUE_P
            )
            checks.append(
                _check(
                    "new_values",
                    row["source_table"],
                    row["column_name"],
                    share,
                    NEW_VALUE_SHARE,
                    fired,
                    f"{name}: {new} value(s) never seen before, on {share:.1%} of recent rows "
                    f"({row['distinct_before']} distinct values before; new values were "
                    f"expected on about {expected:.1%} of rows)"
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
    for row in records(schema):
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
        + volume_checks(volume, flowing_events(freshness))
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
        for row in records(fired)
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
