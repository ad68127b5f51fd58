"""Writing the demo: simulate the world, record its raw tables, write them into DuckDB.

Memory: usage (about 320 daily rows per account over 24 months) is generated, recorded and
written one month at a time, and DuckDB puts the written months in account-major order under
its memory limit, so 1M accounts fit in a few GiB; the other tables are built one at a time.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from demo.behaviour import simulate
from demo.scenarios import SCENARIOS, SCHEMA_CHANGE, default_scenario_start
from demo.tables import (
    ACCOUNT_ID_PREFIX,
    ACCOUNT_ID_WIDTH,
    SCHEMAS,
    TABLES,
    ids,
    raw_tables,
    usage_months,
)
from demo.world import Scenario, World, accounts, calendar
from pipeline.settings import duckdb_memory_limit

# Usage rows DuckDB puts in account-major order at once: more rows are ordered in blocks of
# accounts. Measured at 32M rows: blocks of 8M peak at 0.9 GiB, one sort at 2.8 GiB, same time.
USAGE_ROWS_PER_SORT = 8_000_000


def generate(
    path: Path,
    customers: int = 5000,
    months: int = 24,
    seed: int = 42,
    end: date = date(2026, 9, 30),
    scenario: str = "clean",
    scenario_start: date | None = None,
) -> dict[str, int]:
    """Write the demo raw tables into a fresh DuckDB file at `path`; return row counts per table."""
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be positive")
    world = _world(customers, months, seed, end, scenario, scenario_start)
    tables, usage, n = raw_tables(world), usage_months(world), len(world.acc.signup)
    del world  # the simulation is freed once usage is staged, before DuckDB orders it
    return _write_duckdb(Path(path), tables, usage, n)


def _world(
    customers: int,
    months: int,
    seed: int,
    end: date,
    scenario: str = "clean",
    scenario_start: date | None = None,
) -> World:
    """Simulate the customer base; the raw tables are drawn from it later, one at a time."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown demo scenario {scenario!r}; expected one of {SCENARIOS}")
    # One more stream than the tables need: the scenario's own draws never shift theirs.
    streams = np.random.SeedSequence(seed).spawn(len(TABLES) + 2)
    rng = dict(
        zip(
            ("simulation", *TABLES, "scenario"),
            (np.random.default_rng(s) for s in streams),
            strict=True,
        )
    )
    cal = calendar(end, months)
    start = (scenario_start or default_scenario_start(end)).replace(day=1)
    chosen = Scenario(scenario, int(np.datetime64(start, "D").astype(np.int64)))
    acc = accounts(cal, customers, rng["accounts"])
    sim = simulate(cal, acc, rng["simulation"], chosen)
    return World(cal=cal, acc=acc, sim=sim, scenario=chosen, rng=rng)


def _raw_schema(name: str, table: pa.Table) -> tuple[tuple[str, str], ...]:
    """The contract's columns and types, with the column `schema_change` renames if renamed."""
    table_name, column, renamed = SCHEMA_CHANGE
    if name == table_name and renamed in table.column_names:
        return tuple((renamed if col == column else col, typ) for col, typ in SCHEMAS[name])
    return SCHEMAS[name]


def _write_duckdb(
    path: Path, tables: Iterable[tuple[str, pa.Table]], usage: Iterable[pa.Table], accounts: int
) -> dict[str, int]:
    """Write the tables into a temporary DuckDB file next to `path`, then swap it in atomically.

    Usage months go to a staging file first, then DuckDB writes them account-major into the
    raw file under the build's memory limit (spilling next to the file if it must).
    Returns the rows per table, in contract order.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    staging, spill = Path(f"{tmp}.usage"), Path(f"{tmp}.spill")
    try:
        con = duckdb.connect(
            str(tmp), config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill)}
        )
        try:
            con.execute("set enable_progress_bar = false")
            counts = {name: _insert(con, name, table) for name, table in tables}
            con.execute("attach ? as staging", [str(staging)])
            counts["usage_daily"] = _insert_usage(con, usage, accounts)
            con.execute("detach staging")
            con.execute("checkpoint")
        finally:
            con.close()
        # A WAL left by the previous file must not be replayed onto the new one.
        Path(f"{path}.wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, staging, Path(f"{tmp}.wal"), Path(f"{staging}.wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    return {name: counts[name] for name in TABLES}


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> int:
    """Create one raw table with the contract's types and load an Arrow table into it."""
    columns = ", ".join(f"{col} {typ}" for col, typ in _raw_schema(name, table))
    con.execute(f"create table main.{name} ({columns})")
    con.register("staged", table)
    con.execute(f"insert into main.{name} by name select * from staged")
    con.unregister("staged")
    return table.num_rows


def _insert_usage(con: duckdb.DuckDBPyConnection, months: Iterable[pa.Table], n: int) -> int:
    """Stage usage month by month, then write it ordered by account and day; return its rows.

    The order is written in blocks of accounts, each small enough to sort in memory; every
    staged month is ordered by account, so each block reads only a few row groups of a month.
    """
    first: pa.Table | None = None
    for month in months:
        con.register("staged", month)
        if first is None:
            con.execute("create table staging.usage as select * from staged")
            first = month.slice(0, 0)
        else:
            con.execute("insert into staging.usage select * from staged")
        con.unregister("staged")
    assert first is not None, "the window has at least one month"
    columns = ", ".join(f"{col} {typ}" for col, typ in _raw_schema("usage_daily", first))
    con.execute(f"create table main.usage_daily ({columns})")
    numbers = np.arange(n, dtype=np.int32)
    account_ids = pa.table(
        {"account": numbers, "account_id": ids(ACCOUNT_ID_PREFIX, numbers + 1, ACCOUNT_ID_WIDTH)}
    )
    con.register("ids", account_ids)
    rows = int(con.execute("select count(*) from staging.usage").fetchall()[0][0])
    step = math.ceil(n / max(1, math.ceil(rows / USAGE_ROWS_PER_SORT)))  # accounts per block
    for low in range(0, n, step):
        con.execute(
            f"""
            insert into main.usage_daily by name
            select ids.account_id, usage.* exclude (account)
            from staging.usage as usage
            inner join ids on usage.account = ids.account
            where usage.account >= {low} and usage.account < {low + step}
            order by usage.account, usage.usage_date
            """
        )
    con.unregister("ids")
    return rows
