"""The Data page: upload, map with dropdowns, validate (problems as a table), import."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import xlsxwriter
from streamlit.testing.v1 import AppTest

from pipeline.ingest.mapping import read_mapping
from pipeline.settings import Settings
from tests.unit.test_joins import FILES

DATA_PAGE = "app_pages/data.py"
CSV = (
    "customerID,Churn,Contract,MonthlyCharges,tenure\n"
    "c-1,Yes,Month-to-month,70.5,2\n"
    "c-2,No,Two year,20.0,60\n"
    "c-3,No,One year,55.25,24\n"
)


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    app.file_uploader[0].set_value((name, content, "text/csv"))
    return app.run()


def assert_imports_the_customers(app: AppTest, home: Path) -> None:
    """Name the dataset, import, and find CSV's three customers in the raw data."""
    app.text_input(key="dataset-name").input("Acme CRM").run()
    app.button[1].click().run()  # Import
    assert not app.exception, app.exception
    assert "Imported (customer_exports: 3)" in app.success[0].value
    with duckdb.connect(str(home / "raw.duckdb"), read_only=True) as connection:
        rows = connection.execute("select account_id, mrr from customer_exports order by 1")
        assert rows.fetchall() == [("c-1", 70.5), ("c-2", 20.0), ("c-3", 55.25)]


def test_data_page_asks_for_a_file_first(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    app = open_page(DATA_PAGE)
    assert not app.exception
    start = (
        "Upload a text (CSV, TSV, TXT, DAT), spreadsheet (XLSX, XLS, ODS), JSON (one object per "
        "line, or an array) or Parquet file to start."
    )
    assert start in [i.value for i in app.info]


def test_uploads_are_stored_under_a_safe_name_inside_the_home(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    app = upload(open_page(DATA_PAGE), "../../evil name;rm.csv", CSV.encode())
    assert not app.exception
    assert [p.name for p in (empty_home / "uploads").iterdir()] == ["evil_name_rm.csv"]
    assert not (empty_home.parent / "evil name;rm.csv").exists()
    assert app.selectbox(key="flat-file").value.name == "evil_name_rm.csv"


def test_validate_shows_every_problem_as_a_table_and_imports_nothing(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    bad = CSV + "c-2,maybe,Two year,-3,5\n"
    app = upload(open_page(DATA_PAGE), "customers.csv", bad.encode())
    app.button[0].click().run()  # Validate
    assert not app.exception
    assert "3 problem(s) found" in app.error[0].value
    table = app.table[-1].value
    assert set(zip(table["column"], table["rule"], strict=True)) == {
        ("account_id, exported_on", "duplicate key"),
        ("mrr", "negative value"),
        ("churned", "wrong type"),
    }
    assert not (empty_home / "raw.duckdb").exists()


def test_import_saves_the_mapping_and_loads_the_file_with_dropdowns_and_an_expression(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    app = upload(open_page(DATA_PAGE), "customers.csv", CSV.encode())
    # The dropdowns guessed the id, flag and revenue columns; revenue becomes an expression.
    assert app.selectbox(key="flat-account_id").value == "customerID"
    assert app.selectbox(key="flat-churned").value == "Churn"
    app.selectbox(key="flat-mrr").set_value("(expression)").run()
    app.text_input(key="flat-mrr-expression").input("MonthlyCharges * 1.0").run()
    app.text_input(key="dataset-name").input("Acme CRM").run()
    app.button[1].click().run()  # Import
    assert not app.exception, app.exception
    assert "Imported (customer_exports: 3)" in app.success[0].value
    saved = empty_home / "mappings" / "acme_crm.yml"
    mapping = read_mapping(saved, Settings(home=empty_home))
    assert mapping.problems == []
    assert mapping.tables["customer_exports"].columns["mrr"] == "(MonthlyCharges * 1.0)"
    assert [f.name for f in mapping.features] == ["contract", "monthly_charges", "tenure"]
    dataset = json.loads((empty_home / "dataset.json").read_text())
    assert dataset["name"] == "Acme CRM" and dataset["vars"]["dataset_kind"] == "flat"
    with duckdb.connect(str(empty_home / "raw.duckdb"), read_only=True) as connection:
        rows = connection.execute("select account_id, mrr from customer_exports order by 1")
        assert rows.fetchall() == [("c-1", 70.5), ("c-2", 20.0), ("c-3", 55.25)]


def test_a_spreadsheet_upload_is_previewed_and_imported_like_its_csv(
    empty_home: Path, open_page: Callable[[str], AppTest], tmp_path: Path
) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "customers.xlsx"))
    sheet = book.add_worksheet("Customers")
    for r, line in enumerate(CSV.splitlines()):
        for c, cell in enumerate(line.split(",")):
            number = cell.replace(".", "", 1).isdigit()
            sheet.write(r, c, float(cell) if number and r else cell)
    book.close()
    app = upload(open_page(DATA_PAGE), "customers.xlsx", (tmp_path / "customers.xlsx").read_bytes())
    assert not app.exception
    assert app.selectbox(key="flat-account_id").value == "customerID"
    assert_imports_the_customers(app, empty_home)


def test_events_mode_offers_a_file_and_dropdowns_per_contract_table(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    app = upload(open_page(DATA_PAGE), "orders.csv", b"customer,day,amount\n1,2024-01-02,3.5\n")
    app.radio(key="kind").set_value("events").run()
    assert not app.exception
    assert app.selectbox(key="accounts-file").value.name == "orders.csv"
    assert app.selectbox(key="accounts-account_id").value == "customer"
    # Each table says when it is needed: activity defines non-contractual churn, the
    # subscriptions' cancellations contractual churn; either may be left out otherwise.
    needs = {label.split(":")[0] for label in (e.label for e in app.expander)}
    assert {
        "accounts (required)",
        "subscriptions (required for contractual churn)",
        "usage_daily (required for non-contractual churn)",
        "payments",
    } <= needs, needs
    # No file column is named like a signup day: the required dropdown waits for a choice
    # instead of silently taking the first column.
    assert app.selectbox(key="accounts-signup_date").value is None
    app.button[0].click().run()  # Validate: signup_date is required but has no column
    assert not app.exception
    assert "problem(s) found" in app.error[0].value
    # The business's noun for one event goes into the mapping's labels.
    app.text_input(key="event-noun").input("order").run()
    assert not app.exception
    assert "labels:\n  event: order" in app.code[-1].value


def test_compressed_json_and_zip_uploads_are_previewed_and_imported_like_the_csv(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    # The same customers as a gzip CSV and as JSON Lines (a tracker's or an API's export).
    header, *lines = CSV.splitlines()
    keys = header.split(",")
    objects = [dict(zip(keys, line.split(","), strict=True)) for line in lines]
    jsonl = "".join(json.dumps(o) + "\n" for o in objects).encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as download:  # a portal's download: the CSV in a zip
        download.writestr("export/crm export.csv", CSV)
    # Uploaded as, content, stored as (a zip is unpacked into the files it holds).
    uploads = [
        ("customers.csv.gz", gzip.compress(CSV.encode()), "customers.csv.gz"),
        ("crm.jsonl", jsonl, "crm.jsonl"),
        ("download.zip", archive.getvalue(), "crm_export.csv"),
    ]
    for name, content, stored in uploads:
        app = upload(open_page(DATA_PAGE), name, content)
        assert not app.exception, app.exception
        assert f"Stored as {stored}." in [c.value for c in app.caption]
        chooser = app.selectbox(key="flat-file")
        chooser.select_index(chooser.options.index(stored)).run()
        assert app.selectbox(key="flat-file").value.name == stored
        assert app.selectbox(key="flat-account_id").value == "customerID"
        assert_imports_the_customers(app, empty_home)


def test_a_table_takes_its_customer_from_other_files_through_a_chain_of_joins(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    # A marketplace's export (tests/unit/test_joins.py): payments name only their order, each
    # order its own customer id, and the customers file the person behind it.
    app = open_page(DATA_PAGE)
    for name, content in FILES.items():
        app = upload(app, name, content.encode())
    app.radio(key="kind").set_value("events").run()
    choose = {
        "accounts-file": "orders.csv",
        "accounts-join-0": "customers.csv",
        "payments-file": "payments.csv",
        "payments-join-0": "orders.csv",
        "payments-join-1": "customers.csv",
    }
    for key, file_name in choose.items():
        app.selectbox(key=key).set_value(file_name).run()
        assert not app.exception, (key, app.exception)
    # The keys are guessed from the columns both sides share, ids first.
    assert app.multiselect(key="payments-join-0-on").value == ["order_id"]
    assert app.multiselect(key="payments-join-1-on").value == ["customer_id"]
    for column, chosen in {
        "account_id": "person",
        "attempted_at": "bought_at",
        "amount": "value",
    }.items():
        app.selectbox(key=f"payments-{column}").set_value(chosen).run()
    for column, expression in {"payment_id": "order_id || '-' || part", "status": "'paid'"}.items():
        app.selectbox(key=f"payments-{column}").set_value("(expression)").run()
        app.text_input(key=f"payments-{column}-expression").input(expression).run()
    mapping = app.code[-1].value
    chain = "join:\n      orders:\n      - order_id\n      customers:\n      - customer_id"
    assert chain in mapping and "join:\n      customers:\n      - customer_id" in mapping, mapping
    app.button[0].click().run()  # Validate: other tables still miss columns, payments do not
    assert not app.exception
    problems = app.table[-1].value
    assert "payments" not in set(problems["table"]), problems


def test_dates_the_import_cannot_read_alone_are_asked_for_and_saved_with_the_source(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    # A German CRM export: months named in German with a two-digit year, which no format
    # reads unasked and strptime in a mapping expression cannot read at all.
    lines = CSV.splitlines()
    german = ["1. März 11", "2. April 11", "3. Mai 11"]
    rows = [f'{line},"{day}"' for line, day in zip(lines[1:], german, strict=True)]
    body = "\n".join([f"{lines[0]},Stand", *rows])
    app = upload(open_page(DATA_PAGE), "kunden.csv", (body + "\n").encode())
    assert not app.exception
    app.selectbox(key="flat-exported_on").set_value("Stand").run()
    asked = app.text_input(key="flat-dates-Stand")
    assert asked.value == "" and asked.label == "How Stand is written"
    app.button[0].click().run()  # Validate: the dates are not read yet, and the page says why
    hints = " ".join(app.table[-1].value["what to do"])
    assert "German" in hints and "dates:" in hints
    app.text_input(key="flat-dates-Stand").input("%d. %b %y").run()
    app.text_input(key="dataset-name").input("Kunden").run()
    app.button[1].click().run()  # Import
    assert not app.exception, app.exception
    assert "Imported (customer_exports: 3)" in app.success[0].value
    saved = read_mapping(empty_home / "mappings" / "kunden.yml", Settings(home=empty_home))
    assert saved.sources["customers"].dates == (("Stand", "%d. %b %y"),)
    with duckdb.connect(str(empty_home / "raw.duckdb"), read_only=True) as connection:
        rows = connection.execute("select exported_on::varchar from customer_exports order by 1")
        assert rows.fetchall() == [("2011-03-01",), ("2011-04-02",), ("2011-05-03",)]


def test_monthly_exports_are_one_source_whose_rows_are_stacked(
    empty_home: Path, open_page: Callable[[str], AppTest]
) -> None:
    months = {
        "orders_2024-01.csv": "customer,day,amount\n1,2024-01-02,3.5\n2,2024-01-09,4.0\n",
        "orders_2024-02.csv": "customer,day,amount\n1,2024-02-03,2.5\n",
    }
    app = open_page(DATA_PAGE)
    for name, content in months.items():
        app = upload(app, name, content.encode())
    app.radio(key="kind").set_value("events").run()
    for table in ("accounts", "usage_daily"):
        app.selectbox(key=f"{table}-file").set_value("orders_2024-01.csv").run()
        app.multiselect(key=f"{table}-more").set_value(["orders_2024-02.csv"]).run()
        assert not app.exception, app.exception
    app.selectbox(key="accounts-signup_date").set_value("(expression)").run()
    app.text_input(key="accounts-signup_date-expression").input("min(day)").run()
    app.text_input(key="accounts-group").input("customer").run()
    app.selectbox(key="usage_daily-usage_date").set_value("day").run()
    app.selectbox(key="usage_daily-events").set_value("(expression)").run()
    app.text_input(key="usage_daily-events-expression").input("1").run()
    app.radio(key="churn-definition").set_value("non_contractual").run()
    app.text_input(key="dataset-name").input("Shop").run()
    app.button[1].click().run()  # Import
    assert not app.exception, app.exception
    assert app.success, [t.value.to_dict("records") for t in app.table]
    assert "usage_daily: 3" in app.success[0].value
    saved = read_mapping(empty_home / "mappings" / "shop.yml", Settings(home=empty_home))
    source = saved.sources["orders_2024_01"]
    assert [part.path.name for part in source.parts()] == list(months)
