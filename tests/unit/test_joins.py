"""Normalized exports: a table's rows take their customer from another file (`join:`), as a
shop's database writes orders, their payments and the people behind them apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.validation import Problem
from pipeline.settings import Settings

# A marketplace's export (Olist's shape): every order has a customer id of its own; the
# customers file maps it to the person (`person`); payments name only their order, and an
# order may be paid in two parts.
FILES = {
    "customers.csv": "customer_id,person,state\nc1,p1,SP\nc2,p1,SP\nc3,p2,RJ\n",
    "orders.csv": (
        "order_id,customer_id,status,bought_at\n"
        "o1,c1,delivered,2024-01-05 10:00:00\n"
        "o2,c2,delivered,2024-02-07 11:30:00\n"
        "o3,c3,canceled,2024-01-20 09:00:00\n"
    ),
    "payments.csv": "order_id,part,kind,value\no1,1,card,30.0\no1,2,voucher,10.0\no2,1,card,25.5\n",
}
BY_PERSON = {"customers": "customer_id"}
MAPPING: dict[str, Any] = {
    "name": "Marketplace",
    "vars": {"churn_definition": "non_contractual", "horizon_days": 30},
    "sources": {"customers": "customers.csv", "orders": "orders.csv", "payments": "payments.csv"},
    "tables": {
        "accounts": {
            "from": "orders",
            "join": BY_PERSON,
            "group_by": ["person"],
            "columns": {
                "account_id": "person",
                "signup_date": "min(cast(bought_at as date))",
                "region": "mode(state)",
            },
        },
        "usage_daily": {
            "from": "orders",
            "join": BY_PERSON,
            "where": "status = 'delivered'",
            "group_by": ["person", "cast(bought_at as date)"],
            "columns": {
                "account_id": "person",
                "usage_date": "cast(bought_at as date)",
                "events": "count(*)",
            },
        },
        "payments": {
            "from": "payments",
            "join": {"orders": "order_id", **BY_PERSON},
            "columns": {
                "payment_id": "order_id || '-' || part",
                "invoice_id": "order_id",
                "account_id": "person",
                "attempted_at": "bought_at",
                "amount": "value",
                "status": "'succeeded'",
            },
        },
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "data").mkdir()
    return Settings(home=tmp_path / "home", data_dirs=((tmp_path / "data").resolve(),)).ensure()


def mapping_file(settings: Settings, mapping: dict[str, Any]) -> Path:
    data = settings.data_dirs[0]
    for name, content in FILES.items():
        (data / name).write_text(content)
    path = data / "marketplace.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def problems(settings: Settings, table: str, join: Any) -> list[Problem]:
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING, sort_keys=False))
    mapping["tables"][table]["join"] = join
    return validate_mapping(read_mapping(mapping_file(settings, mapping), settings), settings)


def test_rows_take_their_customer_through_a_chain_of_joins(settings: Settings) -> None:
    counts = import_mapping(read_mapping(mapping_file(settings, MAPPING), settings), settings)
    assert counts["accounts"] == 2 and counts["usage_daily"] == 2
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        paid = connection.execute(
            "select account_id, count(*), sum(amount) from payments group by 1 order by 1"
        ).fetchall()
        signups = connection.execute(
            "select account_id, signup_date::varchar, region from accounts order by 1"
        ).fetchall()
    # Both parts of o1 and o2 belong to p1, through each order's own customer id: no payment
    # lost or counted twice.
    assert paid == [("p1", 3, 65.5)]
    assert signups == [("p1", "2024-01-05", "SP"), ("p2", "2024-01-20", "RJ")]


def test_a_join_on_a_condition_reads_as_one_by_name(settings: Settings) -> None:
    on = {"customers": {"on": "orders.customer_id = customers.customer_id"}}
    assert problems(settings, "accounts", on) == []


def test_a_join_that_matches_a_row_several_times_is_refused_with_the_repeated_keys(
    settings: Settings,
) -> None:
    # Orders joined to their payments: o1 has two, so the order would count twice.
    (found,) = problems(settings, "usage_daily", {**BY_PERSON, "payments": "order_id"})
    assert (found.table, found.column, found.rule) == (
        "usage_daily",
        "join payments",
        "join matches several rows",
    )
    assert found.count == 1 and found.examples == ("order_id='o1' (2 rows)",)
    assert "key that is unique there" in found.hint


def test_a_join_key_missing_on_either_side_is_named_with_the_columns_there(
    settings: Settings,
) -> None:
    found = problems(settings, "accounts", {"customers": "person"})
    assert [(p.column, p.rule) for p in found] == [("join customers", "missing column")]
    assert "'person' is not in orders" in found[0].examples
    assert "order_id, customer_id, status, bought_at" in found[0].hint


def test_joins_in_the_wrong_order_are_told_which_comes_first(settings: Settings) -> None:
    # Payments reach the person through their order: customers cannot join before orders.
    (found,) = problems(settings, "payments", {**BY_PERSON, "orders": "order_id"})
    assert (found.column, found.rule) == ("join customers", "missing column")
    assert "List orders before customers under `join:`." in found.hint


@pytest.mark.parametrize(
    ("join", "said"),
    [
        ({"shop": "order_id"}, "'shop' is not a source"),
        ({"orders": "customer_id"}, "'orders' is what `from` reads"),
        ({"customers": {"using": "customer_id"}}, "by a condition"),
        (["customers"], "or a list"),
        ({"customers": {"on": "(select 1)"}}, ""),
    ],
)
def test_a_join_written_wrong_says_how_to_write_it(
    settings: Settings, join: Any, said: str
) -> None:
    (found,) = problems(settings, "accounts", join)
    assert (found.table, found.column) == ("accounts", "join")
    assert said in str(found)
