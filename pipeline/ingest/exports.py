"""Values as exports write them, which DuckDB's CSV sniffer leaves as text: dates such as
`12/1/2010 8:26` or `Mar 17, 2011`, amounts such as `$1,234.50`, `(5.00)`, `1.234,50 €` or `1,69`.
A text column is typed when exactly one reading fits every value (`parse`); otherwise it
stays text and the mapping converts it, as the import's problems then say."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime

import duckdb
from pandas.tseries.api import guess_datetime_format

from pipeline.ingest import month_names
from pipeline.ingest.safety import quote_identifier as quote
from pipeline.ingest.safety import quote_literal

# Distinct values of a text column from which its date format is guessed.
SAMPLE = 20
# Dates with two-digit years, which pandas does not guess: day, month or year first, as people
# write them (`17.03.11`, `3/17/11`, `11-03-17`), and Oracle's `17-MAR-11`; with or without a
# time. All three orders are tried, so a column they read differently stays text.
SHORT_YEAR_FORMATS = tuple(
    f"{day}{time}"
    for day in (
        *(
            f"{first}{mark}{second}{mark}{third}"
            for mark in "/.-"
            for first, second, third in (("%d", "%m", "%y"), ("%m", "%d", "%y"), ("%y", "%m", "%d"))
        ),
        "%d-%b-%y",
    )
    for time in ("", " %H:%M", " %H:%M:%S")
)
CURRENCY = "$€£¥"
# An amount with its decimal point a dot or a comma: an optional sign or parentheses, a
# currency symbol before or after, digits grouped in thousands by the other mark, or not.
_SIGN = rf"\(?\s*[-+]?\s*[{CURRENCY}]?\s*[-+]?"
_END = rf"\s*[{CURRENCY}]?\s*\)?"
AMOUNTS = {
    "dot": _SIGN + r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?" + _END,
    "comma": _SIGN + r"(\d{1,3}(\.\d{3})+|\d+)(,\d+)?" + _END,
}
# What makes text an amount rather than a number the sniffer would have typed: a currency
# symbol, a thousands mark, parentheses for a negative, or a decimal comma (a comma followed
# by other than three digits: `1,69`, as European exports write prices).
AMOUNT_MARK = rf"[{CURRENCY}()]|\d[,.]\d{{3}}(\D|$)|\d,(\d{{1,2}}|\d{{4,}})(\D|$)"


class DateFormatError(ValueError):
    """Values of a column that its source's `dates:` format does not read."""

    def __init__(self, column: str, fmt: str, count: int, examples: tuple[str, ...]) -> None:
        self.column = column
        self.fmt = fmt
        self.count = count
        self.examples = examples
        super().__init__(f"{count} value(s) of {column} do not read with {fmt!r}")


def parse(
    connection: duckdb.DuckDBPyConnection, table: str, dates: dict[str, str] | None = None
) -> dict[str, str]:
    """Type the columns of `table` that hold dates, amounts or whole numbers as exports write
    them; {column: the format or reading used}, for those typed (`parse_dates`,
    `parse_amounts`, `parse_whole_numbers`). `dates`: {column: format} the mapping gives
    for text columns whose dates read more than one way."""
    return {
        **parse_dates(connection, table, dates or {}),
        **parse_amounts(connection, table),
        **parse_whole_numbers(connection, table),
    }


def parse_dates(
    connection: duckdb.DuckDBPyConnection, table: str, dates: dict[str, str] | None = None
) -> dict[str, str]:
    """Type the text columns of `table` that hold dates in one format the CSV sniffer does not
    know or may misread (exports write `12/1/2010 8:26`, `Mar 17, 2011` or `17.03.11`);
    {column: format} of those typed.

    A column is typed only when one format reads every value and no other format that reads
    every value gives other dates: `3/4/2011` throughout, which is either March or April, stays
    text, and so does `17.03.11`, which is 17 March 2011 or 11 March 2017 (the mapping converts
    it, with the format the data means; the import's problem lists the readings).

    A column `dates` names is read with its format (month names of another language too), and
    DateFormatError lists the values that format does not read.
    """
    typed = {}
    dates = dates or {}
    for name, kind in zip(*_columns(connection, table), strict=True):
        if kind != "VARCHAR":
            continue
        if name in dates:
            value, language, _ = _readable(connection, table, name)
            reading = DateReading(f"nullif({value}, '')", [dates[name]], language)
            _check_format(connection, table, name, reading)
        else:
            reading = date_readings(connection, table, name)
            if not reading.formats or not _same_dates(connection, table, reading):
                continue
        chosen = reading.formats[0]
        typed_as = "timestamp" if re.search(r"%[HIMSp]", chosen) else "date"
        connection.execute(
            f"alter table {quote(table)} alter {quote(name)} set data type {typed_as} "
            f"using strptime({reading.value}, {quote_literal(chosen)})"  # ALTER takes no parameters
        )
        typed[name] = chosen if reading.language is None else f"{chosen} ({reading.language})"
    return typed


@dataclass(frozen=True)
class DateReading:
    """How a text column reads as dates: `value`, the SQL of its text as strptime reads it
    (trimmed; month names of another `language` in English, pipeline.ingest.month_names),
    and the `formats` that read every value that way (several when they read two ways)."""

    value: str
    formats: list[str]
    language: str | None = None


def date_readings(connection: duckdb.DuckDBPyConnection, table: str, name: str) -> DateReading:
    """The date formats that read every value of the text column `name` of `table`, from
    those `_date_formats` finds in a sample."""
    column = quote(name)
    value, language, sample = _readable(connection, table, name)
    formats = _date_formats(sample)
    if not formats:
        return DateReading(value, [], language)
    counts = connection.execute(
        "select "
        + ", ".join(
            f"count(*) filter (where {column} is not null and "
            f"try_strptime({value}, ${i + 1}) is null)"
            for i in range(len(formats))
        )
        + f" from {quote(table)}",
        formats,
    ).fetchall()
    fits = [fmt for fmt, failed in zip(formats, counts[0], strict=True) if failed == 0]
    return DateReading(value, fits, language)


def undecided_dates(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Text columns of `table` (after `parse`) whose dates only the mapping can decide: those
    that read two ways, and those with month names of another language that no format reads
    alone; {column: a format that reads them, or "" when none is known}."""
    undecided = {}
    for name, kind in zip(*_columns(connection, table), strict=True):
        if kind != "VARCHAR":
            continue
        reading = date_readings(connection, table, name)
        if len(reading.formats) > 1 or (reading.language is not None and not reading.formats):
            undecided[name] = reading.formats[0] if reading.formats else ""
    return undecided


def _readable(
    connection: duckdb.DuckDBPyConnection, table: str, name: str
) -> tuple[str, str | None, list[str]]:
    """The SQL of the text column `name` as strptime reads it (trimmed; month names of
    another language in English), that language, and a sample of the values so read."""
    column = quote(name)
    value = f"trim({column})"
    sample = _sample(connection, table, value)
    names = month_names.find(sample)
    if names is None:
        return value, None, sample
    value = names.sql(column)
    return value, names.language, _sample(connection, table, value)


def _check_format(
    connection: duckdb.DuckDBPyConnection, table: str, name: str, reading: DateReading
) -> None:
    """Raise DateFormatError when the reading's one format leaves a value of `name` unread."""
    failed = (
        f"from {quote(table)} where {reading.value} is not null "
        f"and try_strptime({reading.value}, $1) is null"
    )
    try:
        (count,) = connection.execute(f"select count(*) {failed}", reading.formats).fetchall()[0]
    except duckdb.Error as error:  # a format strptime does not know (`%Q`)
        raise DateFormatError(name, reading.formats[0], 0, (str(error).splitlines()[0],)) from error
    if count:
        rows = connection.execute(
            f"select distinct {quote(name)} {failed} order by 1 limit 3", reading.formats
        ).fetchall()
        raise DateFormatError(name, reading.formats[0], count, tuple(str(r[0]) for r in rows))


def _sample(connection: duckdb.DuckDBPyConnection, table: str, value: str) -> list[str]:
    """Up to SAMPLE distinct non-empty values of the SQL `value` over `table`."""
    return [
        str(row[0])
        for row in connection.execute(
            f"select distinct {value} from {quote(table)} where {value} is not null "
            f"and {value} <> '' limit {SAMPLE}"
        ).fetchall()
    ]


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    relation = connection.table(quote(table))
    return list(relation.columns), [str(kind) for kind in relation.types]


def _date_formats(sample: list[str]) -> list[str]:
    """The formats (month first, then day first) that pandas guesses for every sampled value
    alike, then those of SHORT_YEAR_FORMATS that read every sampled value; none when a value
    looks like no date, or the format has no year ("10-12" is more likely a range than October
    12th) or no separators (an id of eight digits is not %Y%m%d)."""
    if not sample:
        return []
    found: list[str] = [fmt for fmt in SHORT_YEAR_FORMATS if _reads_all(sample, fmt)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when day first does not apply
        for dayfirst in (False, True):
            guesses = {guess_datetime_format(value, dayfirst=dayfirst) for value in sample}
            if len(guesses) == 1 and None not in guesses:
                (fmt,) = guesses
                if fmt is None or fmt in found:
                    continue
                if re.search(r"%[Yy]", fmt) and re.search(r"[/.\- ,]", fmt):
                    found.append(fmt)
    return found


def _reads_all(sample: list[str], fmt: str) -> bool:
    """Whether Python's strptime reads every sampled value with `fmt`."""
    try:
        for value in sample:
            datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _same_dates(connection: duckdb.DuckDBPyConnection, table: str, reading: DateReading) -> bool:
    """Whether every format reads every value as the same date (else the data is ambiguous)."""
    first = f"try_strptime({reading.value}, $1)"
    formats = reading.formats
    for i in range(1, len(formats)):
        differ = connection.execute(
            f"select count(*) from {quote(table)} "
            f"where {first} is distinct from try_strptime({reading.value}, $2)",
            [formats[0], formats[i]],
        ).fetchall()
        if differ[0][0]:
            return False
    return True


def parse_amounts(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Type as DOUBLE the text columns of `table` whose every value is an amount written for
    people (`$1,234.50`, `(5.00)` for -5, `1.234,50 €`); {column: "dot" or "comma" decimal}.

    Only when one reading fits: `1,234` alone could be either, so a column of such values
    stays text; a column needs one value with a currency symbol, thousands mark or
    parentheses (plain numbers the sniffer types itself, and ids such as `007` stay text:
    no value may start with a zero followed by a digit).
    """
    typed = {}
    for name, kind in zip(*_columns(connection, table), strict=True):
        if kind != "VARCHAR":
            continue
        column, source = quote(name), quote(table)
        value = f"trim({column})"
        row = connection.execute(
            f"select count(*) filter (where regexp_matches({value}, $mark)), "
            f"count(*) filter (where regexp_matches({value}, '^[-+(]?0[0-9]')), "
            + ", ".join(
                f"count(*) filter (where not regexp_full_match({value}, ${reading}))"
                for reading in AMOUNTS
            )
            + f" from {source} where {column} is not null and {value} <> ''",
            {"mark": AMOUNT_MARK, **AMOUNTS},
        ).fetchall()
        marked, leading_zero, *misfits = row[0]
        if not marked or leading_zero:
            continue
        fits = [reading for reading, count in zip(AMOUNTS, misfits, strict=True) if not count]
        if len(fits) != 1 and not (fits and _same_amounts(connection, table, column)):
            continue
        reading = fits[0]
        connection.execute(
            f"alter table {source} alter {column} set data type double "
            f"using {_amount(value, reading)}"
        )
        typed[name] = reading
    return typed


def parse_whole_numbers(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Type as BIGINT the floating-point columns of `table` whose every value is a whole
    number: ids that pandas or a spreadsheet wrote as `13047.0` (a column of integers with a
    gap becomes floats there), which would otherwise read `13047.0` wherever they are shown;
    {column: "whole"} of those typed. Numbers keep their value (up to 2^53, exact in both)."""
    typed = {}
    for name, kind in zip(*_columns(connection, table), strict=True):
        if kind not in ("DOUBLE", "FLOAT"):
            continue
        column = quote(name)
        row = connection.execute(
            f"select count({column}), count(*) filter (where isnan({column}) or "
            f"isinf({column}) or abs({column}) >= 9007199254740992 or "
            f"{column} <> round({column})) from {quote(table)}"
        ).fetchall()
        present, fractional = row[0]
        if not present or fractional:
            continue
        connection.execute(
            f"alter table {quote(table)} alter {column} set data type bigint "
            f"using cast({column} as bigint)"
        )
        typed[name] = "whole"
    return typed


def _amount(value: str, reading: str) -> str:
    """SQL of the number an amount `value` (SQL) holds, read with `reading`'s decimal mark."""
    digits = "[^0-9.]" if reading == "dot" else "[^0-9,]"
    number = f"regexp_replace({value}, '{digits}', '', 'g')"
    if reading == "comma":
        number = f"replace({number}, ',', '.')"
    negative = f"(starts_with({value}, '(') or contains({value}, '-'))"
    return (
        f"case when {value} = '' then null "
        f"else (case when {negative} then -1 else 1 end) * cast({number} as double) end"
    )


def _same_amounts(connection: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether both readings give every value the same number (no value has a mark that
    one reading takes for thousands and the other for a decimal point)."""
    value = f"trim({column})"
    differ = connection.execute(
        f"select count(*) from {quote(table)} where {column} is not null and {value} <> '' "
        f"and {_amount(value, 'dot')} is distinct from {_amount(value, 'comma')}"
    ).fetchall()
    return differ[0][0] == 0
