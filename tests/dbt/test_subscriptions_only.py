"""A subscription business without activity data (a magazine's or a gym's ledger: customers and
their subscription periods, nothing else) through the whole product: churn is defined by the
cancellations, so the model learns from the subscriptions alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

import demo
from pipeline import warehouse
from pipeline.history import RunRecord
from pipeline.ingest.importer import import_mapping
from pipeline.ingest.mapping import load_mapping
from pipeline.read import queries
from pipeline.settings import Settings
from tests.dbt import any_business

pytestmark = pytest.mark.slow

# The session's 300 demo customers have about 10 cancellations a month: too few for any ranking
# to be told from another by its mean ROC AUC. A ledger of this many has three times as many.
CUSTOMERS = 1_000


def ledger_mapping(customers: tuple[str, ...], periods: tuple[str, ...]) -> dict[str, Any]:
    """A mapping of the two CSV files, each contract column read from its namesake."""
    return {
        "name": "Subscriptions only",
        "sources": {"customers": "customers.csv", "periods": "subscriptions.csv"},
        "tables": {
            "accounts": {"from": "customers", "columns": {name: name for name in customers}},
            "subscriptions": {"from": "periods", "columns": {name: name for name in periods}},
        },
    }


MAPPING = ledger_mapping(
    ("account_id", "account_name", "signup_date", "plan", "segment", "region"),
    (
        "subscription_id", "account_id", "plan", "billing_period", "seats", "mrr", "started_at",
        "ended_at", "status",
    ),
)  # fmt: skip
# A gym's or a magazine's ledger at its barest: who, from when, until when. No status, no
# billing period, no price: the mapping leaves them out (docs/data-contract.md says what
# each then means).
BARE = ledger_mapping(
    ("account_id", "signup_date"), ("subscription_id", "account_id", "started_at", "ended_at")
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo customers and their subscription periods as two CSV files."""
    data = tmp_path_factory.mktemp("ledger-data")
    raw = data / "demo.duckdb"
    demo.generate(raw, customers=CUSTOMERS, months=12, seed=7)
    with duckdb.connect(str(raw), read_only=True) as connection:
        for table, name in (("accounts", "customers"), ("subscriptions", "subscriptions")):
            connection.execute(f"copy {table} to '{data / name}.csv'")
    return data


def imported_and_built(
    data: Path, mapping: dict[str, Any], home: Path, build: Callable[..., RunRecord]
) -> str:
    """The published warehouse of `mapping` (over the files in `data`), imported and built."""
    (data / f"{home.name}.yml").write_text(yaml.safe_dump(mapping))
    settings = Settings(home=home, data_dirs=(data,)).ensure()
    counts = import_mapping(load_mapping(data / f"{home.name}.yml", settings), settings)
    assert counts["usage_daily"] == 0
    record = build(settings)
    assert record.status == "success", record.failure
    pointer = warehouse.current(settings)
    assert pointer is not None
    return str(pointer["path"])


@pytest.fixture(scope="module")
def ledger(
    tmp_path_factory: pytest.TempPathFactory, data: Path, build: Callable[..., RunRecord]
) -> str:
    return imported_and_built(data, MAPPING, tmp_path_factory.mktemp("ledger"), build)


@pytest.fixture(scope="module")
def bare(
    tmp_path_factory: pytest.TempPathFactory, data: Path, build: Callable[..., RunRecord]
) -> str:
    return imported_and_built(data, BARE, tmp_path_factory.mktemp("bare"), build)


def test_a_ledger_without_activity_builds_and_keeps_every_promise(ledger: str) -> None:
    any_business.assert_every_promise(ledger)


def test_without_activity_nothing_speaks_of_activity(ledger: str) -> None:
    """No recency baseline (there is no last activity to rank by) and no reason about it."""
    assert "recency" not in set(queries.backtest_metrics(ledger)["method"])
    table = queries.export_list(ledger, queries.at_risk(ledger))
    reasons = table[["reason_1", "reason_2", "reason_3"]].astype("string").fillna("")
    assert not reasons.apply(lambda column: column.str.contains("activ|event", case=False)).any(
        axis=None
    )


def test_a_bare_ledger_of_dates_alone_builds_without_money_or_a_data_alarm(bare: str) -> None:
    """Dates alone leave the model tenure and days to renewal: customers alike in both share
    a risk (that is the data), so only the promises that do not depend on features hold."""
    header = any_business.export_header(bare)
    assert not [column for column in header if "revenue" in column or "usd" in column], header
    assert any_business.empty_export_columns(bare) == []
    triage = queries.triage(bare)
    assert triage is not None and triage["verdict"] != "data_quality", triage
    auc = any_business.mean_auc(bare)
    assert auc["xgboost"] >= auc["logistic"], auc
