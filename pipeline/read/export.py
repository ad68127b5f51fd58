"""The at-risk CSV: the same bytes from the app's download button and from the CLI, with
headers in the dataset's words (pipeline.read.words) and no column the data lacks."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.read.plain_text import strip_controls
from pipeline.read.words import DatasetWords

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote,
    after removing bidirectional controls (which could also hide a leading `=`)."""
    value = strip_controls(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_columns(
    words: DatasetWords, attributes: tuple[str, ...], named: bool = True
) -> dict[str, str]:
    """Column in the export -> column of the at-risk list, in export order (no name where
    the data names no customer, no value or expected loss where it has no amounts)."""
    value = {words.value_column: "customer_value"} if words.has_value else {}
    loss = {words.loss_column: "expected_loss"} if words.has_value else {}
    return {
        "customer_id": "customer_id",
        **({"customer_name": "customer_name"} if named else {}),
        **{words.attribute_column(name): name for name in attributes},
        **value,
        "risk_pct": "churn_probability",
        "movement": "movement",
        "risk_change_pts": "change_pts",
        **loss,
        "reason_1": "reason_1",
        "reason_2": "reason_2",
        "reason_3": "reason_3",
        "snapshot_date": "snapshot_date",
        "model_version": "model_version",
    }


def export_frame(
    at_risk: pd.DataFrame,
    words: DatasetWords,
    attributes: tuple[str, ...],
    top: int | None = None,
    named: bool = True,
) -> pd.DataFrame:
    """The rows and order shown, in export columns: risk in %, money rounded to cents.

    `attributes` are the customer attributes to include (pipeline.read.words
    present_attributes of the whole list, so the header does not change with a filter), and
    `named` whether the list names its customers (pipeline.read.words present_names).
    Movement comes from `queries.movement` (the list with `movement` and `change_pts`);
    rows without it export blank movement cells rather than a guess.
    """
    rows = at_risk if top is None else at_risk.head(top)
    if "movement" not in rows:
        rows = rows.assign(movement="", change_pts=float("nan"))
    columns = export_columns(words, attributes, named)
    out = pd.DataFrame({name: rows[source] for name, source in columns.items()})
    out["risk_pct"] = (out["risk_pct"] * 100).round(1)
    if words.has_value:
        out[words.value_column] = out[words.value_column].round(2)
        out[words.loss_column] = out[words.loss_column].round(2)
    out["snapshot_date"] = pd.to_datetime(out["snapshot_date"]).dt.strftime("%Y-%m-%d")
    text = out.select_dtypes(include=["object", "string"]).columns
    out[text] = out[text].map(neutralize)
    return out.reset_index(drop=True)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel shows "Müller", not "MÃ¼ller"), RFC 4180
    line ends and a header; a cell holding CR or LF gets quoted. Python's csv and pandas read
    it with encoding="utf-8-sig"."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def file_name(snapshot_date: date | str) -> str:
    """`baton-at-risk-YYYY-MM-DD.csv` for the snapshot the list describes."""
    return f"baton-at-risk-{pd.Timestamp(snapshot_date):%Y-%m-%d}.csv"
