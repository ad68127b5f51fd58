"""Is it the data or the world? One real build per demo scenario, one seed each.

A clean home is built first (its model goes into service); every scenario then starts from
a copy of it, regenerates the raw data with the scenario and the same seed, and rebuilds, so
a previous build and a model in service exist as they would in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import demo
from demo import scenarios
from pipeline import cli, warehouse
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import Settings
from tests.support import copy_home

pytestmark = pytest.mark.slow

# Small enough for CI, large enough that the monitors' statistics mean something.
CUSTOMERS, MONTHS, SEED = 2000, 24, 3


@dataclass
class Built:
    """A home after one rebuild."""

    settings: Settings
    record: RunRecord


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]) -> Built:
    settings = Settings(home=tmp_path_factory.mktemp("triage-clean")).ensure()
    demo.generate(settings.raw_path, customers=CUSTOMERS, months=MONTHS, seed=SEED)
    record = build(settings)
    assert record.status == "success", record.failure
    return Built(settings, record)


@pytest.fixture(scope="module")
def scenario(
    clean: Built, tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]
) -> Callable[[str], Built]:
    """`scenario(name)`: the clean home copied, regenerated with the scenario, rebuilt."""
    done: dict[str, Built] = {}

    def run(name: str) -> Built:
        if name not in done:
            settings = copy_home(clean.settings, tmp_path_factory.mktemp(name) / "home")
            demo.generate(
                settings.raw_path, customers=CUSTOMERS, months=MONTHS, seed=SEED, scenario=name
            )
            done[name] = Built(settings, build(settings))
        return done[name]

    return run


def monitors(built: Built) -> list[str]:
    return [item["monitor"] for item in (built.record.triage or {}).get("evidence", [])]


def assert_model_kept(built: Built, clean: Built) -> None:
    record = built.record
    assert record.promoted is False
    assert record.model_version == clean.record.model_version
    assert (record.model_decision or "").startswith(f"Kept version {clean.record.model_version}")
    pointer = warehouse.current(built.settings)
    assert pointer is not None
    scored_by = set(queries.at_risk(pointer["path"])["model_version"])
    assert scored_by == {clean.record.model_version}


def test_clean_data_is_healthy_and_status_json_says_so(clean: Built) -> None:
    triage = clean.record.triage
    assert triage is not None
    assert triage["verdict"] == "healthy", triage["evidence"]
    assert triage["owner"] == "no one" and triage["evidence"] == []
    status = cli.status(clean.settings)["triage"]
    assert {key: status[key] for key in ("verdict", "owner", "evidence")} == {
        "verdict": "healthy",
        "owner": "no one",
        "evidence": [],
    }
    assert status["build_id"] == clean.record.build_id


def test_a_clean_build_on_twelve_months_is_healthy_while_to_date_features_do_not_count(
    built,
) -> None:
    """The session build (tests/conftest.py, 12 months): amounts and payments accumulated to
    date grow by construction in the data's first year; they are shown, not counted."""
    triage = built.record.triage or {}
    assert triage["verdict"] == "healthy", triage.get("evidence")
    pointer = warehouse.current(built.settings)
    assert pointer is not None
    drift = queries.feature_drift(pointer["path"]).set_index("feature")
    skipped = drift[~drift["counted"]]
    assert {"average_payment", "largest_payment"} <= set(skipped.index)
    assert skipped["drifted"].any()  # they did move, so counting them would raise an alarm
    assert skipped["note"].str.contains("only 4 months of data").all()
    assert drift.loc["price_per_seat", "counted"] and drift.loc["tenure_days", "counted"]


def test_to_date_features_count_once_the_data_covers_a_year(clean: Built) -> None:
    pointer = warehouse.current(clean.settings)
    assert pointer is not None
    drift = queries.feature_drift(pointer["path"])
    assert drift["counted"].all() and (drift["note"] == "").all()


def test_a_tracking_outage_is_a_data_problem_and_the_new_model_is_not_put_in_service(
    scenario: Callable[[str], Built], clean: Built
) -> None:
    built = scenario("tracking_outage")
    assert built.record.status == "success", built.record.failure
    triage = built.record.triage or {}
    assert triage["verdict"] == "data_quality", triage
    assert triage["owner"] == "analytics engineer"
    assert triage["evidence"][0]["monitor"] == "volume"
    assert triage["evidence"][0]["subject"] == "usage_daily"
    assert "feature_drift" in monitors(built)
    assert_model_kept(built, clean)


def test_late_data_is_a_data_problem_named_by_freshness_and_keeps_the_model(
    scenario: Callable[[str], Built], clean: Built
) -> None:
    built = scenario("late_data")
    triage = built.record.triage or {}
    assert triage["verdict"] == "data_quality", triage
    fresh = [item for item in triage["evidence"] if item["monitor"] == "freshness"]
    assert [item["subject"] for item in fresh] == ["usage_daily"]
    assert fresh[0]["value"] == scenarios.LATE_DAYS
    assert_model_kept(built, clean)


def stop_signups(raw: Path, since: date) -> None:
    """No customer signs up from `since` on: those accounts and all their rows never existed."""
    newcomers = "select account_id from accounts where signup_date >= $since"
    with duckdb.connect(str(raw)) as connection:
        for table in ("subscriptions", "usage_daily", "invoices", "payments", "tickets"):
            connection.execute(
                f"delete from {table} where account_id in ({newcomers})", {"since": since}
            )
        connection.execute("delete from accounts where signup_date >= $since", {"since": since})


def test_no_new_signups_while_usage_flows_is_reported_but_not_a_data_problem(
    clean: Built, tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]
) -> None:
    """The accounts table stops growing for the last six months (acquisition paused: longer
    than any gap between its signups before) while the existing customers' usage, invoices
    and payments keep arriving."""
    pointer = warehouse.current(clean.settings)
    assert pointer is not None
    with warehouse.connect(pointer["path"]) as connection:
        as_of = connection.execute("select as_of_date from monitor_config").fetchone()[0]
    since = (pd.Timestamp(as_of) - pd.DateOffset(months=6)).date()
    settings = copy_home(clean.settings, tmp_path_factory.mktemp("no-signups") / "home")
    stop_signups(settings.raw_path, since)
    record = build(settings)
    assert record.status == "success", record.failure
    triage = record.triage or {}
    assert triage["verdict"] != "data_quality", triage
    assert not {"freshness", "volume"} & {item["monitor"] for item in triage["evidence"]}
    served = warehouse.current(settings)
    assert served is not None
    checks = queries.quality_checks(served["path"])
    accounts = checks[
        (checks["check_name"] == "freshness") & (checks["source_table"] == "accounts")
    ]
    assert accounts["value"].item() > accounts["threshold"].item() and not accounts["fired"].item()
    assert "reported, not an alarm" in accounts["message"].item()


def test_a_price_increase_is_a_world_change_for_both_teams(
    scenario: Callable[[str], Built],
) -> None:
    built = scenario("price_increase")
    triage = built.record.triage or {}
    assert triage["verdict"] == "world_change", triage
    assert triage["owner"] == "analytics engineer and ML engineer"
    drifted = [item["subject"] for item in triage["evidence"] if item["monitor"] == "feature_drift"]
    assert "price_per_seat" in drifted
    assert not {"volume", "freshness", "schema"} & set(monitors(built))


def test_a_schema_change_fails_at_the_contract_as_a_data_problem_and_the_last_good_build_serves(
    scenario: Callable[[str], Built], clean: Built
) -> None:
    built = scenario("schema_change")
    record = built.record
    assert record.status == "failed" and not record.published
    assert record.failure is not None
    assert record.failure["node"] == "stg_raw__activity"
    assert record.failure["layer"] == "source data"
    triage = record.triage or {}
    assert triage["verdict"] == "data_quality" and triage["owner"] == "analytics engineer"
    assert triage["evidence"][0] == {
        "monitor": "build",
        "subject": "stg_raw__activity",
        "value": 1.0,
        "limit": 0.0,
        "message": f"stg_raw__activity: {record.failure['message']}",
    }
    schema = {item["subject"]: item["message"] for item in triage["evidence"][1:]}
    assert "removed" in schema["usage_daily.events"]
    assert "added" in schema["usage_daily.event_count"]
    pointer = warehouse.current(built.settings)
    assert pointer is not None and pointer["build_id"] == clean.record.build_id
    status = cli.status(built.settings)
    assert status["serving_build"] == clean.record.build_id
    assert status["triage"]["verdict"] == "data_quality"
    assert status["triage"]["build_failed"] is True
