"""JSON sources (JSON Lines and arrays of objects), imported as event trackers and APIs export
them: nested objects, epoch timestamps, keys that appear late, dates written as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.safety import sanitize_upload_name
from pipeline.ingest.uploads import preview
from pipeline.settings import Settings
from tests.unit.test_spreadsheets import ORDERS, orders_mapping, rows, settings, write_mapping

__all__ = ["settings"]  # the fixture, shared with the spreadsheet tests

# The spreadsheet tests' orders, as a tracker writes them: dates as ISO text, ids as text.
OBJECTS = [
    {"Invoice": str(invoice), "Customer": customer, "InvoiceDate": f"{at:%Y-%m-%d %H:%M:%S}",
     "Amount": amount}
    for invoice, customer, at, amount in ORDERS
]  # fmt: skip


def write_lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


def test_json_lines_import_like_the_same_orders_in_a_workbook(settings: Settings) -> None:
    write_lines(settings.data_dirs[0] / "orders.jsonl", OBJECTS)
    counts = import_mapping(
        read_mapping(write_mapping(settings, orders_mapping("orders.jsonl")), settings), settings
    )
    assert (counts["accounts"], counts["usage_daily"], counts["payments"]) == (3, 3, 5)
    # Dates written as text are typed, so the mapping's casts and date checks work.
    assert rows(settings, "select payment_id, attempted_at::varchar from payments order by 2")[
        2
    ] == ("C536379", "2010-12-01 09:41:00")
    assert ("00042",) in rows(settings, "select account_id from accounts")


def test_a_json_array_with_nested_objects_epoch_times_and_a_late_key_imports(
    settings: Settings,
) -> None:
    # An array (not lines); `properties` nested; `ts` in epoch milliseconds; the `coupon` key
    # first appears on the last object, past any sample a reader could type from.
    events = [
        {"user": f"u{i % 7}", "ts": 1538352000000 + i * 3_600_000, "properties": {"level": "paid"}}
        for i in range(3000)
    ]
    events[-1]["coupon"] = "SPRING"
    (settings.data_dirs[0] / "events.json").write_text(json.dumps(events))
    mapping = {
        "name": "Streaming",
        "vars": {"churn_definition": "non_contractual"},
        "sources": {"log": "events.json"},
        "tables": {
            "accounts": {
                "from": "log",
                "group_by": ["user"],
                "columns": {
                    "account_id": "user",
                    "signup_date": "min(cast(to_timestamp(ts / 1000) as date))",
                    "plan": "max(properties.level)",
                    "segment": "coalesce(max(coupon), 'none')",
                },
            },
            "usage_daily": {
                "from": "log",
                "group_by": ["user", "cast(to_timestamp(ts / 1000) as date)"],
                "columns": {
                    "account_id": "user",
                    "usage_date": "cast(to_timestamp(ts / 1000) as date)",
                    "active_users": 1,
                    "events": "count(*)",
                },
            },
        },
    }
    counts = import_mapping(read_mapping(write_mapping(settings, mapping), settings), settings)
    assert counts["accounts"] == 7 and counts["usage_daily"] > 100
    assert rows(settings, "select distinct plan from accounts") == [("paid",)]
    assert ("SPRING",) in rows(settings, "select distinct segment from accounts")


def test_a_file_that_is_not_json_is_one_problem_not_a_traceback(settings: Settings) -> None:
    (settings.data_dirs[0] / "orders.json").write_text("Invoice,Customer\n536365,17850\n")
    problems = validate_mapping(
        read_mapping(write_mapping(settings, orders_mapping("orders.json")), settings), settings
    )
    assert [(p.table, p.rule) for p in problems] == [("orders", "unreadable file")]
    assert "one object per line" in problems[0].hint


@pytest.mark.parametrize("name", ["events.jsonl", "Events 2024.ndjson", "export.json"])
def test_a_json_upload_is_accepted_and_previewed_with_its_types(
    settings: Settings, name: str
) -> None:
    stored = sanitize_upload_name(name)
    settings.uploads_dir.mkdir(parents=True)
    write_lines(settings.uploads_dir / stored, OBJECTS)
    frame, types, _ = preview(settings, settings.uploads_dir / stored)
    assert types["InvoiceDate"] == "TIMESTAMP" and types["Amount"] == "DOUBLE"
    assert frame["Invoice"].tolist()[:3] == ["536365", "536366", "C536379"]
