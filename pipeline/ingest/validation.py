"""Validation of your data before anything is built: every problem, at once, explained.

The importer (pipeline/mapping.py) computes each contract table from the mapping's
expressions into a staging table holding the values as they came, then asks these rules what
is wrong: missing or extra columns, wrong types, unparseable dates, duplicate keys, negative
amounts or counts, dates in the future, events before the customer existed, empty files,
wrong encodings or delimiters, files over the size limit. Each finding is a Problem with the
table, column, rule, a row count and a few example rows. Nothing here writes anything.
"""

from __future__ import annotations

import codecs
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.contract import Table
from pipeline.ingest import exports, month_names, text
from pipeline.ingest.safety import quote_identifier as q
from pipeline.ingest.safety import quote_literal

EXAMPLES = 3
DELIMITERS = (",", ";", "\t", "|")
# DuckDB's CSV reader decodes these itself; Python's codec of the same name checks the bytes.
ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}
EMPTY_HINT = "Export the file again with its rows, or remove it from the mapping."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping or its data, with enough detail to fix it."""

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        rows = f" ({self.count:,} row{'s' if self.count != 1 else ''})" if self.count else ""
        examples = f" e.g. {'; '.join(self.examples)}." if self.examples else ""
        return f"{where}: {self.rule}{rows}. {self.hint}{examples}".replace(". .", ".").strip()


def report(problems: list[Problem]) -> str:
    """The problems as the lines the CLI prints, one per problem."""
    return "\n".join(f"  - {problem}" for problem in problems)


def as_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems as a table for the Data page."""
    return pd.DataFrame(
        [
            {
                "table": p.table,
                "column": p.column,
                "rule": p.rule,
                "rows": p.count,
                "examples": "; ".join(p.examples),
                "what to do": p.hint,
            }
            for p in problems
        ],
        columns=["table", "column", "rule", "rows", "examples", "what to do"],
    )


# --- files -------------------------------------------------------------------------------


def check_size(source: str, path: Path, max_mb: float) -> list[Problem]:
    """A file over the configured size limit (BATON_MAX_FILE_MB) is not read at all; a gzip
    file is measured decompressed (read up to the limit, never further: a gzip bomb stops
    there)."""
    size_mb = path.stat().st_size / 1_000_000
    found = f"{path.name} is {size_mb:,.1f} MB"
    if size_mb <= max_mb and path.name.lower().endswith(text.GZIP):
        size_mb = _decompressed_mb(path, max_mb)
        found = f"{path.name} holds more than {max_mb:,.0f} MB once decompressed"
    if size_mb <= max_mb:
        return []
    return [
        Problem(
            source,
            "",
            "file too large",
            0,
            (found,),
            f"The limit is {max_mb:,.0f} MB: split the file, or raise BATON_MAX_FILE_MB.",
        )
    ]


def _decompressed_mb(path: Path, max_mb: float) -> float:
    """The decompressed size of a gzip file in MB, counted only until it passes `max_mb`."""
    limit, total = max_mb * 1_000_000, 0
    try:
        with text.open_bytes(path) as handle:
            while total <= limit and (chunk := handle.read(1 << 20)):
                total += len(chunk)
    except (OSError, EOFError):  # not gzip after all: the reader reports it
        return 0.0
    return total / 1_000_000


def check_not_empty(source: str, path: Path, header: bool = True) -> list[Problem]:
    """A file with no bytes, or a text file with a header but no data line."""
    if path.stat().st_size == 0:
        return [Problem(source, "", "empty file", 0, (f"{path.name} has 0 bytes",), EMPTY_HINT)]
    if text.kind_suffix(path) in text.TEXT_SUFFIXES:
        with text.open_bytes(path) as handle:
            lines = list(itertools.islice((line for line in handle if line.strip()), 2))
        if len(lines) < (2 if header else 1):
            return [
                Problem(source, "", "empty file", 0, (f"{path.name} has no data rows",), EMPTY_HINT)
            ]
    return []


def check_encoding(source: str, path: Path, encoding: str) -> list[Problem]:
    """Bytes that are not valid in the declared encoding (UTF-8 unless the source says)."""
    decoder = codecs.getincrementaldecoder(ENCODINGS.get(encoding, encoding))(errors="strict")
    bad_lines: list[str] = []
    count = 0
    with text.open_bytes(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as error:
                count += 1
                decoder.reset()
                if len(bad_lines) < EXAMPLES:
                    bad = line[max(error.start - 10, 0) : error.end + 10]
                    bad_lines.append(f"line {number}: {bad!r}")
    if not count:
        return _utf8_declared_latin1(source, path) if encoding == "latin-1" else []
    return [
        Problem(
            source,
            "",
            "wrong encoding",
            count,
            tuple(bad_lines),
            f"The file is not valid {encoding}. Save it as UTF-8, or set `encoding: latin-1` "
            "(or utf-16) on the source.",
        )
    ]


def _utf8_declared_latin1(source: str, path: Path) -> list[Problem]:
    """A file declared latin-1 that is valid UTF-8 with accented letters: read as latin-1 it
    would import as mojibake ("Café" as "CafÃ©"). Any latin-1 text with accents is almost
    never valid UTF-8 by chance, so this is a wrong declaration, not a guess."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    example = ""
    with text.open_bytes(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return []  # really latin-1
            if not example and not line.isascii():
                wrote = line.decode("utf-8", errors="replace").strip()[:60]
                misread = line.decode("latin-1").strip()[:60]
                example = f"line {number}: {wrote!r} would read as {misread!r}"
    if not example:
        return []
    return [
        Problem(
            source,
            "",
            "wrong encoding",
            0,
            (example,),
            "The file is UTF-8, but the source says `encoding: latin-1`, which would import "
            "its accented letters garbled: remove the `encoding:` line (UTF-8 is the default).",
        )
    ]


def check_one_column(
    source: str,
    path: Path,
    columns: list[str],
    delimiter: str | None,
    referenced: int,
    encoding: str = "utf-8",
) -> list[Problem]:
    """A text file read as one column while the mapping reads several of its columns, or whose
    first line holds another delimiter: one problem, instead of a missing column per use."""
    if len(columns) != 1:
        return []
    first = text.first_line(path, encoding)
    found = [d for d in DELIMITERS if d != delimiter and d in first]
    if not found and referenced < 2:
        return []
    if found:
        likely = repr(max(found, key=first.count))
    elif delimiter != text.WHITESPACE and len(text.fields(first)) > 1:
        likely = text.WHITESPACE
    else:
        likely = ""
    advice = f" Its first line looks {likely}-delimited: `delimiter: {likely}`." if likely else ""
    return [
        Problem(
            source,
            "",
            "wrong delimiter",
            0,
            (f"first line {first.strip()[:80]!r}",),
            "Read as one column: set `delimiter:` on the source (e.g. `delimiter: ';'` or "
            f"`delimiter: whitespace`).{advice}",
        )
    ]


def check_columns(
    table: str,
    column: str,
    references: list[tuple[str, ...]],
    available: list[str],
    source: str,
) -> list[Problem]:
    """Columns an expression reads that the source does not have (case-insensitive; in a
    dotted name such as `src.col` or `col.field`, any part that is a column counts)."""
    known = {name.lower() for name in available}
    missing = sorted(
        {".".join(parts) for parts in references if not any(p.lower() in known for p in parts)}
    )
    if not missing:
        return []
    return [
        Problem(
            table,
            column,
            "missing column",
            0,
            tuple(f"{name!r} is not in {source}" for name in missing[:EXAMPLES]),
            f"{source} has: {', '.join(available[:30])}{'...' if len(available) > 30 else ''}.",
        )
    ]


# --- data --------------------------------------------------------------------------------


def _examples(
    connection: duckdb.DuckDBPyConnection, staged: str, shown: list[str], condition: str
) -> tuple[str, ...]:
    """Up to EXAMPLES offending rows as `col=value, ...` text."""
    select = ", ".join(q(c) for c in shown)
    rows = connection.execute(
        f"select {select} from {q(staged)} where {condition} limit {EXAMPLES}"
    ).fetchall()
    return tuple(
        ", ".join(f"{c}={_show(v)}" for c, v in zip(shown, row, strict=True)) for row in rows
    )


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _count(connection: duckdb.DuckDBPyConnection, staged: str, condition: str) -> int:
    row = connection.execute(f"select count(*) from {q(staged)} where {condition}").fetchone()
    return int(row[0]) if row else 0


def _context(table: Table, column: str) -> list[str]:
    """Columns that identify a row in examples: the key (and customer), then the column."""
    shown = [c for c in (*table.key, "account_id") if c in table.column_names]
    return list(dict.fromkeys([*shown, column]))


def check_values(
    connection: duckdb.DuckDBPyConnection,
    table: Table,
    staged: str,
    types: dict[str, str] | None = None,
) -> list[Problem]:
    """Per-column rules: missing required values, wrong types, unparseable dates, negative
    amounts or counts, dates in the future. `types` adds columns beyond the contract."""
    problems: list[Problem] = []
    columns = {c.name: c for c in table.columns}
    relation = connection.table(q(staged))
    texts = {
        n for n, t in zip(relation.columns, relation.types, strict=True) if str(t) == "VARCHAR"
    }
    for name, sql_type in {**{c.name: c.type for c in table.columns}, **(types or {})}.items():
        column = columns.get(name)
        value = q(name)
        typed = f"try_cast({value} as {sql_type})"
        if name in texts and sql_type in ("DATE", "TIMESTAMP"):
            # DuckDB's cast also reads `17/03/11 08:15`, as the year 17: text is a date only
            # when written year first in four digits (others are typed, or not, on import).
            iso = quote_literal(text.ISO_DATE)
            typed = f"case when regexp_matches(trim({value}), {iso}) then {typed} end"
        checks: list[tuple[str, str, str]] = []
        if column is not None and (column.required or name in table.key):
            checks.append(
                (
                    "missing value",
                    f"{value} is null",
                    "Every row needs one: fix the source or filter the rows out with `where`.",
                )
            )
        is_date = sql_type in ("DATE", "TIMESTAMP")
        checks.append(
            (
                "unparseable date" if is_date else "wrong type",
                f"{value} is not null and {typed} is null",
                (
                    _date_hint(connection, staged, name)
                    if is_date
                    else _flag_hint(connection, staged, name)
                    if sql_type == "BOOLEAN"
                    else f"Values must convert to {sql_type}: fix them, or convert in the mapping "
                    f"(e.g. try_cast(x as {sql_type.lower()}) leaves values that are not, such as "
                    "NULL or N/A, empty)."
                ),
            )
        )
        if column is not None and column.non_negative:
            checks.append(
                (
                    "negative value",
                    f"try_cast({value} as double) < 0",
                    "Amounts and counts here cannot be negative: filter refunds or "
                    "cancellations out with `where`, or map them to payments.",
                )
            )
        if is_date and not (column is not None and column.may_be_future):
            checks.append(
                (
                    "date in the future",
                    f"cast({typed} as date) > current_date + 1",
                    "Check the date format (day and month swapped?) and the source system's clock.",
                )
            )
        if is_date:
            checks.append(
                (
                    "date before 1900",
                    f"cast({typed} as date) < date '{EARLIEST_DATE}'",
                    "A two-digit year read as the year itself (DuckDB's cast reads `17/03/11` "
                    "as 17 AD)? Convert with the format the data means, e.g. "
                    "strptime(your_column, '%d/%m/%y'); or filter placeholder dates with `where`.",
                )
            )
        for rule, condition, hint in checks:
            count = _count(connection, staged, condition)
            if count:
                examples = _examples(connection, staged, _context(table, name), condition)
                problems.append(Problem(table.name, name, rule, count, examples, hint))
    return problems


# No business's customers or events are older: earlier dates are misread (a two-digit year
# cast as the year itself) or placeholders (0001-01-01).
EARLIEST_DATE = "1900-01-01"

# Integers that are days and times: their range of values, the hint that converts them.
NUMBERS_AS_DATES = (
    (20_000, 80_000, "a spreadsheet's day numbers: date '1899-12-30' + cast({c} as integer)"),
    (19_000_101, 21_001_231, "days written as yyyymmdd: strptime(cast({c} as varchar), '%Y%m%d')"),
    (100_000_000, 9_999_999_999, "seconds since 1970 (Unix time): to_timestamp({c})"),
    (100_000_000_000, 9_999_999_999_999, "milliseconds since 1970: to_timestamp({c} / 1000)"),
)


def _date_hint(connection: duckdb.DuckDBPyConnection, staged: str, name: str) -> str:
    """How to convert the values of a date column that did not read as dates: numbers get
    the conversion their range suggests (NUMBERS_AS_DATES)."""
    relation = connection.table(q(staged))
    kind = dict(zip(relation.columns, (str(t) for t in relation.types), strict=True)).get(name)
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
    if str(kind).split("(")[0] in numeric:
        row = connection.execute(
            f"select min({q(name)}), max({q(name)}) from {q(staged)}"
        ).fetchall()[0]
        for low, high, what in NUMBERS_AS_DATES:
            if row[0] is not None and low <= row[0] and row[1] <= high:
                return (
                    f"These are numbers, not dates; they look like {what.format(c='your_column')} "
                    "converts them in the mapping."
                )
        return (
            "These are numbers, not dates: convert them in the mapping, e.g. "
            "to_timestamp(your_column) for seconds since 1970."
        )
    if kind == "VARCHAR":
        reading = exports.date_readings(connection, staged, name)
        if len(reading.formats) > 1:
            return _ambiguous_dates(connection, staged, name, reading)
        if reading.language is not None:
            return (
                f"Month names in {month_names.language_name(reading.language)}: give the "
                "format of these dates in the source's settings, where %b and %B read them, "
                "e.g. `dates: {your_column: '%d. %b %y'}`."
            )
    return (
        "Use ISO dates (2024-01-31) or convert them in the mapping, e.g. "
        "strptime(your_column, '%d/%m/%Y')."
    )


def _ambiguous_dates(
    connection: duckdb.DuckDBPyConnection, staged: str, name: str, reading: exports.DateReading
) -> str:
    """The hint for dates that read more than one way: a value and what the first two formats
    that read every value make of it, so the mapping can say which the data means (with
    strptime, or for month names in another language, the source's `dates:`)."""
    value = reading.value
    first, second = reading.formats[:2]
    row = connection.execute(
        f"select {q(name)}, strftime(strptime({value}, $1), '%Y-%m-%d'), "
        f"strftime(strptime({value}, $2), '%Y-%m-%d') from {q(staged)} "
        f"where {value} is not null and strptime({value}, $1) <> strptime({value}, $2) "
        "order by 1 limit 1",
        [first, second],
    ).fetchall()
    shown = (
        f": '{row[0][0]}' is {row[0][1]} with '{first}' and {row[0][2]} with '{second}'"
        if row
        else f" ('{first}', '{second}')"
    )
    if reading.language is not None:
        return (
            f"These dates read more than one way{shown} (month names in "
            f"{month_names.language_name(reading.language)} read as English ones). Give the "
            "format your data means in the source's settings, e.g. "
            f"`dates: {{your_column: '{first}'}}`."
        )
    return (
        f"These dates read more than one way{shown}. Convert them in the mapping with the "
        f"format your data means, e.g. strptime(your_column, '{first}'), or give it in the "
        f"source's settings: `dates: {{your_column: '{first}'}}`."
    )


# Distinct values a yes/no column's problem names.
FLAG_VALUES = 5


def _flag_hint(connection: duckdb.DuckDBPyConnection, staged: str, name: str) -> str:
    """How to turn a column of words (`Churned`, `Stayed`) into the yes/no it must be: the
    comparison, with the words the column holds."""
    rows = connection.execute(
        f"select {q(name)}, count(*) from {q(staged)} where {q(name)} is not null "
        f"group by 1 order by 2 desc, 1 limit {FLAG_VALUES + 1}"
    ).fetchall()
    words = [str(value) for value, _ in rows]
    shown = ", ".join(repr(word) for word in words[:FLAG_VALUES])
    more = ", ..." if len(words) > FLAG_VALUES else ""
    example = words[-1] if len(words) > 1 else words[0] if words else "Yes"
    return (
        f"A yes/no column; these values are {shown}{more}. Map a comparison that is true for "
        f"yes, e.g. your_column = {quote_literal(example)}."
    )


def check_key(connection: duckdb.DuckDBPyConnection, table: Table, staged: str) -> list[Problem]:
    """Rows sharing the table's key (e.g. the same customer id twice), compared as the
    contract types them: two orders of one day are one key of a table with a row per day."""
    if not table.key:
        return []
    types = {c.name: c.type for c in table.columns}
    key = ", ".join(f"try_cast({q(c)} as {types[c]})" for c in table.key)
    present = " and ".join(f"try_cast({q(c)} as {types[c]}) is not null" for c in table.key)
    rows = connection.execute(
        f"select {key}, count(*) as n from {q(staged)} where {present} "
        f"group by {key} having count(*) > 1 order by n desc"
    ).fetchall()
    if not rows:
        return []
    count = sum(int(row[-1]) for row in rows)
    examples = tuple(
        ", ".join(f"{c}={_show(v)}" for c, v in zip(table.key, row[:-1], strict=True))
        + f" ({row[-1]} rows)"
        for row in rows[:EXAMPLES]
    )
    return [
        Problem(
            table.name,
            ", ".join(table.key),
            "duplicate key",
            count,
            examples,
            _key_hint(table),
        )
    ]


def _key_hint(table: Table) -> str:
    """How to make a table's key unique; a table with a row per customer and day says how to
    add up a day."""
    hint = "Each key must appear once: remove duplicates, or aggregate with `group_by`."
    day = next((c for c in table.columns if c.name == table.event_date), None)
    if day is None or day.type != "DATE" or day.name not in table.key:
        return hint
    return (
        f"{hint} {table.name} holds one row per customer and day: group by the customer and "
        f"the day (e.g. group_by: [customer, cast(ordered_at as date)]) and add the day up "
        f"(e.g. events: count(*))."
    )


def check_not_empty_table(
    connection: duckdb.DuckDBPyConnection, table: Table, staged: str
) -> list[Problem]:
    """A required table that the mapping (its source and `where`) leaves without rows."""
    if _count(connection, staged, "true"):
        return []
    return [
        Problem(
            table.name,
            "",
            "no rows",
            0,
            (),
            "The mapping produced no rows: check the source file and the `where` filter.",
        )
    ]


# Ways two systems write the same customer id differently: what differs, and the expression
# (of `{x}`, text) under which they agree.
ID_SPELLINGS = (
    ("spaces around them", "trim({x})"),
    ("upper and lower case", "lower(trim({x}))"),
    ("leading zeros", "ltrim(trim({x}), '0')"),
)


def _id_hint(
    connection: duckdb.DuckDBPyConnection, staged: str, accounts: str, unknown: str
) -> str:
    """When ids of unknown customers match customers once spelled alike (ID_SPELLINGS), a
    sentence that says so, with one pair, and the expression to map in both tables."""
    for what, spelling in ID_SPELLINGS:
        ours = spelling.format(x="try_cast(s.account_id as varchar)")
        theirs = spelling.format(x="try_cast(a.account_id as varchar)")
        row = connection.execute(
            f"select s.account_id, a.account_id "
            f"from (select account_id from {q(staged)} where {unknown}) as s "
            f"join {q(accounts)} as a on {ours} = {theirs} limit 1"
        ).fetchall()
        if row:
            ours_id, theirs_id = (_show(value) for value in row[0])
            expression = spelling.format(x="your_column")
            return (
                f" Some ids match a customer but for {what} ({ours_id} here, {theirs_id} in "
                f"accounts): map account_id as {expression} in both tables."
            )
    return ""


def check_customers(
    connection: duckdb.DuckDBPyConnection,
    table: Table,
    staged: str,
    accounts: str,
) -> list[Problem]:
    """Events of unknown customers, and events dated before the customer existed."""
    problems: list[Problem] = []
    known = (
        f"try_cast(account_id as varchar) in "
        f"(select try_cast(account_id as varchar) from {q(accounts)})"
    )
    unknown = f"account_id is not null and not ({known})"
    count = _count(connection, staged, unknown)
    if count:
        problems.append(
            Problem(
                table.name,
                "account_id",
                "unknown customer",
                count,
                _examples(connection, staged, _context(table, "account_id"), unknown),
                "Every event needs its customer in `accounts`: map them there, or filter here."
                + _id_hint(connection, staged, accounts, unknown),
            )
        )
    if table.event_date is None:
        return problems
    date = q(table.event_date)
    early = (
        f"exists (select 1 from {q(accounts)} as a "
        f"where try_cast(a.account_id as varchar) = try_cast({q(staged)}.account_id as varchar) "
        f"and try_cast({date} as date) < try_cast(a.signup_date as date))"
    )
    count = _count(connection, staged, early)
    if count:
        problems.append(
            Problem(
                table.name,
                table.event_date,
                "before signup",
                count,
                _examples(connection, staged, _context(table, table.event_date), early),
                "Events cannot predate the customer's signup_date: map signup_date to the "
                "first event (e.g. min(date)) or fix the dates.",
            )
        )
    return problems
