"""The at-risk CSV: spreadsheet formulas neutralized, numbers kept numeric, dated file name."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date

import pandas as pd
import pytest

from pipeline.read.export import export_columns, file_name, neutralize, to_csv_bytes
from pipeline.read.export import export_frame as export_with_words
from pipeline.read.words import ATTRIBUTES, DatasetWords, from_profile, present_names

WORDS = DatasetWords()  # a contractual book in USD, attributes named as in the contract


def export_frame(rows: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    return export_with_words(rows, WORDS, ATTRIBUTES, top=top)


HEADER = [
    "customer_id",
    "customer_name",
    "segment",
    "plan",
    "region",
    "monthly_revenue_usd",
    "risk_pct",
    "movement",
    "risk_change_pts",
    "expected_revenue_loss_usd",
    "reason_1",
    "reason_2",
    "reason_3",
    "snapshot_date",
    "model_version",
]
DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def at_risk_rows(names: list[str], text_dtype: str = "object") -> pd.DataFrame:
    """Rows shaped like at_risk_customers, riskiest first."""
    n = len(names)
    text = lambda values: pd.Series(values, dtype=text_dtype)  # noqa: E731
    return pd.DataFrame(
        {
            "risk_rank": range(1, n + 1),
            "customer_id": text([f"A{i:06d}" for i in range(n)]),
            "customer_name": text(names),
            "segment": text(["SMB"] * n),
            "region": text(["EMEA"] * n),
            "plan": text(["-pro"] + ["growth"] * (n - 1)),
            "customer_value": [1234.567] + [-50.0] + [10.0] * (n - 2),
            "churn_probability": [0.98765] + [0.5] * (n - 1),
            "expected_loss": [1219.32, -25.0] + [5.0] * (n - 2),
            "reason_1": text(["=1+2"] + ["Days since last activity: 40"] * (n - 1)),
            "reason_2": text([None] * n),
            "reason_3": text(["@here"] * n),
            "snapshot_date": pd.to_datetime(["2026-10-01"] * n),
            "model_version": text(["20261001-000000-abcdef12"] * n),
        }
    )


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("value", DANGEROUS)
def test_text_starting_like_a_formula_is_prefixed_with_a_quote(value: str) -> None:
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme", "1+1", "a=b", "", "'=already"])
def test_ordinary_text_is_left_alone(value: str) -> None:
    assert neutralize(value) == value


@pytest.mark.parametrize("value", [-5, -0.5, 3.25, None])
def test_numbers_and_missing_values_are_left_alone(value: object) -> None:
    assert neutralize(value) == value


@pytest.mark.parametrize("text_dtype", ["object", "str"])
def test_export_frame_neutralizes_every_text_column(text_dtype: str) -> None:
    frame = export_frame(at_risk_rows(DANGEROUS, text_dtype))
    assert frame["customer_name"].tolist() == ["'" + value for value in DANGEROUS]
    assert set(frame["plan"]) == {"'-pro", "growth"}
    assert frame.loc[0, "reason_1"] == "'=1+2"
    assert set(frame["reason_3"]) == {"'@here"}


@pytest.mark.parametrize("text_dtype", ["object", "str"])
def test_exported_csv_has_no_cell_a_spreadsheet_would_run(text_dtype: str) -> None:
    names = [value for value in DANGEROUS if "\r" not in value]
    rows = read_csv(to_csv_bytes(export_frame(at_risk_rows(names, text_dtype))))
    assert rows[0] == HEADER
    assert len(rows) == 1 + len(names)
    assert [row[1] for row in rows[1:]] == ["'" + value for value in names]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), row


def test_a_name_starting_with_carriage_return_stays_one_cell() -> None:
    rows = read_csv(to_csv_bytes(export_frame(at_risk_rows(["\rcmd", "ok"]))))
    assert len(rows) == 3
    assert rows[1][1] == "'\rcmd"


def test_an_embedded_carriage_return_cannot_start_a_formula_cell() -> None:
    rows = read_csv(to_csv_bytes(export_frame(at_risk_rows(["Acme\r=HYPERLINK(1)", "ok"]))))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith("=") for cell in cells)


def test_exported_numbers_stay_numeric_even_when_negative() -> None:
    frame = export_frame(at_risk_rows(["a", "b", "c"]))
    for column in ("monthly_revenue_usd", "risk_pct", "expected_revenue_loss_usd"):
        assert pd.api.types.is_numeric_dtype(frame[column]), column
    body = read_csv(to_csv_bytes(frame))[1:]
    assert body[1][HEADER.index("monthly_revenue_usd")] == "-50.0"  # not "'-50.0"
    assert body[1][HEADER.index("expected_revenue_loss_usd")] == "-25.0"


def test_export_converts_risk_to_percent_and_rounds_money_to_cents() -> None:
    frame = export_frame(at_risk_rows(["a", "b"]))
    assert frame.loc[0, "risk_pct"] == pytest.approx(98.8)
    assert frame.loc[0, "monthly_revenue_usd"] == pytest.approx(1234.57)
    assert frame.loc[0, "snapshot_date"] == "2026-10-01"
    assert pd.isna(frame.loc[0, "reason_2"])


def test_export_keeps_order_and_top_k_rows_with_the_documented_header() -> None:
    frame = export_frame(at_risk_rows([f"n{i}" for i in range(8)]), top=3)
    assert list(frame.columns) == HEADER == list(export_columns(WORDS, ATTRIBUTES))
    assert frame["customer_id"].tolist() == ["A000000", "A000001", "A000002"]
    data = to_csv_bytes(frame)
    assert data.count(b"\r\n") == 1 + 3  # RFC 4180 line ends: header and three rows
    assert len(read_csv(data)) == 1 + 3


def test_data_without_amounts_exports_no_value_loss_or_currency_column() -> None:
    words = from_profile(None, has_value=False)
    frame = export_with_words(at_risk_rows(["a", "b"]), words, ATTRIBUTES)
    money = {"monthly_revenue_usd", "expected_revenue_loss_usd"}
    assert list(frame.columns) == [column for column in HEADER if column not in money]
    assert frame.loc[0, "risk_pct"] == pytest.approx(98.8)


def test_a_list_whose_names_only_repeat_the_ids_exports_no_name_column() -> None:
    rows = at_risk_rows(["a", "b"])
    assert present_names(rows)
    unnamed = rows.assign(customer_name=rows["customer_id"])
    assert not present_names(unnamed)
    frame = export_with_words(unnamed, WORDS, ATTRIBUTES, named=present_names(unnamed))
    assert list(frame.columns) == [column for column in HEADER if column != "customer_name"]


def test_export_carries_each_customers_movement_and_risk_change_in_points() -> None:
    rows = at_risk_rows(["a", "b", "c"]).assign(
        movement=["new", "rising", "falling"], change_pts=[float("nan"), 7.5, -12.0]
    )
    body = read_csv(to_csv_bytes(export_frame(rows)))[1:]
    moves = [(row[HEADER.index("movement")], row[HEADER.index("risk_change_pts")]) for row in body]
    assert moves == [("new", ""), ("rising", "7.5"), ("falling", "-12.0")]


def test_export_leaves_movement_blank_when_the_rows_carry_none() -> None:
    frame = export_frame(at_risk_rows(["a", "b"]))
    assert frame["movement"].tolist() == ["", ""]
    assert frame["risk_change_pts"].isna().all()


@pytest.mark.parametrize(
    "snapshot", [date(2026, 10, 1), "2026-10-01", pd.Timestamp("2026-10-01 00:00")]
)
def test_file_name_carries_the_iso_snapshot_date(snapshot: object) -> None:
    assert file_name(snapshot) == "baton-at-risk-2026-10-01.csv"  # type: ignore[arg-type]


def test_csv_starts_with_a_byte_order_mark_so_spreadsheets_read_accents_right() -> None:
    data = to_csv_bytes(export_frame(at_risk_rows(["Zoë Müller", "Łukasz"])))
    assert data.startswith(codecs.BOM_UTF8)
    assert [row[HEADER.index("customer_name")] for row in read_csv(data)[1:]] == [
        "Zoë Müller",
        "Łukasz",
    ]
