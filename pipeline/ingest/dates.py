"""Dates in text columns that DuckDB's CSV sniffer leaves as text, typed when one format
reads them all (exports write `12/1/2010 8:26` or `17.03.2011`, not ISO dates)."""

from __future__ import annotations

import re
import warnings

import duckdb
from pandas.tseries.api import guess_datetime_format

from pipeline.ingest.safety import quote_identifier as quote

# Distinct values of a text column from which its date format is guessed.
SAMPLE = 20


def parse(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Type the text columns of `table` that hold dates in one format the CSV sniffer does not
    know (exports write `12/1/2010 8:26` or `17.03.2011`); {column: format} of those typed.

    A column is typed only when one format reads every value and no other format that reads
    every value gives other dates: `3/4/2011` throughout, which is either March or April, stays
    text (the mapping converts it, with the format the data means). Formats are guessed from
    sampled values by pandas' `guess_datetime_format`, month first and day first.
    """
    typed = {}
    for name, kind in zip(*_columns(connection, table), strict=True):
        if kind != "VARCHAR":
            continue
        column = quote(name)
        sample = [
            str(row[0]).strip()
            for row in connection.execute(
                f"select distinct {column} from {quote(table)} where {column} is not null "
                f"limit {SAMPLE}"
            ).fetchall()
        ]
        formats = _date_formats(sample)
        if not formats:
            continue
        counts = connection.execute(
            "select "
            + ", ".join(
                f"count(*) filter (where {column} is not null and "
                f"try_strptime(trim({column}), ${i + 1}) is null)"
                for i in range(len(formats))
            )
            + f" from {quote(table)}",
            formats,
        ).fetchone()
        fits = [fmt for fmt, failed in zip(formats, counts or (), strict=True) if failed == 0]
        if not fits or not _same_dates(connection, table, column, fits):
            continue
        chosen = fits[0]
        typed_as = "timestamp" if re.search(r"%[HIMSp]", chosen) else "date"
        connection.execute(
            f"alter table {quote(table)} alter {column} set data type {typed_as} "
            f"using strptime(trim({column}), {_literal(chosen)})"  # ALTER takes no parameters
        )
        typed[name] = chosen
    return typed


def _literal(value: str) -> str:
    """A SQL string literal of `value`."""
    return "'" + value.replace("'", "''") + "'"


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    relation = connection.table(quote(table))
    return list(relation.columns), [str(kind) for kind in relation.types]


def _date_formats(sample: list[str]) -> list[str]:
    """The formats (month first, then day first) that pandas guesses for every sampled value
    alike; none when a value looks like no date or the formats have no separators (an id of
    eight digits is not %Y%m%d)."""
    if not sample:
        return []
    found: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when day first does not apply
        for dayfirst in (False, True):
            guesses = {guess_datetime_format(value, dayfirst=dayfirst) for value in sample}
            if len(guesses) == 1 and None not in guesses:
                (fmt,) = guesses
                if fmt is not None and re.search(r"[/.\- ,]", fmt) and fmt not in found:
                    found.append(fmt)
    return found


def _same_dates(
    connection: duckdb.DuckDBPyConnection, table: str, column: str, formats: list[str]
) -> bool:
    """Whether every format reads every value as the same date (else the data is ambiguous)."""
    first = f"try_strptime(trim({column}), $1)"
    for i in range(1, len(formats)):
        differ = connection.execute(
            f"select count(*) from {quote(table)} "
            f"where {first} is distinct from try_strptime(trim({column}), $2)",
            [formats[0], formats[i]],
        ).fetchone()
        if differ and differ[0]:
            return False
    return True
