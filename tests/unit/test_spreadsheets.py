"""Spreadsheet sources (.xlsx and the other workbooks calamine reads), imported as a business
exports them: typed cells, a column of mixed cells, several sheets, a sheet chosen by name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import xlsxwriter
import yaml

from pipeline.ingest import spreadsheets
from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.safety import sanitize_upload_name
from pipeline.ingest.uploads import preview
from pipeline.settings import Settings

HEADER = ["Invoice", "Customer", "InvoiceDate", "Amount"]
# Invoice numbers are numbers except cancellations ("C" prefix), as in Online Retail.
ORDERS = [
    (536365, "17850", datetime(2010, 12, 1, 8, 26), 15.3),
    (536366, "17850", datetime(2010, 12, 1, 8, 28), 22.0),
    ("C536379", "13047", datetime(2010, 12, 1, 9, 41), -27.5),
    (536380, "13047", datetime(2011, 1, 4, 10, 0), 34.8),
    (536381, "00042", datetime(2011, 2, 7, 12, 5), 9.9),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()


def workbook(path: Path, sheets: dict[str, list[tuple[Any, ...]]]) -> Path:
    """Write `sheets` (name: rows, the first the header) as a real .xlsx file."""
    book = xlsxwriter.Workbook(str(path))
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, stamp)
                else:
                    sheet.write(r, c, value)
    book.close()
    return path


def orders_mapping(source: dict[str, Any] | str) -> dict[str, Any]:
    """A non-contractual mapping of the orders sheet: customers, purchase days, payments."""
    return {
        "name": "Shop",
        "vars": {"churn_definition": "non_contractual"},
        "sources": {"orders": source},
        "tables": {
            "accounts": {
                "from": "orders",
                "group_by": ["Customer"],
                "columns": {
                    "account_id": "Customer",
                    "signup_date": "min(cast(InvoiceDate as date))",
                },
            },
            "usage_daily": {
                "from": "orders",
                "where": "not starts_with(Invoice, 'C')",
                "group_by": ["Customer", "cast(InvoiceDate as date)"],
                "columns": {
                    "account_id": "Customer",
                    "usage_date": "cast(InvoiceDate as date)",
                    "active_users": 1,
                    "events": "count(*)",
                },
            },
            "payments": {
                "from": "orders",
                "columns": {
                    "payment_id": "Invoice",
                    "account_id": "Customer",
                    "attempted_at": "InvoiceDate",
                    "amount": "Amount",
                    "status": "'succeeded'",
                },
            },
        },
    }


def write_mapping(settings: Settings, mapping: dict[str, Any]) -> Path:
    path = settings.data_dirs[0] / "mapping.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_a_workbook_imports_with_its_dates_and_mixed_invoice_numbers_as_text(
    settings: Settings,
) -> None:
    workbook(settings.data_dirs[0] / "orders.xlsx", {"Orders": [tuple(HEADER), *ORDERS]})
    counts = import_mapping(
        read_mapping(write_mapping(settings, orders_mapping("orders.xlsx")), settings), settings
    )
    # Two orders of 17850 on one day are one active day; the cancellation is no purchase.
    assert (counts["accounts"], counts["usage_daily"], counts["payments"]) == (3, 3, 5)
    assert rows(settings, "select payment_id, attempted_at::varchar from payments order by 2") == [
        ("536365", "2010-12-01 08:26:00"),
        ("536366", "2010-12-01 08:28:00"),
        ("C536379", "2010-12-01 09:41:00"),
        ("536380", "2011-01-04 10:00:00"),
        ("536381", "2011-02-07 12:05:00"),
    ]
    # Text cells keep their leading zeros, as a CSV reader keeps them.
    assert rows(settings, "select account_id from accounts order by 1") == [
        ("00042",),
        ("13047",),
        ("17850",),
    ]


def test_a_report_s_title_block_above_the_header_is_skipped(settings: Settings) -> None:
    # A report exported from a business tool: a title, a "generated" line and a blank row.
    title = [("Orders report", "", "", ""), ("Generated 2011-12-10 by the shop", "", "", "")]
    blank: list[tuple[Any, ...]] = [("", "", "", "")]
    workbook(
        settings.data_dirs[0] / "orders.xlsx",
        {"Orders": [*title, *blank, tuple(HEADER), *ORDERS]},
    )
    counts = import_mapping(
        read_mapping(write_mapping(settings, orders_mapping("orders.xlsx")), settings), settings
    )
    assert (counts["accounts"], counts["usage_daily"], counts["payments"]) == (3, 3, 5)
    # A header with an unnamed index column is still the header, not the first order.
    unnamed = [("", *HEADER[1:]), *[(i, *row[1:]) for i, row in enumerate(ORDERS)]]
    workbook(settings.data_dirs[0] / "indexed.xlsx", {"Orders": unnamed})
    with duckdb.connect() as connection:
        columns = spreadsheets.load(
            connection,
            "orders",
            settings.data_dirs[0] / "indexed.xlsx",
            sheet=None,
            header=True,
            max_mb=10,
        )
        assert columns[1:] == HEADER[1:]
        assert connection.execute("select count(*) from orders").fetchall() == [(len(ORDERS),)]


def test_missing_values_and_error_cells_leave_a_column_of_numbers_typed(
    settings: Settings,
) -> None:
    path = settings.data_dirs[0] / "amounts.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Amounts")
    sheet.write_row(0, 0, ["id", "amount"])
    sheet.write_row(1, 0, [1, 2.5])
    sheet.write(2, 0, 2)
    sheet.write_formula(2, 1, "=NA()", None, "#N/A")  # a lookup that found nothing
    sheet.write_row(3, 0, [3, "NULL"])
    sheet.write_row(4, 0, [4, "N/A"])
    book.close()
    with duckdb.connect() as connection:
        spreadsheets.load(connection, "amounts", path, sheet=None, header=True, max_mb=10)
        assert [str(t) for t in connection.table("amounts").types] == ["BIGINT", "DOUBLE"]
        rows = connection.execute("select amount from amounts order by id").fetchall()
    assert rows == [(2.5,), (None,), (None,), (None,)]


def test_the_same_orders_as_csv_and_as_workbook_import_alike(settings: Settings) -> None:
    orders = [row for row in ORDERS if not row[1].startswith("0")]  # a CSV reads 00042 as 42
    csv = "\n".join(
        ",".join([HEADER[0], HEADER[1], HEADER[2], HEADER[3]])
        if i == 0
        else f"{row[0]},{row[1]},{row[2]:%Y-%m-%d %H:%M:%S},{row[3]}"
        for i, row in enumerate([None, *orders])  # type: ignore[list-item]
    )
    (settings.data_dirs[0] / "orders.csv").write_text(csv + "\n")
    workbook(settings.data_dirs[0] / "orders.xlsx", {"Orders": [tuple(HEADER), *orders]})
    tables = ("accounts", "usage_daily", "payments")
    imported = {}
    for name in ("orders.csv", "orders.xlsx"):
        import_mapping(
            read_mapping(write_mapping(settings, orders_mapping(name)), settings), settings
        )
        imported[name] = {t: rows(settings, f"select * from {t} order by all") for t in tables}
    assert imported["orders.csv"] == imported["orders.xlsx"]


def test_a_sheet_is_chosen_by_name_and_a_missing_one_lists_the_sheets(settings: Settings) -> None:
    notes = [("Note",), ("exported 2011-12-09",)]
    workbook(
        settings.data_dirs[0] / "export.xlsx",
        {"Read me": notes, "Orders": [tuple(HEADER), *ORDERS]},
    )
    chosen = orders_mapping({"path": "export.xlsx", "sheet": "Orders"})
    assert validate_mapping(read_mapping(write_mapping(settings, chosen), settings), settings) == []

    missing = orders_mapping({"path": "export.xlsx", "sheet": "orders 2011"})
    problems = validate_mapping(read_mapping(write_mapping(settings, missing), settings), settings)
    assert [(p.table, p.rule) for p in problems] == [("orders", "unreadable file")]
    assert problems[0].examples == (
        "export.xlsx has no sheet 'orders 2011'; its sheets: 'Read me', 'Orders'.",
    )


def test_an_empty_sheet_is_one_problem_not_a_traceback(settings: Settings) -> None:
    workbook(settings.data_dirs[0] / "orders.xlsx", {"Orders": []})
    mapping = orders_mapping("orders.xlsx")
    problems = validate_mapping(read_mapping(write_mapping(settings, mapping), settings), settings)
    assert [(p.table, p.rule) for p in problems] == [("orders", "unreadable file")]
    assert problems[0].examples == ("orders.xlsx: sheet 'Orders' is empty.",)


def test_a_file_that_is_no_workbook_is_one_problem_not_a_traceback(settings: Settings) -> None:
    (settings.data_dirs[0] / "orders.xlsx").write_text("Invoice,Customer\n1,2\n")
    mapping = orders_mapping("orders.xlsx")
    problems = validate_mapping(read_mapping(write_mapping(settings, mapping), settings), settings)
    assert [(p.table, p.rule) for p in problems] == [("orders", "unreadable file")]
    assert "could not be opened as a spreadsheet" in problems[0].examples[0]
    assert "`sheet:`" in problems[0].hint


def test_a_sheet_setting_on_a_text_file_is_refused(settings: Settings) -> None:
    (settings.data_dirs[0] / "orders.csv").write_text("Invoice,Customer\n1,2\n")
    mapping = orders_mapping({"path": "orders.csv", "sheet": "Orders"})
    problems = validate_mapping(read_mapping(write_mapping(settings, mapping), settings), settings)
    assert [(p.rule, p.column) for p in problems][:1] == [("unsupported file", "sources.orders")]
    assert "`sheet:` names a sheet of a spreadsheet" in problems[0].hint


def test_a_workbook_upload_is_accepted_and_previewed_with_its_types(settings: Settings) -> None:
    stored = sanitize_upload_name("Orders 2011.xlsx")
    settings.uploads_dir.mkdir(parents=True)
    workbook(settings.uploads_dir / stored, {"Orders": [tuple(HEADER), *ORDERS]})
    frame, types, _ = preview(settings, settings.uploads_dir / stored)
    assert types == {
        "Invoice": "VARCHAR",
        "Customer": "VARCHAR",
        "InvoiceDate": "TIMESTAMP",
        "Amount": "DOUBLE",
    }
    assert frame["Invoice"].tolist()[:3] == ["536365", "536366", "C536379"]


def test_a_workbook_that_expands_past_the_file_limit_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    # A zip bomb in miniature: a sheet of 2 MB that compresses to a few kilobytes.
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(home=tmp_path / "home", data_dirs=(data.resolve(),), max_file_mb=1.0)
    settings.ensure()
    big = [tuple(HEADER)] + [(536365, "17850", datetime(2010, 12, 1), 0.0)] * 20_000
    workbook(data / "orders.xlsx", {"Orders": big})
    assert (data / "orders.xlsx").stat().st_size < 1_000_000
    problems = validate_mapping(
        read_mapping(write_mapping(settings, orders_mapping("orders.xlsx")), settings), settings
    )
    assert [(p.table, p.rule) for p in problems] == [("orders", "unreadable file")]
    assert "MB of sheet data, over the 1 MB a file may hold" in problems[0].examples[0]
