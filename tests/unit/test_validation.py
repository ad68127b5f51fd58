"""Every validation rule, each proven with a bad file, and every problem reported at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.ingest.importer import validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.validation import Problem
from pipeline.settings import Settings

ACCOUNTS = (
    "id,name,signed_up,seats\n1,Acme,2024-01-01,5\n2,Beta,2024-01-15,3\n3,Core,2024-02-01,1\n"
)
USAGE = (
    "customer,day,users,events\n"
    "1,2024-02-01,2,10\n1,2024-02-02,1,4\n2,2024-02-01,1,3\n3,2024-02-03,1,7\n"
)
MAPPING: dict[str, Any] = {
    "name": "Test shop",
    "vars": {"churn_definition": "non_contractual", "horizon_days": 30},
    "sources": {"accounts": "accounts.csv", "usage": "usage.csv"},
    "tables": {
        "accounts": {
            "from": "accounts",
            "columns": {
                "account_id": "id",
                "account_name": "name",
                "signup_date": "signed_up",
                "seats": "seats",
            },
        },
        "usage_daily": {
            "from": "usage",
            "columns": {
                "account_id": "customer",
                "usage_date": "day",
                "active_users": "users",
                "events": "events",
            },
        },
    },
}

Check = Callable[..., list[Problem]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A home whose only readable folders are itself and `tmp_path/data`."""
    (tmp_path / "data").mkdir()
    return Settings(home=tmp_path / "home", data_dirs=((tmp_path / "data").resolve(),))


@pytest.fixture
def check(settings: Settings, tmp_path: Path) -> Check:
    """`check(files={name: text or bytes}, mapping=..., max_mb=...)`: the import's problems."""

    def run(
        files: dict[str, str | bytes] | None = None,
        mapping: dict[str, Any] | None = None,
        max_mb: float | None = None,
    ) -> list[Problem]:
        data = tmp_path / "data"
        for name, content in {
            "accounts.csv": ACCOUNTS,
            "usage.csv": USAGE,
            **(files or {}),
        }.items():
            target = data / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        path = data / "mapping.yml"
        path.write_text(yaml.safe_dump(mapping or MAPPING), encoding="utf-8")
        limited = settings if max_mb is None else replace(settings, max_file_mb=max_mb)
        return validate_mapping(read_mapping(path, limited), limited)

    return run


def rules(problems: list[Problem]) -> set[tuple[str, str, str]]:
    return {(p.table, p.column, p.rule) for p in problems}


def with_table(table: str, **changes: Any) -> dict[str, Any]:
    """MAPPING with one table's settings changed (columns merged, None removes one)."""
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING))
    spec = mapping["tables"][table]
    columns = {**spec["columns"], **changes.pop("columns", {})}
    spec["columns"] = {k: v for k, v in columns.items() if v is not None}
    spec.update(changes)
    return mapping


def test_good_files_pass_every_rule(check: Check) -> None:
    assert check() == []


def test_missing_column_when_a_required_contract_column_is_not_mapped(check: Check) -> None:
    problems = check(mapping=with_table("accounts", columns={"signup_date": None}))
    assert ("accounts", "signup_date", "missing column") in rules(problems)


def test_missing_column_when_the_file_lacks_a_column_the_mapping_reads(check: Check) -> None:
    problems = check(mapping=with_table("usage_daily", columns={"events": "evnts"}))
    found = next(p for p in problems if p.rule == "missing column")
    assert (found.table, found.column) == ("usage_daily", "events")
    assert "'evnts' is not in usage" in found.examples[0]
    assert "customer, day, users, events" in found.hint


def test_extra_column_when_the_mapping_names_a_column_outside_the_contract(check: Check) -> None:
    problems = check(mapping=with_table("accounts", columns={"acount_name": "name"}))
    assert ("accounts", "acount_name", "extra column") in rules(problems)


def test_wrong_type_counts_values_that_do_not_convert(check: Check) -> None:
    accounts = ACCOUNTS.replace("Acme,2024-01-01,5", "Acme,2024-01-01,many").replace(
        "Core,2024-02-01,1", "Core,2024-02-01,few"
    )
    problems = check(files={"accounts.csv": accounts})
    found = next(p for p in problems if p.rule == "wrong type")
    assert (found.table, found.column, found.count) == ("accounts", "seats", 2)
    assert "account_id=1, seats='many'" in found.examples
    assert "try_cast(x as integer)" in found.hint  # a SQL export's NULL or N/A left empty


def test_unparseable_date_when_dates_are_not_iso(check: Check) -> None:
    usage = USAGE.replace("1,2024-02-02,1,4", "1,02/30/2024,1,4")
    problems = check(files={"usage.csv": usage})
    found = next(p for p in problems if p.rule == "unparseable date")
    assert (found.table, found.column, found.count) == ("usage_daily", "usage_date", 1)
    assert "02/30/2024" in found.examples[0]


def test_unparseable_date_when_one_file_mixes_two_date_formats(check: Check) -> None:
    usage = USAGE + "3,31/01/2024,1,2\n3,28/02/2024,1,2\n"
    problems = check(files={"usage.csv": usage})
    found = next(p for p in problems if p.rule == "unparseable date")
    assert (found.table, found.column, found.count) == ("usage_daily", "usage_date", 2)
    assert "usage_date='31/01/2024'" in found.examples[0]


def test_duplicate_key_when_a_customer_id_appears_twice(check: Check) -> None:
    problems = check(files={"accounts.csv": ACCOUNTS + "2,Beta again,2024-01-20,2\n"})
    found = next(p for p in problems if p.rule == "duplicate key")
    assert (found.table, found.column, found.count) == ("accounts", "account_id", 2)
    assert found.examples == ("account_id='2' (2 rows)",)


def test_duplicate_key_when_two_orders_of_one_day_map_to_a_table_of_days(check: Check) -> None:
    # Distinct timestamps, one day: the key is compared as the contract types it (a date), so
    # the two rows are refused rather than counted as two active days.
    usage = USAGE + "2,2024-02-09 08:00:00,1,3\n2,2024-02-09 17:30:00,1,4\n"
    problems = check(files={"usage.csv": usage})
    found = next(p for p in problems if p.rule == "duplicate key")
    assert (found.table, found.count) == ("usage_daily", 2)
    assert found.examples == ("account_id='2', usage_date=2024-02-09 (2 rows)",)
    assert "one row per customer and day" in found.hint


def test_negative_value_when_a_count_is_below_zero(check: Check) -> None:
    problems = check(files={"usage.csv": USAGE + "2,2024-02-05,1,-3\n"})
    found = next(p for p in problems if p.rule == "negative value")
    assert (found.table, found.column, found.count) == ("usage_daily", "events", 1)


def test_date_in_the_future_when_activity_is_dated_after_tomorrow(check: Check) -> None:
    problems = check(files={"usage.csv": USAGE + "2,2999-01-01,1,1\n"})
    assert ("usage_daily", "usage_date", "date in the future") in rules(problems)


def test_date_before_1900_when_a_cast_reads_a_two_digit_year_as_the_year(check: Check) -> None:
    # DuckDB's cast reads 17/03/11 as 17 AD; the mapping casts what the sniffer left as text.
    usage = USAGE.replace("2024-02-03", "17/03/11 08:15")
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING))
    mapping["tables"]["usage_daily"]["columns"]["usage_date"] = "cast(day as date)"
    problems = check(files={"usage.csv": usage}, mapping=mapping)
    found = next(p for p in problems if p.rule == "date before 1900")
    assert (found.table, found.column, found.count) == ("usage_daily", "usage_date", 1)
    assert "strptime(your_column, '%d/%m/%y')" in found.hint


def test_a_function_call_in_a_bracketed_list_says_where_and_how_to_quote_it(
    settings: Settings, tmp_path: Path
) -> None:
    listed = "    group_by: [customer, cast(strptime(day, '%d.%m.%y') as date)]"
    text = yaml.safe_dump(MAPPING).replace("  usage_daily:\n", f"  usage_daily:\n{listed}\n")
    path = tmp_path / "data" / "shop.yml"
    path.write_text(text)
    line = 1 + text.splitlines().index(listed)
    [problem] = read_mapping(path, settings).problems
    assert problem.rule == "unreadable mapping"
    assert f"line {line}, column " in problem.hint
    assert "must be quoted whole" in problem.hint


@pytest.mark.parametrize(
    ("ids", "spelling", "expression"),
    [
        # A CRM keeps leading zeros, the shop system does not.
        (("001", "002", "003"), "leading zeros (1 here, '001' in accounts)", "ltrim(trim("),
        (("A1", "B2", "C3"), "upper and lower case", "lower(trim(your_column))"),
    ],
)
def test_unknown_customers_spelled_another_way_get_the_expression_that_joins_them(
    check: Check, ids: tuple[str, ...], spelling: str, expression: str
) -> None:
    accounts = ACCOUNTS
    usage = USAGE
    for number, written in enumerate(ids, start=1):
        accounts = accounts.replace(f"\n{number},", f"\n{written},")
        if not written.startswith("0"):  # the other system writes it in lower case
            usage = usage.replace(f"\n{number},", f"\n{written.lower()},")
    problems = check(files={"accounts.csv": accounts, "usage.csv": usage})
    found = next(p for p in problems if p.rule == "unknown customer")
    assert found.count == 4
    assert f"but for {spelling}" in found.hint and expression in found.hint, found.hint


def test_before_signup_when_activity_predates_the_customer(check: Check) -> None:
    problems = check(files={"usage.csv": USAGE + "3,2024-01-10,1,1\n"})
    found = next(p for p in problems if p.rule == "before signup")
    assert (found.table, found.column, found.count) == ("usage_daily", "usage_date", 1)


def test_unknown_customer_when_activity_has_no_account(check: Check) -> None:
    problems = check(files={"usage.csv": USAGE + "99,2024-02-10,1,1\n"})
    found = next(p for p in problems if p.rule == "unknown customer")
    assert found.count == 1 and "account_id=99" in found.examples[0]


def test_missing_value_when_a_required_value_is_blank(check: Check) -> None:
    problems = check(files={"accounts.csv": ACCOUNTS + "4,Delta,,2\n"})
    found = next(p for p in problems if p.rule == "missing value")
    assert (found.table, found.column, found.count) == ("accounts", "signup_date", 1)


def test_empty_file_when_it_has_no_bytes_or_only_a_header(check: Check) -> None:
    problems = check(files={"accounts.csv": b"", "usage.csv": "customer,day,users,events\n"})
    assert {("accounts", "", "empty file"), ("usage", "", "empty file")} <= rules(problems)


def test_wrong_encoding_when_a_utf8_file_holds_latin1_bytes(check: Check) -> None:
    latin1 = ACCOUNTS.replace("Beta", "Bêta").encode("latin-1")
    found = next(p for p in check(files={"accounts.csv": latin1}) if p.rule == "wrong encoding")
    assert found.count == 1 and found.examples[0].startswith("line 3:")
    assert "encoding: latin-1" in found.hint


def test_latin1_file_reads_when_the_source_declares_its_encoding(check: Check) -> None:
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING))
    mapping["sources"]["accounts"] = {"path": "accounts.csv", "encoding": "latin-1"}
    latin1 = ACCOUNTS.replace("Beta", "Bêta").encode("latin-1")
    assert check(files={"accounts.csv": latin1}, mapping=mapping) == []


def test_wrong_delimiter_when_a_semicolon_file_is_read_with_commas(check: Check) -> None:
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING))
    mapping["sources"]["usage"] = {"path": "usage.csv", "delimiter": ","}
    problems = check(files={"usage.csv": USAGE.replace(",", ";")}, mapping=mapping)
    found = next(p for p in problems if p.rule == "wrong delimiter")
    assert found.table == "usage" and "delimiter: ';'" in found.hint


def test_file_too_large_is_refused_before_it_is_read(check: Check) -> None:
    big = "customer,day,users,events\n" + "1,2024-02-01,1,1\n" * 40_000  # 0.7 MB
    assert "file too large" not in {p.rule for p in check(files={"usage.csv": big}, max_mb=1)}
    found = next(
        p for p in check(files={"usage.csv": big}, max_mb=0.5) if p.rule == "file too large"
    )
    assert found.table == "usage" and "BATON_MAX_FILE_MB" in found.hint


def test_no_rows_when_the_filter_leaves_a_required_table_empty(check: Check) -> None:
    problems = check(mapping=with_table("usage_daily", where="events > 1000"))
    assert ("usage_daily", "", "no rows") in rules(problems)


def test_invalid_expression_names_the_column_whose_expression_fails(check: Check) -> None:
    problems = check(mapping=with_table("usage_daily", columns={"events": "date_part(events)"}))
    found = next(p for p in problems if p.rule == "invalid expression")
    assert (found.table, found.column) == ("usage_daily", "events")


def test_every_problem_is_reported_at_once_across_files_and_rules(check: Check) -> None:
    accounts = (
        ACCOUNTS.replace("Acme,2024-01-01,5", "Acme,2024-01-01,many") + "2,Dup,2024-01-02,1\n"
    )
    usage = USAGE + "2,2999-01-01,1,-1\n"
    mapping = with_table("accounts", columns={"platform": "os", "colour": "x"})
    found = rules(check(files={"accounts.csv": accounts, "usage.csv": usage}, mapping=mapping))
    assert {
        ("accounts", "colour", "extra column"),
        ("accounts", "platform", "missing column"),
        ("usage_daily", "events", "negative value"),
        ("usage_daily", "usage_date", "date in the future"),
    } <= found
    # accounts could not be computed (its mapping reads a missing column), yet usage was checked.
    assert not any(table == "accounts" and rule == "wrong type" for table, _, rule in found)


def test_problems_of_a_computable_table_are_all_listed(check: Check) -> None:
    accounts = (
        ACCOUNTS.replace("Acme,2024-01-01,5", "Acme,2024-01-01,many") + "2,Dup,2024-01-02,1\n"
    )
    found = rules(check(files={"accounts.csv": accounts}))
    assert {
        ("accounts", "seats", "wrong type"),
        ("accounts", "account_id", "duplicate key"),
    } <= found
