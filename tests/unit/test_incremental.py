"""When a build may keep the serving build's snapshot months, and when it must refresh fully
(pipeline/build/incremental.py): decided from fingerprints, no dbt."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.build import incremental
from pipeline.build.fingerprint import Fingerprint
from pipeline.build.incremental import Plan
from pipeline.settings import Settings

RAW = {
    "accounts": [("account_id", "VARCHAR"), ("signup_date", "DATE")],
    "usage_daily": [("account_id", "VARCHAR"), ("usage_date", "DATE")],
}
MONTHS = {"usage_daily": {"2026-08-01": "10:1", "2026-09-01": "12:2"}}


def fingerprint() -> Fingerprint:
    """A build's fingerprint: the mart, one model feeding it, one monitor reading it."""
    return Fingerprint(
        nodes={
            "model.baton.customer_snapshots": {
                "checksum": "mart",
                "parents": ["model.baton.int_activity_windows"],
            },
            "model.baton.int_activity_windows": {"checksum": "windows", "parents": []},
            "model.baton.monitor_feature_drift": {
                "checksum": "drift",
                "parents": ["model.baton.customer_snapshots"],
            },
        },
        macros={"macro.baton.trailing_window_rows": "m1"},
        vars={"horizon_days": 30, "capacity_k": 100},
        code={"ml/btyd_scores.py": "c1", "monitoring/verdict.py": "v1"},
        libraries={"duckdb": "1.0"},
        data={"accounts": {"digest": "a1"}, "usage_daily": {"digest": "u1"}},
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home").ensure()


@pytest.fixture
def previous(settings: Settings) -> dict[str, Any]:
    """The state the build in service recorded."""
    return {"key": incremental.feature_key(settings, fingerprint(), RAW), "months": MONTHS}


def plan_for(
    settings: Settings,
    previous: dict[str, Any] | None,
    change: Callable[[Fingerprint], None] = lambda _: None,
    months: dict[str, dict[str, str]] | None = None,
    full_refresh: bool = False,
) -> Plan:
    now = fingerprint()
    change(now)
    plan = Plan(
        full=True,
        reason="",
        key=incremental.feature_key(settings, now, RAW),
        months=months if months is not None else copy.deepcopy(MONTHS),
    )
    return incremental.decide(plan, previous, full_refresh, settings)


def test_one_more_day_of_events_is_incremental_from_its_month(
    settings: Settings, previous: dict[str, Any]
) -> None:
    months = {"usage_daily": {**MONTHS["usage_daily"], "2026-09-01": "13:7"}}
    plan = plan_for(settings, previous, months=months)
    assert not plan.full
    assert plan.changed_from == "2026-09-01"


def test_unchanged_data_is_incremental_with_nothing_changed(
    settings: Settings, previous: dict[str, Any]
) -> None:
    plan = plan_for(settings, previous)
    assert not plan.full and plan.changed_from is None
    assert plan.reason.startswith("no event data changed")


def test_a_late_row_in_an_old_month_recomputes_from_that_month(
    settings: Settings, previous: dict[str, Any]
) -> None:
    months = {"usage_daily": {**MONTHS["usage_daily"], "2026-08-01": "11:9"}}
    assert plan_for(settings, previous, months=months).changed_from == "2026-08-01"


def _set_node(uid: str) -> Callable[[Fingerprint], None]:
    return lambda now: now.nodes[uid].update(checksum="edited")


@pytest.mark.parametrize(
    ("change", "part"),
    [
        (_set_node("model.baton.int_activity_windows"), "dbt models feeding the features"),
        (_set_node("model.baton.customer_snapshots"), "dbt models feeding the features"),
        (lambda now: now.macros.update({"macro.baton.trailing_window_rows": "m2"}), "macros"),
        (lambda now: now.vars.update(horizon_days=45), "dbt vars"),
        (lambda now: now.vars.update(capacity_k=50), "dbt vars"),
        (lambda now: now.code.update({"ml/btyd_scores.py": "c2"}), "ml code"),
        (lambda now: now.libraries.update(duckdb="2.0"), "libraries"),
        (lambda now: now.data["accounts"].update(digest="a2"), "raw tables other than events"),
    ],
)
def test_a_change_that_could_change_old_months_forces_a_full_refresh(
    settings: Settings,
    previous: dict[str, Any],
    change: Callable[[Fingerprint], None],
    part: str,
) -> None:
    plan = plan_for(settings, previous, change)
    assert plan.full
    assert part in plan.reason


def test_changes_that_cannot_reach_the_features_keep_the_months(
    settings: Settings, previous: dict[str, Any]
) -> None:
    def change(now: Fingerprint) -> None:
        now.nodes["model.baton.monitor_feature_drift"]["checksum"] = "edited"
        now.code["monitoring/verdict.py"] = "v2"
        now.data["usage_daily"]["digest"] = "u2"  # event rows: judged month by month

    assert not plan_for(settings, previous, change).full


def test_a_new_raw_schema_or_dataset_forces_a_full_refresh(
    settings: Settings, previous: dict[str, Any]
) -> None:
    wider = {**RAW, "accounts": [*RAW["accounts"], ("segment", "VARCHAR")]}
    plan = Plan(
        full=True,
        reason="",
        key=incremental.feature_key(settings, fingerprint(), wider),
        months=MONTHS,
    )
    assert "raw schema" in incremental.decide(plan, previous, False, settings).reason
    (settings.home / "dataset.json").write_text('{"name": "other", "vars": {}}')
    assert "dataset" in plan_for(settings, previous).reason


def test_undated_event_rows_that_changed_force_a_full_refresh(
    settings: Settings, previous: dict[str, Any]
) -> None:
    months = {"usage_daily": {**MONTHS["usage_daily"], "none": "1:1"}}
    plan = plan_for(settings, previous, months=months)
    assert plan.full and "without a date" in plan.reason


def test_asked_first_build_and_another_engine_are_full_refreshes(
    settings: Settings, previous: dict[str, Any]
) -> None:
    assert plan_for(settings, previous, full_refresh=True).reason == (
        "a full refresh was asked for"
    )
    assert "recorded no incremental state" in plan_for(settings, None).reason
    spark = replace(settings, engine="spark")
    # The build in service was built by DuckDB; Spark keeps the months a Spark build computed.
    assert "engine" in plan_for(spark, previous).reason
    on_spark = plan_for(spark, {**previous, "key": plan_for(spark, None).key})
    assert not on_spark.full, on_spark.reason


def test_an_event_table_without_its_day_column_counts_as_another_table() -> None:
    renamed = {**RAW, "usage_daily": [("account_id", "VARCHAR"), ("day", "DATE")]}
    assert incremental.event_tables(RAW) == {"usage_daily": "usage_date"}
    assert incremental.event_tables(renamed) == {}


def test_the_earliest_changed_month_counts_added_and_removed_months() -> None:
    before = {"usage_daily": {"2026-08-01": "1:1"}, "tickets": {"2026-07-01": "1:1"}}
    after = {"usage_daily": {"2026-08-01": "1:1", "2026-09-01": "1:2"}, "tickets": {}}
    assert incremental.earliest_change(before, after) == "2026-07-01"
    assert incremental.earliest_change(before, before) == ""


def test_a_changed_source_or_config_in_the_project_yaml_forces_a_full_refresh(
    settings: Settings, previous: dict[str, Any], tmp_path: Path
) -> None:
    project = tmp_path / "dbt_project"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: baton\n")
    sources = project / "models" / "staging" / "_raw__sources.yml"
    sources.write_text("sources: [{name: raw, tables: [{name: usage_daily}]}]\n")
    moved = replace(settings, project_dir=project)
    before = {"key": incremental.feature_key(moved, fingerprint(), RAW), "months": MONTHS}
    assert not plan_for(moved, before).full

    sources.write_text("sources: [{name: raw, tables: [{name: usage_daily, identifier: u2}]}]\n")

    assert "dbt project YAML" in plan_for(moved, before).reason


def test_event_days_that_are_not_dates_count_as_undated_instead_of_failing(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.duckdb"
    with duckdb.connect(str(raw)) as connection:
        connection.execute("create table usage_daily (account_id varchar, usage_date varchar)")
        connection.execute("insert into usage_daily values ('a', '2026-09-03'), ('b', 'yesterday')")

    months = incremental.month_digests(raw, {"usage_daily": "usage_date"})

    assert set(months["usage_daily"]) == {"2026-09-01", incremental.NO_MONTH}
