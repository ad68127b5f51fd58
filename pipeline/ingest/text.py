"""Delimited text files (.csv, .tsv, .txt, .dat) as they come: one delimiter, or whitespace;
gzip-compressed too (`orders.csv.gz`), as warehouses and trackers export them.

A source names a one-character delimiter, `whitespace` (runs of spaces and/or tabs, leading
and trailing ones ignored), or nothing: DuckDB's sniffer then finds the dialect, and a file
it reads as one column whose lines hold the same number of whitespace-separated fields
(exports padded with spaces, such as the CDNOW master file) is split on whitespace. Values
such as `NULL` or `N/A` are missing values (`MISSING`).

Whitespace splitting stays inside DuckDB, on the import's locked-down connection: each line
is read as one value (NUL delimiter, no quotes), trimmed, and its runs of blanks replaced by
one tab into a scratch file, which the same CSV reader then sniffs and types over every row.
So a whitespace file gets exactly the types its CSV twin would (ids with leading zeros stay
text, dates in a format the sniffer knows become dates), in two streaming passes.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import duckdb

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
# A gzip-compressed file keeps its kind: `orders.csv.gz` is text, `events.jsonl.gz` JSON
# (DuckDB's readers decompress by this suffix; Python reads through open_bytes).
GZIP = ".gz"
WHITESPACE = "whitespace"
BLANKS = " \t\r"
SPLIT = re.compile(r"[ \t]+")
# Lines looked at to decide whether a one-column read is whitespace-separated.
SAMPLE_LINES = 50
EXAMPLES = 3
DELIMITER_HINT = 'A delimiter is one character (a tab as "\\t"), or `whitespace`.'
# Values that mean "no value" as databases, spreadsheets and scripts export them: read as
# missing, so a column of numbers or dates with gaps is typed as numbers or dates. Not `NA`
# (R's), which is also a country (Namibia) and a word; not `None` or `-`, which name things.
MISSING = ("", "NULL", "null", "N/A", "n/a", "#N/A", "NaN")
# DuckDB's sniffer reads dates in formats it picks itself, also where values read two ways
# (`01/04/2011` as 1 April, `17.03.11` as 2017-03-11, `17/03/11 08:15` as the year 17): only
# a column of dates written year first in four digits (2011-03-17, with any time) keeps the
# type it gave; any other reads as text, which exports.parse_dates types only when every
# format that reads its values gives the same dates.
SNIFFED_DATES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
ISO_DATE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ]|$)"


class RaggedLinesError(ValueError):
    """Whitespace-separated lines whose number of fields differs from the first line's."""

    def __init__(self, count: int, fields: int, examples: tuple[str, ...]) -> None:
        self.count = count
        self.fields = fields
        self.examples = examples
        super().__init__(f"{count} line(s) do not hold {fields} whitespace-separated fields")


def parse_delimiter(value: Any) -> str | None:
    """A source's `delimiter:` as the reader takes it: None (detect), WHITESPACE or one
    character. Spaces mean whitespace runs (what a padded export needs); `\\t` or `tab` a tab."""
    if value is None:
        return None
    text = str(value)
    if text.lower() == WHITESPACE or (text and not text.strip(" ")):
        return WHITESPACE
    if text.lower() in ("\t", "\\t", "tab"):
        return "\t"
    if len(text) != 1:
        raise ValueError(DELIMITER_HINT)
    return text


def kind_suffix(path: Path) -> str:
    """The suffix that says what a file holds, lower case, past a `.gz`: `.csv` for both
    `orders.csv` and `orders.csv.gz`."""
    name = path.name.lower()
    return Path(name[: -len(GZIP)]).suffix if name.endswith(GZIP) else Path(name).suffix


def open_bytes(path: Path) -> BinaryIO:
    """`path` opened for reading bytes, decompressed when it is gzip (`.gz`)."""
    if path.name.lower().endswith(GZIP):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line, decoded, line ends removed."""
    raw = open_bytes(path)
    with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=None) as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.strip(BLANKS):
                yield number, text


def first_line(path: Path, encoding: str = "utf-8") -> str:
    """The first non-blank line of a text file (empty when there is none)."""
    return next((text for _, text in lines(path, encoding)), "")


def fields(line: str) -> list[str]:
    """A line split on runs of spaces and tabs, leading and trailing ones ignored."""
    return SPLIT.split(line.strip(BLANKS))


def whitespace_fields(path: Path, encoding: str) -> int:
    """The number of whitespace-separated fields each of the first lines holds; 0 when they
    differ or hold one field (then whitespace is not the delimiter)."""
    sample = itertools.islice(lines(path, encoding), SAMPLE_LINES)
    counts = {len(fields(text)) for _, text in sample}
    return counts.pop() if len(counts) == 1 and min(counts) > 1 else 0


def load(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    *,
    delimiter: str | None,
    header: bool,
    encoding: str,
    scratch: Path,
    sample_size: int = -1,
    limit: int | None = None,
) -> list[str]:
    """Read a text file into a new `table` of `connection`; its column names.

    `scratch` is a folder the connection may write (whitespace splitting puts a temporary
    file there); `sample_size` rows are sniffed for types (-1: every row); `limit` keeps that
    many rows (for a preview). Raises duckdb.Error, or RaggedLinesError for whitespace lines
    that do not line up.
    """
    options = {
        "header": header,
        "encoding": encoding,
        "sample_size": sample_size,
        "nullstr": list(MISSING),
    }
    if delimiter == WHITESPACE:
        return _load_whitespace(connection, table, path, options, scratch, limit)
    if delimiter is not None:
        options["delim"] = delimiter
    try:
        relation = _read_csv(connection, path, options)
    except duckdb.Error:
        if delimiter is None and whitespace_fields(path, encoding):
            return _load_whitespace(connection, table, path, options, scratch, limit)
        raise
    if delimiter is None and len(relation.columns) == 1 and whitespace_fields(path, encoding):
        return _load_whitespace(connection, table, path, options, scratch, limit)
    return _create(connection, table, path, options, limit, relation)


def _read_csv(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    options: dict[str, Any],
    types: dict[str, str] | None = None,
) -> duckdb.DuckDBPyRelation:
    """DuckDB's CSV reader on `path`, every option bound as a parameter."""
    params = {**options, **({"types": types} if types else {}), "path": str(path)}
    settings = ", ".join(f"{name} = ${name}" for name in params if name != "path")
    return connection.sql(f"select * from read_csv($path, {settings})", params=params)


def _create(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    options: dict[str, Any],
    limit: int | None,
    relation: duckdb.DuckDBPyRelation | None = None,
) -> list[str]:
    """Copy a CSV into `table`, typed as sniffed (dates only when ISO, SNIFFED_DATES); a
    column that still fails to convert (e.g. dates in two formats) is read as text, so the
    typed checks can count and show its bad values instead of the read failing."""
    sniffed = relation if relation is not None else _read_csv(connection, path, options)
    dated = {
        name: str(kind)
        for name, kind in zip(sniffed.columns, sniffed.types, strict=True)
        if str(kind) in SNIFFED_DATES
    }
    text = dict.fromkeys(dated, "VARCHAR")
    relation = None if dated else sniffed
    while True:
        current = relation if relation is not None else _read_csv(connection, path, options, text)
        relation = None
        try:
            (current.limit(limit) if limit is not None else current).create(table)
            _type_iso_dates(connection, table, dated)
            _unquote_names(connection, table)
            return list(connection.table(table).columns)
        except duckdb.ConversionException as error:
            failing = re.search(r'converting column "(.+?)"', str(error))
            if failing is None or failing.group(1) in text:
                raise
            text[failing.group(1)] = "VARCHAR"


def _type_iso_dates(
    connection: duckdb.DuckDBPyConnection, table: str, dated: dict[str, str]
) -> None:
    """Give the columns of `dated` ({name: sniffed type}, read as text) their sniffed type
    where every value is an ISO date (ISO_DATE)."""
    from pipeline.ingest.safety import quote_identifier  # safety imports this module

    for name, kind in dated.items():
        column = quote_identifier(name)
        row = connection.execute(
            f"select count(*) from {quote_identifier(table)} where {column} is not null "
            f"and not regexp_matches(trim({column}), $iso)",
            {"iso": ISO_DATE},
        ).fetchall()
        if row[0][0] == 0:
            connection.execute(
                f"alter table {quote_identifier(table)} alter {column} set data type {kind} "
                f"using cast(trim({column}) as {kind})"
            )


def _unquote_names(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """Column names the reader kept their quotes on, as it does for the first header field
    of a file that starts with a byte-order mark (`\\ufeff"Customer ID",Order Date` gives
    `"Customer ID"`), named as the file meant them, unless that name is taken."""
    from pipeline.ingest.safety import quote_identifier  # safety imports this module

    names = list(connection.table(quote_identifier(table)).columns)
    for name in names:
        bare = name[1:-1].replace('""', '"')
        if len(name) > 2 and name[0] == name[-1] == '"' and bare not in names:
            connection.execute(
                f"alter table {quote_identifier(table)} rename column "
                f"{quote_identifier(name)} to {quote_identifier(bare)}"
            )


def _load_whitespace(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    options: dict[str, Any],
    scratch: Path,
    limit: int | None,
) -> list[str]:
    """Split each line on runs of blanks into a tab-separated scratch file, then read that."""
    handle, name = tempfile.mkstemp(prefix=".split-", suffix=".tsv", dir=scratch.resolve())
    os.close(handle)
    normalized = Path(name)
    sample = options["sample_size"]
    keep = f"limit {int(sample) + int(options['header'])}" if sample > 0 else ""
    try:
        connection.execute(
            "copy (select regexp_replace(trim(line, $blanks), '[ \\t]+', chr(9), 'g') "
            "from read_csv($path, columns = {'line': 'VARCHAR'}, header = false, "
            "delim = '\\0', quote = '', escape = '', encoding = $encoding, auto_detect = false) "
            f"where trim(line, $blanks) <> '' {keep}) "
            "to $target (format csv, header false, quote '', escape '', delimiter '\\0')",
            {
                "path": str(path),
                "blanks": BLANKS,
                "encoding": options["encoding"],
                "target": str(normalized),
            },
        )
        tabbed = {**options, "encoding": "utf-8", "delim": "\t", "quote": "", "escape": ""}
        try:
            return _create(connection, table, normalized, tabbed, limit)
        except duckdb.Error:
            _raise_if_ragged(path, options["encoding"])
            raise
    finally:
        normalized.unlink(missing_ok=True)


def _raise_if_ragged(path: Path, encoding: str) -> None:
    """Name the lines whose number of fields differs from the first line's."""
    expected = 0
    count = 0
    examples: list[str] = []
    for number, text in lines(path, encoding):
        found = len(fields(text))
        expected = expected or found
        if found != expected:
            count += 1
            if len(examples) < EXAMPLES:
                examples.append(f"line {number} has {found}: {text.strip(BLANKS)[:60]!r}")
    if count:
        raise RaggedLinesError(count, expected, tuple(examples))
