"""Hostile input: path traversal, symlinks, quotes in column names, SQL in expressions."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.safety import (
    UnsafeExpressionError,
    UnsafePathError,
    check_expression,
    lock_down,
    quote_identifier,
    resolve_inside,
    sanitize_upload_name,
)
from pipeline.settings import Settings

HOSTILE_EXPRESSIONS = [
    "1; drop table accounts",
    "'; drop table accounts; --",
    "id); drop table accounts; --",
    "(select count(*) from accounts)",
    "id in (select id from read_csv('/etc/passwd'))",
    "exists (select 1)",
    "read_csv('/etc/passwd')",
    "read_text('/etc/passwd')",
    "glob('/etc/*')",
    "getenv('HOME')",
    "current_setting('home_directory')",
    "id from accounts",
    "id as account_id",
    "*",
    "$1",
    "1, 2",
    "=cmd|' /C calc'!A0",
    "",
]


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    return [home.resolve(), data.resolve()]


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS)
def test_hostile_expressions_are_refused(expression: str) -> None:
    with pytest.raises(UnsafeExpressionError):
        check_expression(expression)


@pytest.mark.parametrize(
    ("expression", "rendered"),
    [
        ("Quantity * UnitPrice", "(Quantity * UnitPrice)"),
        ("count(distinct InvoiceNo)", "count(DISTINCT InvoiceNo)"),
        ("not starts_with(InvoiceNo, 'C')", "(NOT starts_with(InvoiceNo, 'C'))"),
        ("amount -- a comment hides nothing\n + 1", "(amount + 1)"),
        ('"it""s ; --" * 2', '("it""s ; --" * 2)'),
    ],
)
def test_plain_expressions_are_kept_and_reprinted_by_the_parser(
    expression: str, rendered: str
) -> None:
    assert check_expression(expression) == rendered


def test_quoted_identifiers_double_embedded_quotes() -> None:
    assert quote_identifier('x"; drop table t; --') == '"x""; drop table t; --"'
    with duckdb.connect() as connection:
        name = 'x"; drop table t; --'
        connection.execute(f"create table t as select 1 as {quote_identifier(name)}")
        assert connection.execute("select * from t").fetchall() == [(1,)]


@pytest.mark.parametrize(
    "spec", ["../../etc/passwd", "/etc/passwd", "~/.ssh/id_rsa", "data/../../../../etc/hosts"]
)
def test_paths_outside_home_and_data_folders_are_refused(roots: list[Path], spec: str) -> None:
    with pytest.raises(UnsafePathError, match="outside the folders Baton may read"):
        resolve_inside(roots[0], spec, roots)


def test_paths_that_climb_but_land_in_a_data_folder_are_allowed(roots: list[Path]) -> None:
    home, data = roots
    (data / "orders.csv").write_text("a\n1\n")
    assert resolve_inside(home, "../data/orders.csv", roots) == data / "orders.csv"


def test_symlinks_escaping_the_data_folder_are_refused(roots: list[Path], tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    (roots[1] / "innocent.csv").symlink_to(secret)
    with pytest.raises(UnsafePathError):
        resolve_inside(roots[1], "innocent.csv", roots)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../.bashrc.csv", "bashrc.csv"),
        ("..\\..\\Windows\\evil.parquet", "evil.parquet"),
        ("/etc/cron.d/job.csv", "job.csv"),
        ("orders; rm -rf ~.CSV", "orders_rm_-rf.csv"),
        ("=HYPERLINK(1).csv", "HYPERLINK_1.csv"),
        ("...csv", "upload.csv"),
    ],
)
def test_upload_names_lose_folders_and_odd_characters(name: str, safe: str) -> None:
    assert sanitize_upload_name(name) == safe


@pytest.mark.parametrize("name", ["payload.sh", "data.csv.exe", "noextension", "x.duckdb"])
def test_uploads_other_than_text_or_parquet_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        sanitize_upload_name(name)


def test_locked_connection_cannot_read_outside_its_folders(
    roots: list[Path], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    inside = roots[1] / "inside.csv"
    inside.write_text("a\n2\n")
    with duckdb.connect() as connection:
        lock_down(connection, roots)
        assert connection.execute("select * from read_csv(?)", [str(inside)]).fetchall() == [(2,)]
        with pytest.raises(duckdb.PermissionException):
            connection.execute("select * from read_csv(?)", [str(outside)])
        with pytest.raises(duckdb.Error):
            connection.execute("set enable_external_access = true")


def _mapping(folder: Path, **overrides: object) -> Path:
    spec = {
        "name": "hostile",
        "vars": {"churn_definition": "non_contractual"},
        "sources": {"people": "people.csv"},
        "tables": {
            "accounts": {
                "from": "people",
                "columns": {
                    "account_id": '"id""; drop table accounts; --"',
                    "account_name": "name",
                    "signup_date": "since",
                },
            },
            "usage_daily": {
                "from": "people",
                "columns": {
                    "account_id": '"id""; drop table accounts; --"',
                    "usage_date": "since",
                    "active_users": 1,
                    "events": 1,
                },
            },
        },
        **overrides,
    }
    path = folder / "mapping.yml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def hostile_folder(roots: list[Path]) -> Path:
    """A data folder with a CSV whose column names and cells are hostile."""
    data = roots[1]
    (data / "people.csv").write_text(
        '"id""; drop table accounts; --",name,since\n'
        '1,"=HYPERLINK(""http://evil"",""x"")",2024-01-01\n'
        "2,'; drop table accounts; --,2024-01-02\n"
        "3,+cmd|' /C calc'!A0,2024-01-03\n"
    )
    return data


def test_quotes_and_sql_in_column_names_and_cells_are_data(
    roots: list[Path], hostile_folder: Path
) -> None:
    settings = Settings(home=roots[0], data_dirs=(roots[1],))
    counts = import_mapping(read_mapping(_mapping(hostile_folder), settings), settings)
    assert counts["accounts"] == 3
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        rows = connection.execute("select account_name from accounts order by 1").fetchall()
        names = [r[0] for r in rows]
        tables = {r[0] for r in connection.execute("show tables").fetchall()}
    assert names == [
        "'; drop table accounts; --",
        "+cmd|' /C calc'!A0",
        '=HYPERLINK("http://evil","x")',
    ]
    assert {"accounts", "usage_daily"} <= tables


def test_mapping_with_traversal_and_statements_reports_each_and_reads_nothing(
    roots: list[Path], hostile_folder: Path
) -> None:
    settings = Settings(home=roots[0], data_dirs=(roots[1],))
    path = _mapping(
        hostile_folder,
        sources={"people": "people.csv", "secrets": "../../../../etc/passwd"},
    )
    spec = yaml.safe_load(path.read_text())
    spec["tables"]["accounts"]["where"] = "1 = 1; drop table accounts"
    spec["tables"]["usage_daily"]["columns"]["events"] = "(select count(*) from read_csv('x'))"
    path.write_text(yaml.safe_dump(spec))
    problems = validate_mapping(read_mapping(path, settings), settings)
    found = {(p.table, p.column, p.rule) for p in problems}
    assert {
        ("mapping", "sources.secrets", "unsafe path"),
        ("accounts", "where", "unsafe expression"),
        ("usage_daily", "events", "unsafe expression"),
    } <= found
    assert not settings.raw_path.exists()


def test_dbt_vars_that_would_reach_sql_must_be_plain(
    roots: list[Path], hostile_folder: Path
) -> None:
    settings = Settings(home=roots[0], data_dirs=(roots[1],))
    path = _mapping(
        hostile_folder,
        vars={
            "churn_definition": "non_contractual'; drop table x; --",
            "horizon_days": "30 or 1=1",
            "as_of": "2024-01-01' or '1'='1",
            "note": "a'b",
        },
    )
    found = {(p.column, p.rule) for p in read_mapping(path, settings).problems}
    assert {
        ("vars.churn_definition", "invalid setting"),
        ("vars.horizon_days", "invalid setting"),
        ("vars.as_of", "invalid setting"),
        ("vars.note", "invalid setting"),
    } <= found
