"""Spreadsheets (.xlsx, .xlsm, .xls, .xlsb, .ods), the export most businesses have: one sheet
read into a DuckDB table with the types its cells have.

Read by python-calamine (a compiled reader, no network, many times faster than openpyxl on
sheets of a million rows), cell by cell, not through pandas.read_excel: its parser turns
text cells that look like numbers into numbers ("00042" into 42). A column whose cells mix
types (invoice numbers that are numbers except "C536379") is read as text, as a CSV reader
reads it; dates written as text are then typed like a text file's (pipeline/ingest/dates.py).
"""

from __future__ import annotations

import itertools
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

from pipeline.ingest.text import MISSING

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
# Rows searched for the header row under a report's title block (a title, a "generated on"
# line, blank rows), as DuckDB's CSV sniffer skips such lines of a text file.
HEAD_ROWS = 50


class SheetError(ValueError):
    """A spreadsheet that cannot be read, or has no sheet of the name asked for."""


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheets, in order."""
    try:
        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as error:  # calamine raises its own errors for a file it cannot open
        raise SheetError(
            f"{path.name} could not be opened as a spreadsheet ({_first_line(error)})."
        ) from None


def check_expanded(path: Path, max_mb: float) -> None:
    """Refuse a workbook whose compressed parts (.xlsx and .ods are zip files) expand past
    `max_mb`, the limit a file may hold (BATON_MAX_FILE_MB): a few kilobytes of zip can
    expand to gigabytes, and a sheet is read into memory whole."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise SheetError(f"{path.name} could not be opened ({_first_line(error)}).") from None
    if expanded > max_mb * 1_000_000:
        raise SheetError(
            f"{path.name} expands to {expanded / 1_000_000:,.0f} MB of sheet data, over the "
            f"{max_mb:,.0f} MB a file may hold (BATON_MAX_FILE_MB). Save the sheet as CSV or "
            "Parquet, or raise the limit."
        )


def load(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    *,
    sheet: str | None,
    header: bool,
    max_mb: float,
    limit: int | None = None,
) -> list[str]:
    """Read `sheet` (default: the first) of `path` into a new `table`; its column names.

    The header is the first row that fills the table (`header_row`: a report's title block
    above it is skipped). Each column gets the type all its cells share (numbers, whole
    numbers, dates with times, true/false), else text, whole numbers written without ".0"
    (invoice numbers that are numbers except "C536379"; ids typed as text keep their leading
    zeros). Empty cells are missing values. Without a header the columns are named as DuckDB
    names a text file's (column0, ...). Raises SheetError for a file that is no spreadsheet,
    a missing sheet, or one that expands past `max_mb` (check_expanded).
    """
    check_expanded(path, max_mb)
    names = sheet_names(path)
    if not names:
        raise SheetError(f"{path.name} has no sheets.")
    if sheet is not None and sheet not in names:
        listed = ", ".join(repr(name) for name in names)
        raise SheetError(f"{path.name} has no sheet {sheet!r}; its sheets: {listed}.")
    chosen = sheet if sheet is not None else names[0]
    try:
        book = CalamineWorkbook.from_path(str(path))
        cells = book.get_sheet_by_name(chosen).iter_rows()
        head = list(itertools.islice(cells, HEAD_ROWS))
        start = header_row(head) if header else 0
        first = head[start] if head else []
        width = len(first)
        rest = itertools.chain(head[start + 1 :], cells)
        body = itertools.islice(rest, limit) if limit is not None else rest
        rows = [first] if not header else []
        rows += list(body)
    except Exception as error:  # a damaged sheet: say which file, never a traceback
        raise SheetError(f"{path.name} could not be read ({_first_line(error)}).") from None
    if not width:
        raise SheetError(f"{path.name}: sheet {chosen!r} is empty.")
    columns = _names(first, header, width)
    arrays = [_column([row[i] if i < len(row) else "" for row in rows]) for i in range(width)]
    connection.from_arrow(pa.table(arrays, names=columns)).create(table)
    return columns


def header_row(head: list[list[Any]]) -> int:
    """The position of the header among a sheet's first rows: the first row that fills the
    table's width (at most one cell short: an index column may have no name), so a title
    block above it (one or two cells a row, blank rows) is skipped."""
    filled = [sum(cell not in ("", None) for cell in row) for row in head]
    wanted = max(2, max(filled, default=0) - 1)
    return next((i for i, count in enumerate(filled) if count >= wanted), 0)


def _names(first: list[Any], header: bool, width: int) -> list[str]:
    """Column names from the header row (blank: columnN; repeated: name_1, as DuckDB does)."""
    if not header:
        digits = len(str(max(width - 1, 0)))
        return [f"column{i:0{digits}d}" for i in range(width)]
    names: list[str] = []
    for i, value in enumerate(first):
        name = _text(value).strip() or f"column{i}"
        candidate, n = name, 0
        while candidate.lower() in (taken.lower() for taken in names):
            n += 1
            candidate = f"{name}_{n}"
        names.append(candidate)
    return names


def _column(cells: list[Any]) -> pa.Array:
    """The Arrow array of one column's cells: their shared type, else text. Cells that say
    "no value" as a text file's do (`NULL`, `N/A`, ...: text.MISSING) and error cells (`#N/A`,
    which calamine reads as empty) are missing."""
    values = [None if cell is None or cell in MISSING else cell for cell in cells]
    kinds = {type(value) for value in values if value is not None}
    if kinds <= {bool} and kinds:
        return pa.array(values, pa.bool_())
    if kinds and kinds <= {int, float}:
        whole = (
            value is None or (float(value).is_integer() and abs(value) < 2**53) for value in values
        )
        if all(whole):
            return pa.array([None if v is None else int(v) for v in values], pa.int64())
        return pa.array(values, pa.float64())
    if kinds == {datetime}:
        return pa.array(values, pa.timestamp("us"))
    if kinds == {date}:
        return pa.array(values, pa.date32())
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
