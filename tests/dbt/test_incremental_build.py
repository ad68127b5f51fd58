"""Incremental builds on real builds of the demo: a daily rebuild keeps the snapshot months the
build in service computed, recomputes the look-back, and publishes the same tables as a full
refresh of the same data; a SQL change refreshes fully on its own."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bench.daily import append_day
from pipeline import dataset, warehouse
from pipeline.build.rebuild import rebuild
from pipeline.history import RunRecord
from pipeline.settings import DBT_PROJECT_DIR, Settings
from tests.support import copy_home

pytestmark = pytest.mark.slow

# Columns that name a build or a moment rather than describe the data: the two builds are
# different builds (ids, times) and register different model versions (a version is a hash
# that includes the build and training time), so only these may differ.
BUILD_COLUMNS = frozenset(
    {"build_id", "previous_build_id", "model_version", "candidate_version", "trained_at"}
)
# How a build computed its months, not what it computed: the first snapshot recomputed
# (1900-01-01 on a full refresh).
PLAN_TABLES = frozenset({"int_recompute_from"})


@dataclass
class DailyHomes:
    """Two copies of one built home, one more day of data in each, rebuilt two ways."""

    incremental: Settings
    full: Settings
    incremental_record: RunRecord
    full_record: RunRecord


@pytest.fixture(scope="module", params=["contractual", "non_contractual"])
def daily(
    request: pytest.FixtureRequest, built, tmp_path_factory: pytest.TempPathFactory
) -> DailyHomes:
    """The session build's home (rebuilt for non-contractual churn, where BG/NBD scores fill
    int_btyd_scores) plus one day, rebuilt incrementally and with a full refresh."""
    base = built.settings
    if request.param != "contractual":
        base = copy_home(built.settings, tmp_path_factory.mktemp("base") / "home")
        dataset.save(base, "demo", {"churn_definition": request.param})
        first = rebuild(base, trigger="test")
        assert first.status == "success", first.failure
        # A changed var refreshes every month on its own.
        assert (first.incremental or {})["full"] is True
        assert "dbt vars" in (first.incremental or {})["reason"]
    homes = [copy_home(base, tmp_path_factory.mktemp(name) / "home") for name in ("inc", "full")]
    for settings in homes:
        append_day(settings.raw_path)
    incremental = rebuild(homes[0], trigger="test")
    full = rebuild(homes[1], trigger="test", full_refresh=True)
    return DailyHomes(homes[0], homes[1], incremental, full)


def published_tables(settings: Settings) -> dict[str, list[str]]:
    """Every table of the published warehouse with its columns (views read raw data)."""
    pointer = warehouse.current(settings)
    assert pointer is not None
    with warehouse.connect(pointer["path"]) as connection:
        rows = connection.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'main' and table_name in "
            "(select table_name from duckdb_tables() where schema_name = 'main') "
            "order by table_name, column_index"
        ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), []).append(str(column))
    return tables


def rows_only_in(first: Settings, second: Settings, table: str, columns: list[str]) -> int:
    """Rows (with their multiplicity) of `table` in `first`'s warehouse and not in `second`'s."""
    paths = [warehouse.current(s)["path"] for s in (first, second)]  # type: ignore[index]
    listed = ", ".join(f'"{column}"' for column in columns)
    with duckdb.connect() as connection:
        for alias, path in zip(("a", "b"), paths, strict=True):
            connection.execute(f"attach '{path}' as {alias} (read_only)")
        found = connection.execute(
            f'select count(*) from (select {listed} from a.main."{table}" '
            f'except all select {listed} from b.main."{table}")'
        ).fetchall()
    return int(found[0][0])


def test_a_daily_rebuild_keeps_old_months_and_recomputes_only_the_look_back(
    daily: DailyHomes,
) -> None:
    plan = daily.incremental_record.incremental or {}
    assert daily.incremental_record.status == "success", daily.incremental_record.failure
    assert plan["full"] is False, plan["reason"]
    assert plan["previous_as_of"] and plan["changed_from"]
    assert plan["months_kept"] > 0
    assert 0 < plan["months_recomputed"] < plan["months_kept"] + plan["months_recomputed"]
    full = daily.full_record.incremental or {}
    assert full["full"] is True and full["reason"] == "a full refresh was asked for"
    assert full["months_kept"] == 0
    assert full["months_recomputed"] == plan["months_kept"] + plan["months_recomputed"]


def test_a_daily_rebuild_publishes_the_same_tables_as_a_full_refresh(daily: DailyHomes) -> None:
    assert daily.full_record.status == "success", daily.full_record.failure
    tables = published_tables(daily.incremental)
    assert tables == published_tables(daily.full)
    assert {"customer_snapshots", "ml_predictions", "monitor_feature_profiles"} <= set(tables)
    differing = {}
    for table, columns in tables.items():
        if table in PLAN_TABLES:
            continue
        compared = [column for column in columns if column not in BUILD_COLUMNS]
        extra = rows_only_in(daily.incremental, daily.full, table, compared)
        missing = rows_only_in(daily.full, daily.incremental, table, compared)
        if extra or missing:
            differing[table] = (extra, missing)
    assert differing == {}


def test_a_changed_feature_sql_refreshes_every_month_on_its_own(built, tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "intermediate" / "int_ticket_windows.sql"
    model.write_text(model.read_text() + "-- a comment changes the checksum, not the rows\n")
    settings = copy_home(built.settings, tmp_path / "home")

    record = rebuild(replace(settings, project_dir=project), trigger="test")

    assert record.status == "success", record.failure
    plan = record.incremental or {}
    assert plan["full"] is True
    assert plan["reason"] == "changed since the build in service: dbt models feeding the features"
    assert plan["months_kept"] == 0


def test_the_look_back_is_horizon_plus_inactivity_days_before_the_earliest_change(
    daily: DailyHomes,
) -> None:
    plan = daily.incremental_record.incremental or {}
    pointer = warehouse.current(daily.incremental)
    assert pointer is not None
    with warehouse.connect(pointer["path"]) as connection:
        as_of = connection.execute("select as_of_date from int_data_as_of").fetchall()[0][0]
    anchor = min(date.fromisoformat(plan["changed_from"]), as_of)
    anchor = min(anchor, date.fromisoformat(plan["previous_as_of"]))
    start = anchor - timedelta(days=30 + 90)  # horizon_days + inactivity_days (defaults)
    assert plan["recompute_from"] == start.replace(day=1).isoformat()
