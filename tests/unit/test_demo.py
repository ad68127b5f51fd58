"""The demo generator: exact raw schema, determinism, consistent timelines, plausible churn."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import demo
import demo.generator
import demo.tables

END = date(2026, 6, 30)
MONTHS = 12
WINDOW_START = date(2025, 7, 1)
SMALL = {"customers": 300, "months": MONTHS, "seed": 7, "end": END}

# Written out here, not imported, so a drift of the generator from the dbt sources fails.
EXPECTED_SCHEMA = {
    "accounts": [
        ("account_id", "VARCHAR"),
        ("account_name", "VARCHAR"),
        ("signup_date", "DATE"),
        ("plan", "VARCHAR"),
        ("segment", "VARCHAR"),
        ("region", "VARCHAR"),
        ("seats", "INTEGER"),
        ("platform", "VARCHAR"),
    ],
    "subscriptions": [
        ("subscription_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("plan", "VARCHAR"),
        ("billing_period", "VARCHAR"),
        ("seats", "INTEGER"),
        ("mrr", "DOUBLE"),
        ("started_at", "DATE"),
        ("ended_at", "DATE"),
        ("status", "VARCHAR"),
    ],
    "usage_daily": [
        ("account_id", "VARCHAR"),
        ("usage_date", "DATE"),
        ("active_users", "INTEGER"),
        ("events", "INTEGER"),
    ],
    "invoices": [
        ("invoice_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("invoice_date", "DATE"),
        ("due_date", "DATE"),
        ("amount", "DOUBLE"),
    ],
    "payments": [
        ("payment_id", "VARCHAR"),
        ("invoice_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("attempted_at", "TIMESTAMP"),
        ("amount", "DOUBLE"),
        ("status", "VARCHAR"),
    ],
    "tickets": [
        ("ticket_id", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("priority", "VARCHAR"),
        ("category", "VARCHAR"),
    ],
}


def _arrow_tables(path: Path) -> dict[str, pa.Table]:
    """Every raw table of a generated file, in stored row order."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.table(name).to_arrow_table() for name in EXPECTED_SCHEMA}


def _query(path: Path, sql: str) -> pd.DataFrame:
    """Run one query against a generated file."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """300 customers x 12 months, generated once for the read-only checks."""
    path = tmp_path_factory.mktemp("demo") / "raw.duckdb"
    counts = demo.generate(path, **SMALL)
    return path, counts


def test_same_seed_writes_identical_tables(small, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    demo.generate(again, **SMALL)
    first, second = _arrow_tables(small[0]), _arrow_tables(again)
    for name in EXPECTED_SCHEMA:
        assert first[name].equals(second[name]), name


def test_different_seeds_give_different_data(small, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    demo.generate(other, **{**SMALL, "seed": SMALL["seed"] + 1})
    first, second = _arrow_tables(small[0]), _arrow_tables(other)
    assert not first["accounts"].equals(second["accounts"])
    assert not first["usage_daily"].equals(second["usage_daily"])


def test_every_raw_table_has_the_exact_columns_and_types(small) -> None:
    with duckdb.connect(str(small[0]), read_only=True) as con:
        tables = {row[0] for row in con.sql("show tables").fetchall()}
        assert tables == set(EXPECTED_SCHEMA)
        for name, expected in EXPECTED_SCHEMA.items():
            described = con.sql(f"describe {name}").fetchall()
            assert [(row[0], row[1]) for row in described] == expected, name


def test_returned_row_counts_match_the_file_and_no_table_is_empty(small) -> None:
    path, counts = small
    stored = {name: len(table) for name, table in _arrow_tables(path).items()}
    assert counts == stored
    assert all(count > 0 for count in counts.values())
    assert counts["accounts"] == SMALL["customers"]


def test_identifiers_are_unique_and_zero_padded(small) -> None:
    ids = _query(
        small[0],
        """
        select
            (select count(distinct account_id) = count(*) from accounts) as accounts_unique,
            (select count(distinct account_name) = count(*) from accounts) as names_unique,
            (select count(distinct subscription_id) = count(*) from subscriptions) as subs_unique,
            (select count(distinct invoice_id) = count(*) from invoices) as invoices_unique,
            (select count(distinct payment_id) = count(*) from payments) as payments_unique,
            (select count(distinct ticket_id) = count(*) from tickets) as tickets_unique,
            (select min(account_id) from accounts) as first_account,
            (select bool_and(regexp_full_match(account_id, 'A[0-9]{6}')) from accounts) as padded
        """,
    ).iloc[0]
    assert ids.drop(["first_account"]).all()
    assert ids["first_account"] == "A000001"


def test_no_activity_after_end_or_before_signup(small) -> None:
    violations = _query(
        small[0],
        f"""
        with events as (
            select account_id, usage_date as day from usage_daily
            union all select account_id, created_at::date from tickets
            union all select account_id, attempted_at::date from payments
            union all select account_id, invoice_date from invoices
        )
        select count(*) as n
        from events join accounts using (account_id)
        where day > date '{END}' or day < signup_date or day < date '{WINDOW_START}'
        """,
    )
    assert violations["n"].iloc[0] == 0


def test_usage_rows_only_while_subscribed_and_only_when_active(small) -> None:
    violations = _query(
        small[0],
        """
        with span as (
            select account_id, min(started_at) as first_day,
                max(ended_at) filter (where status = 'cancelled') as cancelled_on
            from subscriptions group by account_id
        )
        select
            count(*) filter (
                where usage_date < first_day or usage_date > coalesce(cancelled_on, usage_date)
            ) as outside,
            count(*) filter (where active_users <= 0 or events < active_users) as empty_rows
        from usage_daily join span using (account_id)
        """,
    ).iloc[0]
    assert violations["outside"] == 0
    assert violations["empty_rows"] == 0


def test_each_account_has_contiguous_changed_rows_then_one_open_or_cancelled_row(small) -> None:
    subs = _query(
        small[0],
        """
        select s.*, a.signup_date,
            row_number() over (partition by account_id order by started_at desc) = 1 as is_last,
            lead(started_at) over (partition by account_id order by started_at) as next_start,
            row_number() over (partition by account_id order by started_at) = 1 as is_first
        from subscriptions s join accounts a using (account_id)
        """,
    )
    last, earlier = subs[subs.is_last], subs[~subs.is_last]
    assert last.account_id.is_unique and len(last) == SMALL["customers"]
    assert set(last.status) <= {"active", "cancelled"}
    assert last[last.status == "active"].ended_at.isna().all()
    assert last[last.status == "cancelled"].ended_at.notna().all()
    assert (earlier.status == "changed").all()
    assert (earlier.ended_at + pd.Timedelta(days=1) == earlier.next_start).all()
    assert (subs[subs.is_first].started_at == subs[subs.is_first].signup_date).all()
    assert (subs.ended_at.dropna() >= subs.started_at[subs.ended_at.notna()]).all()


def test_accounts_include_an_existing_base_and_signups_during_the_window(small) -> None:
    signups = _query(
        small[0],
        f"""
        select count(*) filter (where signup_date < date '{WINDOW_START}') as existing,
            count(*) filter (where signup_date >= date '{WINDOW_START}') as new,
            max(signup_date) as last_signup,
            min(signup_date) as first_signup
        from accounts
        """,
    ).iloc[0]
    assert signups["existing"] > signups["new"] > 0
    assert signups["last_signup"] <= pd.Timestamp(END)
    assert signups["first_signup"] < pd.Timestamp(WINDOW_START) - pd.DateOffset(years=2)


def test_invoices_follow_the_billing_period_and_mrr(small) -> None:
    wrong = _query(
        small[0],
        """
        select count(*) as n
        from invoices i join subscriptions s
            on s.account_id = i.account_id
            and i.invoice_date between s.started_at and coalesce(s.ended_at, i.invoice_date)
        where abs(i.amount - s.mrr * if(s.billing_period = 'annual', 12, 1)) > 0.01
            or i.due_date <= i.invoice_date
        """,
    )
    assert wrong["n"].iloc[0] == 0


def test_failed_payments_are_retried_days_later(small) -> None:
    retries = _query(
        small[0],
        f"""
        with ordered as (
            select *,
                lead(attempted_at) over (partition by invoice_id order by attempted_at)
                    as next_attempt,
                row_number() over (partition by invoice_id order by attempted_at) as attempt
            from payments
        )
        select
            count(*) filter (where status = 'failed') as failed,
            count(next_attempt) filter (where status = 'failed') as retried,
            count(*) filter (where status = 'failed' and next_attempt is null and attempt < 4
                and attempted_at < timestamp '{END}' - interval 5 days) as abandoned_early,
            count(next_attempt) filter (where status = 'succeeded') as after_success,
            min(datediff('hour', attempted_at, next_attempt)) as min_gap_hours,
            max(datediff('hour', attempted_at, next_attempt)) as max_gap_hours
        from ordered
        """,
    ).iloc[0]
    assert retries["failed"] > 0 and retries["retried"] > 0
    assert retries["abandoned_early"] == 0
    assert retries["after_success"] == 0
    assert 3 * 24 <= retries["min_gap_hours"] <= retries["max_gap_hours"] <= 6 * 24


def test_usage_is_stored_by_account_then_date_with_one_row_per_day(small) -> None:
    usage = _arrow_tables(small[0])["usage_daily"].to_pandas()
    key = pd.DataFrame(
        {"account": usage["account_id"].str[1:].astype(int), "day": usage["usage_date"]}
    )
    assert usage["account_id"].nunique() > 100
    assert key.equals(key.sort_values(["account", "day"]))
    assert not key.duplicated().any()


def test_usage_ordered_in_account_blocks_matches_one_sort_when_it_outgrows_a_block(
    small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "blocked.duckdb"
    rows = small[1]["usage_daily"]
    monkeypatch.setattr(demo.generator, "USAGE_ROWS_PER_SORT", rows // 7)  # 8 blocks
    demo.generate(blocked, **SMALL)
    first, second = _arrow_tables(small[0]), _arrow_tables(blocked)
    assert second["usage_daily"].num_rows == rows
    assert first["usage_daily"].equals(second["usage_daily"])


def test_usage_is_lower_on_weekends(small) -> None:
    by_day = _query(
        small[0],
        """
        select isodow(usage_date) >= 6 as weekend, sum(active_users) / count(distinct usage_date)
            as users_per_day
        from usage_daily group by 1
        """,
    ).set_index("weekend")["users_per_day"]
    assert by_day[True] < 0.6 * by_day[False]


def test_mrr_spans_at_least_two_orders_of_magnitude(small) -> None:
    mrr = _query(
        small[0],
        """
        select min(mrr) as low, max(mrr) as high,
            median(mrr) filter (where plan = 'starter') as starter,
            median(mrr) filter (where plan = 'enterprise') as enterprise
        from subscriptions
        """,
    ).iloc[0]
    assert mrr["low"] > 0
    assert mrr["high"] / mrr["low"] >= 100
    assert mrr["enterprise"] > 50 * mrr["starter"]


def test_monthly_churn_rate_is_plausible(tmp_path: Path) -> None:
    path = tmp_path / "medium.duckdb"
    demo.generate(path, customers=2000, months=MONTHS, seed=11, end=END)
    rates = _query(
        path,
        f"""
        with months as (
            select unnest(generate_series(date '{WINDOW_START}', date '{END}', interval 1 month))
                ::date as month_start
        ),
        lifetimes as (
            select account_id, min(started_at) as started,
                max(ended_at) filter (where status = 'cancelled') as cancelled
            from subscriptions group by account_id
        )
        select month_start,
            count(*) filter (where started < month_start
                and (cancelled is null or cancelled >= month_start)) as active,
            count(*) filter (where cancelled >= month_start
                and cancelled < month_start + interval 1 month) as churned
        from months cross join lifetimes group by month_start
        """,
    )
    monthly = rates.churned / rates.active
    assert 0.015 <= monthly.mean() <= 0.04
    assert monthly.max() < 0.08


def test_unknown_scenario_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "raw.duckdb"
    with pytest.raises(ValueError, match="unknown demo scenario 'chaos'"):
        demo.generate(path, customers=20, months=2, scenario="chaos")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_without_leftover_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "raw.duckdb"
    path.write_bytes(b"not a database")
    demo.generate(path, customers=20, months=2, seed=1)
    assert [p.name for p in tmp_path.iterdir()] == ["raw.duckdb"]
    assert _query(path, "select count(*) as n from accounts")["n"].iloc[0] == 20


def test_failed_generation_keeps_the_previous_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "raw.duckdb"
    demo.generate(path, customers=20, months=2, seed=1)
    before = path.read_bytes()

    def broken_tickets(*args: object) -> pa.Table:
        return pa.table({"no_such_column": [1]})

    monkeypatch.setattr(demo.tables, "_tickets_table", broken_tickets)
    with pytest.raises(duckdb.Error):
        demo.generate(path, customers=30, months=2, seed=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["raw.duckdb"]


def test_tiny_sizes_still_produce_every_table(tmp_path: Path) -> None:
    counts = demo.generate(tmp_path / "tiny.duckdb", customers=3, months=1, seed=5)
    assert set(counts) == set(EXPECTED_SCHEMA)
    assert counts["accounts"] == 3
