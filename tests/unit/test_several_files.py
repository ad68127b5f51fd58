"""One source of several files or sheets: monthly exports, a workbook's yearly sheets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.settings import Settings
from tests.unit.test_spreadsheets import (
    HEADER,
    ORDERS,
    orders_mapping,
    rows,
    workbook,
    write_mapping,
)

TABLES = ("accounts", "usage_daily", "payments")
# The orders without the id a CSV reader shortens (00042 reads as 42 from a CSV).
CSV_ORDERS = [row for row in ORDERS if not str(row[1]).startswith("0")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()


def csv_text(orders: list[tuple[Any, ...]], extra: str | None = None, day: str = "%Y-%m-%d") -> str:
    """Orders as an export writes them; `extra`: a column later exports added."""
    header = ",".join([*HEADER, *([extra] if extra else [])])
    lines = [
        ",".join(
            [str(o[0]), str(o[1]), f"{o[2]:{day} %H:%M:%S}", str(o[3]), *(["x"] if extra else [])]
        )
        for o in orders
    ]
    return "\n".join([header, *lines]) + "\n"


def imported(settings: Settings, source: dict[str, Any] | str) -> dict[str, list[Any]]:
    """Every contract table after importing the orders mapping over `source`."""
    import_mapping(
        read_mapping(write_mapping(settings, orders_mapping(source)), settings), settings
    )
    return {table: rows(settings, f"select * from {table} order by all") for table in TABLES}


def by_month(orders: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    months: dict[str, list[tuple[Any, ...]]] = {}
    for order in orders:
        months.setdefault(f"{order[2]:%Y-%m}", []).append(order)
    return months


def test_monthly_exports_named_by_a_pattern_import_as_one_history(settings: Settings) -> None:
    data = settings.data_dirs[0]
    (data / "all.csv").write_text(csv_text(CSV_ORDERS))
    whole = imported(settings, "all.csv")
    months = by_month(CSV_ORDERS)
    newest = max(months)
    for month, orders in months.items():
        # The newest export has a column the older ones lack: stacked by name, it is empty
        # for the older rows and the import does not fail.
        extra = "Channel" if month == newest else None
        (data / "exports").mkdir(exist_ok=True)
        (data / "exports" / f"orders_{month}.csv").write_text(csv_text(orders, extra))
    assert imported(settings, "exports/orders_*.csv") == whole
    listed = [f"exports/orders_{month}.csv" for month in sorted(months)]
    assert imported(settings, {"path": listed}) == whole
    # Nothing of the files is left in the raw data but the contract's tables.
    left = "select table_name from duckdb_tables() union all select view_name from duckdb_views()"
    assert not [name for (name,) in rows(settings, left) if name.startswith("_source")]


def test_a_workbook_s_yearly_sheets_import_as_one_history(settings: Settings) -> None:
    data = settings.data_dirs[0]
    workbook(data / "one.xlsx", {"Orders": [tuple(HEADER), *ORDERS]})
    whole = imported(settings, "one.xlsx")
    years = {"Year 2010": [o for o in ORDERS if o[2].year == 2010]}
    years["Year 2011"] = [o for o in ORDERS if o[2].year == 2011]
    workbook(data / "years.xlsx", {y: [tuple(HEADER), *orders] for y, orders in years.items()})
    assert imported(settings, {"path": "years.xlsx", "sheet": list(years)}) == whole


def test_dates_are_read_once_the_files_are_stacked(settings: Settings) -> None:
    # Alone, the first month reads two ways (01/12/2010: January or December); the second's
    # 15/01/2011 says the export writes the day first, and so the whole history reads.
    data = settings.data_dirs[0]
    first = [("A1", "17850", datetime(2010, 12, 1, 8, 26), 15.3)]
    second = [("A2", "17850", datetime(2011, 1, 15, 9, 0), 22.0)]
    (data / "orders_1.csv").write_text(csv_text(first, day="%d/%m/%Y"))
    (data / "orders_2.csv").write_text(csv_text(second, day="%d/%m/%Y"))
    imported(settings, "orders_?.csv")
    assert rows(settings, "select attempted_at::varchar from payments order by 1") == [
        ("2010-12-01 08:26:00",),
        ("2011-01-15 09:00:00",),
    ]


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("exports/orders_*.csv", "orders_*.csv"),  # a pattern that matches nothing
        ({"path": ["orders_1.csv", "orders_9.csv"]}, "orders_9.csv"),  # one file of a list
    ],
)
def test_a_file_of_a_source_that_is_missing_is_named(
    settings: Settings, source: dict[str, Any] | str, named: str
) -> None:
    (settings.data_dirs[0] / "orders_1.csv").write_text(csv_text(CSV_ORDERS))
    mapping = read_mapping(write_mapping(settings, orders_mapping(source)), settings)
    problems = mapping.problems or validate_mapping(mapping, settings)
    assert [p.rule for p in problems] == ["missing file"], problems
    assert named in str(problems[0])
