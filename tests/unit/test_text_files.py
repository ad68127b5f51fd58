"""Text files as they come: whitespace-padded exports, tabs, no header, wrong delimiters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipeline.ingest import exports, month_names, text
from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.safety import sanitize_upload_name
from pipeline.ingest.uploads import preview
from pipeline.ingest.validation import Problem
from pipeline.settings import ROOT, Settings
from tests.support import cdnow_master, pipeline_cli

CDNOW_EXAMPLE = ROOT / "examples" / "cdnow.yml"
# The CDNOW master file's shape: a header, leading spaces, runs of spaces, CRLF line ends.
CDNOW_SAMPLE = (
    b" customer_id  date number_of_cds  dollar_value\r\n"
    b" 00001 19970101  1   11.77\r\n"
    b" 00002 19970112  1   12.00\r\n"
    b" 00002 19970112  5   77.00\r\n"
    b" 00003 19970102  2   20.76\r\n"
    b" 00003 19970330  2   20.76\r\n"
)
SHOP_ROWS = [("a 1", "2024-01-02", "3"), ("b 2", "2024-01-05", "1"), ("c 3", "2024-02-01", "7")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()


def write(settings: Settings, files: dict[str, bytes], mapping: dict[str, Any]) -> Path:
    """Files and the mapping in the data folder; returns the mapping's path."""
    data = settings.data_dirs[0]
    for name, content in files.items():
        (data / name).write_bytes(content)
    path = data / "mapping.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def shop(
    source: dict[str, Any] | str,
    customer: str = "customer",
    day: str = "day",
    orders: str = "orders",
) -> dict[str, Any]:
    """A non-contractual mapping of one file of (customer, day, orders) rows."""
    return {
        "name": "Shop",
        "vars": {"churn_definition": "non_contractual"},
        "sources": {"shop": source},
        "tables": {
            "accounts": {
                "from": "shop",
                "group_by": [customer],
                "columns": {"account_id": customer, "signup_date": f"min({day})"},
            },
            "usage_daily": {
                "from": "shop",
                "columns": {
                    "account_id": customer,
                    "usage_date": day,
                    "events": orders,
                },
            },
        },
    }


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_whitespace_text_with_crlf_and_a_header_imports_through_the_cdnow_example(
    settings: Settings,
) -> None:
    (settings.data_dirs[0] / "CDNOW_master.txt").write_bytes(CDNOW_SAMPLE)
    counts = import_mapping(read_mapping(CDNOW_EXAMPLE, settings), settings)
    assert (counts["accounts"], counts["usage_daily"], counts["payments"]) == (3, 4, 4)
    assert rows(settings, "select account_id, signup_date::varchar from accounts order by 1") == [
        ("00001", "1997-01-01"),
        ("00002", "1997-01-12"),
        ("00003", "1997-01-02"),
    ]
    assert rows(settings, "select events from usage_daily where account_id = '00002'") == [(6,)]
    assert rows(settings, "select amount from payments where account_id = '00002'") == [(89.0,)]


def test_whitespace_text_named_csv_is_split_not_read_as_one_column(settings: Settings) -> None:
    mapping = yaml.safe_load(CDNOW_EXAMPLE.read_text())
    mapping["sources"]["cdnow"] = "CDNOW_master.csv"
    path = write(settings, {"CDNOW_master.csv": CDNOW_SAMPLE}, mapping)
    assert validate_mapping(read_mapping(path, settings), settings) == []


def test_real_cdnow_master_file_imports_through_the_example_mapping(tmp_path: Path) -> None:
    master = cdnow_master()
    data = tmp_path / "cdnow-data"
    data.mkdir()
    shutil.copy(master, data / "CDNOW_master.txt")
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "import", str(CDNOW_EXAMPLE)],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(home), "BATON_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "accounts: 23,570" in result.stdout
    lines = [line.split() for line in master.read_text().splitlines()[1:] if line.strip()]
    with duckdb.connect(str(home / "raw.duckdb"), read_only=True) as connection:
        revenue, purchase_days = connection.execute(
            "select sum(amount), count(*) from payments"
        ).fetchall()[0]
        cds = connection.execute("select sum(events) from usage_daily").fetchall()[0][0]
    assert revenue == pytest.approx(sum(float(line[3]) for line in lines))
    assert purchase_days == len({(line[0], line[1]) for line in lines})
    assert cds == sum(int(line[2]) for line in lines)


def test_tab_delimited_tsv_keeps_values_with_spaces_in_one_column(settings: Settings) -> None:
    tsv = "customer\tday\torders\n" + "".join("\t".join(row) + "\n" for row in SHOP_ROWS)
    mapping = shop("shop.tsv")
    import_mapping(
        read_mapping(write(settings, {"shop.tsv": tsv.encode()}, mapping), settings), settings
    )
    assert rows(settings, "select account_id, events from usage_daily order by 1") == [
        ("a 1", 3),
        ("b 2", 1),
        ("c 3", 7),
    ]


@pytest.mark.parametrize("delimiter", ["\t", "\\t", "tab"])
def test_a_tab_delimiter_can_be_written_as_escape_or_word(
    settings: Settings, delimiter: str
) -> None:
    tsv = "customer\tday\torders\n" + "".join("\t".join(row) + "\n" for row in SHOP_ROWS)
    mapping = shop({"path": "shop.txt", "delimiter": delimiter})
    problems = validate_mapping(
        read_mapping(write(settings, {"shop.txt": tsv.encode()}, mapping), settings), settings
    )
    assert problems == []


def test_whitespace_text_without_a_header_names_columns_column0_onwards(
    settings: Settings,
) -> None:
    body = "".join(f"  {c.replace(' ', '')}   {d}  {o}  \n" for c, d, o in SHOP_ROWS)
    mapping = shop(
        {"path": "shop.dat", "header": False}, customer="column0", day="column1", orders="column2"
    )
    path = write(settings, {"shop.dat": body.encode()}, mapping)
    import_mapping(read_mapping(path, settings), settings)
    assert rows(settings, "select account_id, usage_date::varchar, events from usage_daily") == [
        ("a1", "2024-01-02", 3),
        ("b2", "2024-01-05", 1),
        ("c3", "2024-02-01", 7),
    ]


def test_delimiter_space_means_runs_of_whitespace(settings: Settings) -> None:
    body = "customer  day     orders\r\n" + "".join(
        f" {c.replace(' ', '')}    {d}  {o}\r\n" for c, d, o in SHOP_ROWS
    )
    mapping = shop({"path": "shop.csv", "delimiter": " "})
    path = write(settings, {"shop.csv": body.encode()}, mapping)
    assert validate_mapping(read_mapping(path, settings), settings) == []


def test_one_column_read_is_one_wrong_delimiter_problem_not_missing_columns(
    settings: Settings,
) -> None:
    body = "customer:day:orders\n" + "".join(":".join(row) + "\n" for row in SHOP_ROWS)
    path = write(settings, {"shop.txt": body.encode()}, shop("shop.txt"))
    problems = validate_mapping(read_mapping(path, settings), settings)
    assert [(p.table, p.rule) for p in problems] == [("shop", "wrong delimiter")]
    assert "Read as one column: set `delimiter:`" in problems[0].hint
    assert "`delimiter: whitespace`" in problems[0].hint
    assert problems[0].examples == ("first line 'customer:day:orders'",)


def test_whitespace_file_read_with_a_comma_suggests_delimiter_whitespace(
    settings: Settings,
) -> None:
    (settings.data_dirs[0] / "CDNOW_master.txt").write_bytes(CDNOW_SAMPLE)
    mapping = yaml.safe_load(CDNOW_EXAMPLE.read_text())
    mapping["sources"]["cdnow"] = {"path": "CDNOW_master.txt", "delimiter": ","}
    problems = validate_mapping(read_mapping(write(settings, {}, mapping), settings), settings)
    assert [(p.table, p.rule) for p in problems] == [("cdnow", "wrong delimiter")]
    assert "looks whitespace-delimited: `delimiter: whitespace`" in problems[0].hint


def test_whitespace_lines_that_do_not_line_up_are_named_by_line(settings: Settings) -> None:
    body = "customer day orders\n a1 2024-01-02 3\n\n b2 2024-01-05\n c3 2024-02-01 7\n"
    mapping = shop({"path": "shop.txt", "delimiter": "whitespace"})
    path = write(settings, {"shop.txt": body.encode()}, mapping)
    problems = validate_mapping(read_mapping(path, settings), settings)
    assert [(p.table, p.rule, p.count) for p in problems] == [("shop", "unreadable file", 1)]
    assert problems[0].examples == ("line 4 has 2: 'b2 2024-01-05'",)


@pytest.mark.parametrize("delimiter", ["ab", ""])
def test_a_delimiter_of_several_characters_is_refused(settings: Settings, delimiter: str) -> None:
    body = "customer,day,orders\n" + "".join(",".join(row) + "\n" for row in SHOP_ROWS)
    mapping = shop({"path": "shop.csv", "delimiter": delimiter})
    problems = read_mapping(
        write(settings, {"shop.csv": body.encode()}, mapping), settings
    ).problems
    assert [(p.column, p.rule) for p in problems] == [("sources.shop", "wrong delimiter")]


def test_relative_path_missing_beside_the_mapping_is_found_in_a_data_folder(
    settings: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (settings.data_dirs[0] / "CDNOW_master.txt").write_bytes(CDNOW_SAMPLE)
    mapping = yaml.safe_load(CDNOW_EXAMPLE.read_text())
    (outside / "cdnow.yml").write_text(yaml.safe_dump(mapping))
    found = read_mapping(outside / "cdnow.yml", settings)
    assert found.problems == []
    assert found.sources["cdnow"].path == settings.data_dirs[0] / "CDNOW_master.txt"


def test_environment_variables_in_a_path_are_not_expanded(settings: Settings) -> None:
    mapping = shop("$HOME/shop.txt")
    problems = read_mapping(write(settings, {}, mapping), settings).problems
    assert [(p.rule, "not expanded" in p.hint) for p in problems] == [("missing file", True)]


@pytest.mark.parametrize("name", ["export.txt", "export.TSV", "export.dat"])
def test_text_uploads_are_accepted_and_previewed_split(settings: Settings, name: str) -> None:
    stored = sanitize_upload_name(name)
    settings.uploads_dir.mkdir(parents=True)
    (settings.uploads_dir / stored).write_bytes(CDNOW_SAMPLE)
    frame, types, _ = preview(settings, settings.uploads_dir / stored)
    assert types == {
        "customer_id": "VARCHAR",
        "date": "BIGINT",
        "number_of_cds": "BIGINT",
        "dollar_value": "DOUBLE",
    }
    assert frame["customer_id"].tolist() == ["00001", "00002", "00002", "00003", "00003"]
    assert list(settings.home.glob(".split-*")) == []


def test_whitespace_split_gives_the_types_the_same_csv_gets(tmp_path: Path) -> None:
    (tmp_path / "padded.txt").write_text(
        "id   day          dmy         flag   amount\n"
        " 007  2024-01-31   31/01/2024  true   1.5\n"
        " 010  2024-02-29   29/02/2024  false  20\n"
    )
    (tmp_path / "plain.csv").write_text(
        "id,day,dmy,flag,amount\n007,2024-01-31,31/01/2024,true,1.5\n"
        "010,2024-02-29,29/02/2024,false,20\n"
    )
    with duckdb.connect() as connection:
        for name in ("padded.txt", "plain.csv"):
            text.load(
                connection,
                name.split(".")[0],
                tmp_path / name,
                delimiter=None,
                header=True,
                encoding="utf-8",
                scratch=tmp_path,
            )
        padded, plain = connection.table("padded"), connection.table("plain")
        assert [str(t) for t in padded.types[:2]] == ["VARCHAR", "DATE"]  # "007" stays text
        assert padded.types == plain.types
        assert padded.fetchall() == plain.fetchall()


def shop_file(days: list[str]) -> bytes:
    """A comma-separated shop file whose `day` column is written as `days` (one row each)."""
    lines = [f'c{i % 2},"{day}",{i + 1}' for i, day in enumerate(days)]
    return ("customer,day,orders\n" + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # Month first, no seconds, hours of one digit: how spreadsheets export timestamps.
        (["12/1/2010 8:26", "3/17/2011 18:16"], ["2010-12-01", "2011-03-17"]),
        # Day first with dots, as continental exports write dates.
        (["17.03.2011", "01.04.2011"], ["2011-03-17", "2011-04-01"]),
        (["Mar 17, 2011", "Apr 1, 2011"], ["2011-03-17", "2011-04-01"]),
        # Day first, which the sniffer also reads: typed here only because 17 is no month.
        (["17/03/2011", "01/04/2011"], ["2011-03-17", "2011-04-01"]),
        # Two-digit years, which one order alone reads; Oracle's DD-MON-YY.
        (["3/17/11", "4/1/11"], ["2011-03-17", "2011-04-01"]),
        (["17-MAR-11", "01-APR-11"], ["2011-03-17", "2011-04-01"]),
        # Month names in the export's language (pipeline.ingest.month_names): German, Spanish
        # with its "de", French abbreviations with a time, Portuguese with the weekday,
        # Polish in the genitive its dates use.
        (["17. März 2011", "1. April 2011"], ["2011-03-17", "2011-04-01"]),
        (["17 de marzo de 2011", "1 de abril de 2011"], ["2011-03-17", "2011-04-01"]),
        (["17 févr. 2011 08:15", "1 avr. 2011 09:00"], ["2011-02-17", "2011-04-01"]),
        (
            ["quinta-feira, 17 de março de 2011", "sexta-feira, 1 de abril de 2011"],
            ["2011-03-17", "2011-04-01"],
        ),
        (["17 marca 2011", "1 kwietnia 2011"], ["2011-03-17", "2011-04-01"]),
    ],
)
def test_dates_in_a_format_the_sniffer_does_not_know_import_as_dates(
    settings: Settings, days: list[str], expected: list[str]
) -> None:
    path = write(settings, {"shop.csv": shop_file(days)}, shop("shop.csv", day="cast(day as date)"))
    import_mapping(read_mapping(path, settings), settings)
    assert rows(settings, "select usage_date::varchar from usage_daily order by 1") == [
        (day,) for day in expected
    ]


@pytest.mark.parametrize(
    "days",
    [
        ["3/4/2011 8:26", "5/6/2011 9:00"],  # March or April, May or June: the data does not say
        ["2011-03-17", "3/18/2011"],  # two formats in one column
        # November in Czech, October in Croatian: no one language reads it.
        ["17 listopad 2011", "18 listopad 2011"],
        # A month name of one language among words of no date.
        ["17 März 2011 lieferung", "1 April 2011 lieferung"],
    ],
)
def test_dates_no_one_format_reads_stay_text_and_the_problem_says_how_to_convert(
    settings: Settings, days: list[str]
) -> None:
    path = write(settings, {"shop.csv": shop_file(days)}, shop("shop.csv", day="cast(day as date)"))
    problems = validate_mapping(read_mapping(path, settings), settings)
    assert problems, "an ambiguous date column must not be guessed"
    assert all(p.rule == "invalid expression" for p in problems), problems
    # A conversion in an expression: strptime, or for dates that read two ways, the source's
    # `dates:` with a format that reads them.
    assert all(
        "strptime(your_column" in p.hint or "`dates: {day: '%m/%d/%Y %H:%M'}`" in p.hint
        for p in problems
    ), problems
    assert not any("every column outside an aggregate" in p.hint for p in problems)


def unparseable_dates(settings: Settings, days: list[str]) -> list[Problem]:
    """The "unparseable date" problems of the shop mapping over a file whose days are `days`:
    one for each of the mapping's date columns."""
    path = write(settings, {"shop.csv": shop_file(days)}, shop("shop.csv"))
    problems = validate_mapping(read_mapping(path, settings), settings)
    dates = [p for p in problems if p.rule == "unparseable date"]
    assert {(p.table, p.column) for p in dates} == {
        ("accounts", "signup_date"),
        ("usage_daily", "usage_date"),
    }, problems
    return dates


@pytest.mark.parametrize(
    ("days", "readings"),
    [
        # A German export's short dates, which DuckDB's sniffer read as 2017-03-11.
        (["17.03.11", "25.04.11"], "'17.03.11' is 2011-03-17 with '%d.%m.%y' and 2017-03-11"),
        # With a time, which the sniffer read as the year 17.
        (["17/03/11 08:15", "25/04/11 9:00"], "is 2011-03-17 with '%d/%m/%y %H:%M' and 2017"),
        # Day or month first, which the sniffer read as 1 April.
        (["01/04/2011", "02/05/2011"], "'01/04/2011' is 2011-01-04 with '%m/%d/%Y' and 2011-04-01"),
    ],
)
def test_dates_that_read_two_ways_are_not_guessed_and_the_problem_gives_both_readings(
    settings: Settings, days: list[str], readings: str
) -> None:
    dates = unparseable_dates(settings, days)
    assert all(readings in p.hint and "strptime(your_column, '" in p.hint for p in dates), dates


def test_a_shop_mapping_leaves_active_users_out_and_each_day_counts_one(
    settings: Settings,
) -> None:
    path = write(settings, {"shop.csv": shop_file(["2011-03-17", "2011-04-01"])}, shop("shop.csv"))
    import_mapping(read_mapping(path, settings), settings)
    assert rows(settings, "select active_users, events from usage_daily order by 2") == [
        (1, 1),
        (1, 2),
    ]


@pytest.mark.parametrize(
    ("days", "conversion"),
    [
        (["1291193100", "1300381560"], "to_timestamp(your_column)"),
        (["1291193100000", "1300381560000"], "to_timestamp(your_column / 1000)"),
        (["20101201", "20110317"], "strptime(cast(your_column as varchar), '%Y%m%d')"),
        (["40513", "40619"], "date '1899-12-30' + cast(your_column as integer)"),
    ],
)
def test_days_written_as_numbers_get_the_conversion_their_range_suggests(
    settings: Settings, days: list[str], conversion: str
) -> None:
    dates = unparseable_dates(settings, days)
    assert all(conversion in p.hint and "numbers, not dates" in p.hint for p in dates), dates


def loaded(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path, body: str, table: str = "ids"
) -> None:
    """`body` as a CSV file read into `table` as an import reads a text source."""
    (tmp_path / f"{table}.csv").write_text(body)
    text.load(
        connection,
        table,
        tmp_path / f"{table}.csv",
        delimiter=None,
        header=True,
        encoding="utf-8",
        scratch=tmp_path,
    )


def test_ids_of_eight_digits_are_not_read_as_dates(tmp_path: Path) -> None:
    with duckdb.connect() as connection:
        loaded(connection, tmp_path, "id,day\n01022011,2/1/2011 8:26\n03042011,2/13/2011 9:00\n")
        assert exports.parse(connection, "ids") == {"day": "%m/%d/%Y %H:%M"}
        assert [str(t) for t in connection.table("ids").types] == ["VARCHAR", "TIMESTAMP"]
        assert connection.table("ids").fetchall()[0][0] == "01022011"


@pytest.mark.parametrize(
    "header",
    [
        '\ufeff"Customer ID",Order Date',
        '\ufeff"Customer ID","Order Date"',
        "Customer ID,Order Date",
    ],
)
def test_a_header_after_a_byte_order_mark_is_named_as_written(tmp_path: Path, header: str) -> None:
    # Excel's "CSV UTF-8" starts with a byte-order mark; quoting only the first field (a name
    # with a space) left DuckDB's reader with a column named '"Customer ID"', quotes and all.
    with duckdb.connect() as connection:
        loaded(connection, tmp_path, f"{header}\n7,2024-01-02\n", table="orders")
        assert connection.table("orders").columns == ["Customer ID", "Order Date"]


def test_an_upload_preview_shows_the_dates_the_import_will_read(settings: Settings) -> None:
    settings.uploads_dir.mkdir(parents=True)
    (settings.uploads_dir / "shop.csv").write_bytes(
        shop_file(["12/1/2010 8:26", "3/17/2011 18:16"])
    )
    _, types, _ = preview(settings, settings.uploads_dir / "shop.csv")
    assert types["day"] == "TIMESTAMP"


def typed_amounts(tmp_path: Path, values: list[str]) -> tuple[dict[str, str], list[Any]]:
    """What exports.parse makes of a CSV column `amount` holding `values` (quoted)."""
    body = "id,amount\n" + "".join(f'{i},"{value}"\n' for i, value in enumerate(values))
    with duckdb.connect() as connection:
        loaded(connection, tmp_path, body, "amounts")
        typed = exports.parse(connection, "amounts")
        column = connection.execute("select amount from amounts order by id").fetchall()
    return typed, [value for (value,) in column]


@pytest.mark.parametrize(
    ("values", "reading", "numbers"),
    [
        (["$1,234.50", "$20.00", "($5.00)", "-$7.25"], "dot", [1234.5, 20.0, -5.0, -7.25]),
        (["1.234,50 €", "20,00 €", "-5,00 €"], "comma", [1234.5, 20.0, -5.0]),
        (["£12", "£1,200", "£0.50"], "dot", [12.0, 1200.0, 0.5]),
        (["1,69", "0,85", "12", "1.234,5"], "comma", [1.69, 0.85, 12.0, 1234.5]),  # prices
    ],
)
def test_amounts_written_for_people_are_read_as_numbers(
    tmp_path: Path, values: list[str], reading: str, numbers: list[float]
) -> None:
    typed, column = typed_amounts(tmp_path, values)
    assert typed == {"amount": reading}
    assert column == numbers


@pytest.mark.parametrize(
    "values",
    [
        ["1,234", "5,678"],  # a thousand and more, or one and a bit: the data does not say
        ["1,5", "v2,10"],  # not every value is an amount
        ["$5.00", "tbd"],  # not every value is an amount
        ["007", "012"],  # ids with leading zeros
        ["A-1", "B-2"],
    ],
)
def test_text_that_is_not_plainly_an_amount_stays_text(tmp_path: Path, values: list[str]) -> None:
    typed, column = typed_amounts(tmp_path, values)
    assert typed == {}
    assert column == values


def test_whole_numbers_written_as_floats_are_read_as_integers(tmp_path: Path) -> None:
    """Customer ids as pandas writes a column of integers with gaps (`13047.0`) read as
    13047, so an id shows as `13047` and not `13047.0`; a column with a fraction stays."""
    with duckdb.connect() as connection:
        loaded(
            connection, tmp_path, "customer,price,count\n13047.0,1.5,2.0\n,2.0,\n12346.0,3.0,4.0\n"
        )
        assert exports.parse(connection, "ids") == {"customer": "whole", "count": "whole"}
        assert [str(t) for t in connection.table("ids").types] == ["BIGINT", "DOUBLE", "BIGINT"]
        ids = connection.execute("select cast(customer as varchar) from ids").fetchall()
    assert ids == [("13047",), (None,), ("12346",)]


def test_missing_values_written_as_text_leave_numbers_and_dates_typed(tmp_path: Path) -> None:
    """A SQL export's NULL, a spreadsheet's #N/A, a script's NaN: missing, not text, so the
    column keeps its type; `NA` stays a value (Namibia's country code)."""
    body = (
        "id,amount,day,country\n1,3.5,2024-01-02,NA\n2,NULL,N/A,N/A\n"
        "3,#N/A,2024-01-03,\n4,NaN,null,FR\n5,n/a,2024-01-05,NULL\n"
    )
    with duckdb.connect() as connection:
        loaded(connection, tmp_path, body, "orders")
        types = [str(t) for t in connection.table("orders").types]
        rows = connection.execute("select amount, day, country from orders order by id").fetchall()
    assert types == ["BIGINT", "DOUBLE", "DATE", "VARCHAR"]
    assert [amount for amount, _, _ in rows] == [3.5, None, None, None, None]
    assert [str(day) for _, day, _ in rows] == [
        "2024-01-02",
        "None",
        "2024-01-03",
        "None",
        "2024-01-05",
    ]
    assert [country for _, _, country in rows] == ["NA", None, None, "FR", None]


def test_a_mapping_reads_money_columns_of_an_export_without_converting_them(
    settings: Settings,
) -> None:
    body = 'customer,day,amount\na1,2024-01-02,"$1,234.50"\nb2,2024-01-05,"($20.00)"\n'
    mapping = shop("shop.csv", orders="1")
    mapping["tables"]["payments"] = {
        "from": "shop",
        "columns": {
            "payment_id": "customer || day",
            "account_id": "customer",
            "attempted_at": "day",
            "amount": "amount",
            "status": "'succeeded'",
        },
    }
    path = write(settings, {"shop.csv": body.encode()}, mapping)
    import_mapping(read_mapping(path, settings), settings)
    assert rows(settings, "select account_id, amount from payments order by 1") == [
        ("a1", 1234.5),
        ("b2", -20.0),
    ]


def test_timestamps_with_an_offset_import_in_utc_whatever_the_machine_s_time_zone(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "shop.csv").write_text(
        "customer,seen_at,orders\n"
        "a1,2024-01-02T23:30:00-05:00,3\n"  # 04:30 on 3 January in UTC
        "b2,2024-01-05T08:00:00+02:00,1\n"
    )
    mapping = shop("shop.csv", day="cast(seen_at as date)")
    mapping["tables"]["accounts"]["group_by"] = ["customer"]
    mapping["tables"]["usage_daily"]["columns"]["usage_date"] = "cast(seen_at as date)"
    (data / "mapping.yml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    days = []
    for zone in ("America/New_York", "Asia/Tokyo"):
        home = tmp_path / zone.replace("/", "-")
        run = pipeline_cli(
            home, "import", str(data / "mapping.yml"), env={"TZ": zone, "BATON_DATA_DIR": str(data)}
        )
        assert run.returncode == 0, run.stderr
        with duckdb.connect(str(home / "raw.duckdb"), read_only=True) as connection:
            days.append(
                connection.execute(
                    "select account_id, usage_date::varchar from usage_daily order by 1"
                ).fetchall()
            )
    assert days[0] == days[1] == [("a1", "2024-01-03"), ("b2", "2024-01-05")]


def test_a_mapping_can_read_timestamps_in_the_business_s_own_time_zone(
    settings: Settings,
) -> None:
    csv = b"customer,seen_at,orders\na1,2024-01-02T23:30:00-05:00,3\nb2,2024-01-05T08:00:00Z,1\n"
    local = "cast(timezone('America/New_York', seen_at) as date)"
    mapping = shop("shop.csv", day=local)
    mapping["tables"]["usage_daily"]["group_by"] = ["customer", local]
    mapping["tables"]["usage_daily"]["columns"]["events"] = "sum(orders)"
    import_mapping(read_mapping(write(settings, {"shop.csv": csv}, mapping), settings), settings)
    assert rows(settings, "select account_id, usage_date::varchar from usage_daily order by 1") == [
        ("a1", "2024-01-02"),
        ("b2", "2024-01-05"),
    ]


def test_a_language_is_looked_up_only_for_words_that_all_belong_to_dates() -> None:
    german = month_names.find(["17. März 2011", "3. Mai 2011 08:15"])
    assert german is not None and german.months["märz"] == 3 and german.months["mai"] == 5
    assert month_names.find(["Mar 17, 2011", "17-APR-11"]) is None  # strptime reads English
    assert month_names.find(["WHITE METAL LANTERN 6", "RED RETROSPOT CUP 12"]) is None
    assert month_names.find(["März", "April"]) is None  # no day or year: not a date


def dated_shop(settings: Settings, days: list[str], dates: dict[str, str]) -> Path:
    """The shop mapping over a file whose days are `days`, its source saying `dates:`."""
    source = {"path": "shop.csv", "dates": dates}
    return write(settings, {"shop.csv": shop_file(days)}, shop(source))


@pytest.mark.parametrize(
    ("days", "dates", "expected"),
    [
        # Month names in German with a two-digit year: no format reads them unasked, and
        # strptime in a mapping expression reads English names only.
        (["17. März 11", "1. April 11"], {"day": "%d. %b %y"}, ["2011-03-17", "2011-04-01"]),
        # Day or month first: the data does not say, the mapping does.
        (["01/04/2011", "02/05/2011"], {"day": "%d/%m/%Y"}, ["2011-04-01", "2011-05-02"]),
        (["01/04/2011", "02/05/2011"], {"day": "%m/%d/%Y"}, ["2011-01-04", "2011-02-05"]),
    ],
)
def test_a_source_says_how_its_dates_are_written(
    settings: Settings, days: list[str], dates: dict[str, str], expected: list[str]
) -> None:
    import_mapping(read_mapping(dated_shop(settings, days, dates), settings), settings)
    assert rows(settings, "select usage_date::varchar from usage_daily order by 1") == [
        (day,) for day in expected
    ]


def test_month_names_of_another_language_get_the_setting_that_reads_them(
    settings: Settings,
) -> None:
    dates = unparseable_dates(settings, ["17. März 11", "1. April 11"])
    assert all("German" in p.hint and "`dates: {your_column:" in p.hint for p in dates), dates


@pytest.mark.parametrize(
    ("dates", "rule", "shown"),
    [
        # A format the values do not have: each value it leaves unread is named.
        ({"day": "%d.%m.%Y"}, "unparseable date", "17. März 11"),
        # A column the file does not have: the file's columns are named.
        ({"Day": "%d. %b %y"}, "missing column", "customer, day, orders"),
        # Not a format at all.
        ({"day": "day first"}, "invalid setting", "%d day"),
    ],
)
def test_a_dates_setting_that_does_not_fit_the_file_says_what_to_write(
    settings: Settings, dates: dict[str, str], rule: str, shown: str
) -> None:
    path = dated_shop(settings, ["17. März 11", "1. April 11"], dates)
    problems = validate_mapping(read_mapping(path, settings), settings)
    assert [p.rule for p in problems][:1] == [rule], problems
    assert shown in str(problems[0]), problems


def test_a_cast_that_fails_on_month_names_of_another_language_gets_the_dates_setting(
    settings: Settings,
) -> None:
    days = ["17. März 11 08:26", "1. Dez. 10 09:00"]
    path = write(settings, {"shop.csv": shop_file(days)}, shop("shop.csv", day="cast(day as date)"))
    problems = validate_mapping(read_mapping(path, settings), settings)
    assert problems and all(p.rule == "invalid expression" for p in problems), problems
    assert all(
        "day names months in German" in p.hint and "`dates: {day: '" in p.hint for p in problems
    ), problems
