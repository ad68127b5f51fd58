"""Demo scenarios: each changes exactly what it says, from its start month, deterministically."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import demo
from demo import scenarios
from demo.tables import TABLES
from pipeline import cli

END = date(2026, 9, 30)
SIZE = {"customers": 1500, "months": 12, "seed": 5, "end": END}
START = pd.Timestamp("2026-07-01")  # default: three months before the end


def tables(scenario: str, start: date | None = None) -> dict[str, pa.Table]:
    """Every raw table of a generated file, in stored row order."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "raw.duckdb"
        demo.generate(path, **SIZE, scenario=scenario, scenario_start=start)
        with duckdb.connect(str(path), read_only=True) as connection:
            return {name: connection.table(name).to_arrow_table() for name in TABLES}


@pytest.fixture(scope="module")
def clean() -> dict[str, pa.Table]:
    return tables("clean")


def usage(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["usage_date"] = pd.to_datetime(frame["usage_date"])
    return frame


def platforms(clean: dict[str, pa.Table]) -> pd.Series:
    accounts = clean["accounts"].to_pandas()
    return accounts.set_index(accounts["account_id"].astype(str))["platform"].astype(str)


def test_the_default_start_is_three_months_before_the_end() -> None:
    assert scenarios.default_scenario_start(END) == START.date()
    assert scenarios.default_scenario_start(date(2026, 1, 15)) == date(2025, 11, 1)


@pytest.mark.parametrize("scenario", demo.SCENARIOS)
def test_every_scenario_is_deterministic_for_a_seed(scenario: str) -> None:
    first, second = tables(scenario), tables(scenario)
    for name in TABLES:
        assert first[name].equals(second[name]), name


def test_tracking_outage_loses_most_web_usage_records_from_the_start_and_nothing_else(
    clean: dict[str, pa.Table],
) -> None:
    outage = tables("tracking_outage")
    for name in set(TABLES) - {"usage_daily"}:
        assert outage[name].equals(clean[name]), name
    before, after = usage(clean["usage_daily"]), usage(outage["usage_daily"])
    platform = platforms(clean)
    for frame in (before, after):
        frame["web"] = frame["account_id"].map(platform) == scenarios.OUTAGE_PLATFORM
        frame["late"] = frame["usage_date"] >= START
    counts = pd.concat(
        [before.groupby(["web", "late"]).size(), after.groupby(["web", "late"]).size()],
        axis=1,
        keys=["clean", "outage"],
    )
    kept = counts["outage"] / counts["clean"]
    assert kept[(False, False)] == kept[(False, True)] == kept[(True, False)] == 1.0
    assert kept[(True, True)] == pytest.approx(1 - scenarios.OUTAGE_LOSS, abs=0.02)
    # Rows that survive are recorded exactly as they happened.
    merged = after.merge(before, on=["account_id", "usage_date"], suffixes=("", "_clean"))
    assert len(merged) == len(after)
    assert (merged["events"] == merged["events_clean"]).all()


def test_late_data_misses_the_newest_usage_days_only(clean: dict[str, pa.Table]) -> None:
    late = tables("late_data")
    for name in set(TABLES) - {"usage_daily"}:
        assert late[name].equals(clean[name]), name
    days = usage(late["usage_daily"])["usage_date"]
    assert days.max() == pd.Timestamp(END) - pd.Timedelta(days=scenarios.LATE_DAYS)
    cutoff = pd.Timestamp(END) - pd.Timedelta(days=scenarios.LATE_DAYS)
    kept = usage(clean["usage_daily"])
    assert len(days) == (kept["usage_date"] <= cutoff).sum()


def test_schema_change_renames_a_raw_column_and_keeps_its_values(
    clean: dict[str, pa.Table], tmp_path: Path
) -> None:
    table, column, renamed = scenarios.SCHEMA_CHANGE
    changed = tables("schema_change")
    assert renamed in changed[table].column_names and column not in changed[table].column_names
    assert changed[table][renamed].equals(clean[table][column])
    path = tmp_path / "raw.duckdb"
    demo.generate(path, **SIZE, scenario="schema_change")
    with duckdb.connect(str(path), read_only=True) as connection:
        described = dict(connection.sql(f"describe {table}").fetchall()[i][:2] for i in range(4))
    assert described[renamed] == "INTEGER" and column not in described


def subscriptions(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for name in ("account_id", "plan", "status", "billing_period"):
        frame[name] = frame[name].astype(str)
    for name in ("started_at", "ended_at"):
        frame[name] = pd.to_datetime(frame[name])
    return frame


def monthly_churners(table: pa.Table) -> pd.Series:
    frame = subscriptions(table)
    ended = frame.loc[frame["status"] == "cancelled", "ended_at"]
    return ended.dt.to_period("M").value_counts().sort_index()


def test_price_increase_raises_the_plans_price_from_the_start_and_more_customers_leave(
    clean: dict[str, pa.Table],
) -> None:
    raised = tables("price_increase")
    before, after = subscriptions(clean["subscriptions"]), subscriptions(raised["subscriptions"])
    # History before the start is the same world (ids are renumbered, so left out).
    history = ["account_id", "plan", "billing_period", "seats", "mrr", "started_at"]
    old = before.loc[before["started_at"] < START, history].reset_index(drop=True)
    assert old.equals(after.loc[after["started_at"] < START, history].reset_index(drop=True))
    plan = scenarios.PRICE_INCREASE_PLAN
    new_rows = after[(after["plan"] == plan) & (after["started_at"] >= START)]
    per_seat_now = (new_rows["mrr"] / new_rows["seats"]).median()
    early = before[(before["plan"] == plan) & (before["started_at"] < START)]
    assert per_seat_now > 1.15 * (early["mrr"] / early["seats"]).median()
    # Monthly accounts keep their billing day: the new row starts on an invoice anniversary.
    monthly = new_rows[new_rows["billing_period"] == "monthly"]
    first_rows = after.sort_values("started_at").groupby("account_id")["started_at"].first()
    anchor_day = monthly["account_id"].map(first_rows).dt.day
    assert (
        (monthly["started_at"].dt.day == anchor_day) | (monthly["started_at"].dt.day >= 28)
    ).mean() > 0.95
    # Contiguous rows: every replaced row ends the day before the next one starts.
    ordered = after.sort_values(["account_id", "started_at"])
    following = ordered.groupby("account_id")["started_at"].shift(-1)
    changed = ordered["status"] == "changed"
    assert (ordered.loc[changed, "ended_at"] + pd.Timedelta(days=1) == following[changed]).all()
    churn_clean, churn_raised = (
        monthly_churners(clean["subscriptions"]),
        monthly_churners(raised["subscriptions"]),
    )
    recent = [p for p in churn_raised.index if p.to_timestamp() >= START]
    assert churn_raised[recent].sum() > 1.3 * churn_clean.reindex(recent, fill_value=0).sum()
    earlier = [p for p in churn_clean.index if p.to_timestamp() < START]
    assert churn_raised.reindex(earlier, fill_value=0).equals(churn_clean[earlier])


def test_the_start_month_is_configurable(clean: dict[str, pa.Table]) -> None:
    late_start = tables("tracking_outage", date(2026, 9, 1))
    early_start = tables("tracking_outage", date(2026, 5, 1))
    august = pc.equal(pc.month(clean["usage_daily"]["usage_date"]), 8)
    lost_in_august = [
        pc.sum(august).as_py()
        - pc.sum(pc.equal(pc.month(t["usage_daily"]["usage_date"]), 8)).as_py()
        for t in (late_start, early_start)
    ]
    assert lost_in_august[0] == 0 < lost_in_august[1]


def test_cli_writes_a_scenario_from_a_given_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BATON_HOME", str(tmp_path))
    args = ["demo", "--customers", "200", "--months", "6", "--seed", "3"]
    assert cli.main([*args, "--scenario", "late_data", "--scenario-start", "2026-08"]) == 0
    assert "scenario late_data" in capsys.readouterr().out
    with duckdb.connect(str(tmp_path / "raw.duckdb"), read_only=True) as connection:
        newest = connection.sql("select max(usage_date) from usage_daily").fetchall()[0][0]
    assert newest < END
    with pytest.raises(SystemExit):
        cli.main([*args, "--scenario", "late_data", "--scenario-start", "July"])


def test_unknown_scenarios_are_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tracking_outage"):
        demo.generate(tmp_path / "raw.duckdb", **SIZE, scenario="chaos")
