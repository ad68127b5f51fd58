"""One more day of raw data: the newest day's events happen again the next day.

The demo cannot be regenerated one day longer: its calendar, account inflow and random
draws depend on the window, so the same seed with a later end writes a different history
(bench/README.md). A daily rebuild needs the same history plus one day, so the newest day of
usage, tickets, invoices and payments is copied to the day after, under new ids. Accounts and
subscriptions are left as they are: nobody signs up, changes plan or cancels that day.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

# Each event table: its id column (None: no id), its day column, and a date or timestamp.
EVENT_TABLES = {
    "usage_daily": (None, "usage_date"),
    "tickets": ("ticket_id", "created_at"),
    "invoices": ("invoice_id", "invoice_date"),
    "payments": ("payment_id", "attempted_at"),
}


def _copy_sql(table: str, id_column: str | None, day_column: str, suffix: str) -> str:
    """Insert the newest day's rows of `table` again, one day later, with ids made unique."""
    shifted = [f"{day_column} + interval 1 day as {day_column}"]
    if id_column:
        shifted.append(f"{id_column} || '{suffix}' as {id_column}")
    if table == "invoices":
        shifted.append("due_date + interval 1 day as due_date")
    if table == "payments":  # an attempt on an invoice copied too pays the copy
        shifted.append(
            f"case when invoice_id in (select invoice_id from invoices where invoice_date = $day) "
            f"then invoice_id || '{suffix}' else invoice_id end as invoice_id"
        )
    running = ""
    if table == "usage_daily":  # only accounts with a subscription running on the new day
        running = (
            "and exists (select 1 from subscriptions as s where s.account_id = t.account_id "
            "and s.started_at <= $next and (s.ended_at is null or s.ended_at >= $next))"
        )
    return (
        f"insert into {table} by name "
        f"select * replace ({', '.join(shifted)}) from {table} as t "
        f"where cast({day_column} as date) = $day {running}"
    )


def append_day(raw_path: Path) -> dict[str, object]:
    """Copy the newest day of events in `raw_path` to the next day; the day and rows added."""
    with duckdb.connect(str(raw_path)) as connection:
        newest = connection.execute("select max(usage_date) from usage_daily").fetchall()[0][0]
        if not isinstance(newest, date):
            raise ValueError(f"no usage in {raw_path}")
        day = newest + timedelta(days=1)
        suffix = f"-{day:%Y%m%d}"
        before = {t: _count(connection, t) for t in EVENT_TABLES}
        connection.execute("begin")
        # Invoices before payments: a payment's invoice is recognised by its newest-day date.
        for table, (id_column, day_column) in EVENT_TABLES.items():
            sql = _copy_sql(table, id_column, day_column, suffix)
            params = {"day": newest, **({"next": day} if "$next" in sql else {})}
            connection.execute(sql, params)
        connection.execute("commit")
        added = {t: _count(connection, t) - before[t] for t in EVENT_TABLES}
    return {"day": day.isoformat(), "rows": added}


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(connection.execute(f"select count(*) from {table}").fetchall()[0][0])
