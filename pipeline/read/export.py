"""The at-risk CSV: the same bytes from the app's download button and from the CLI."""

from __future__ import annotations

from datetime import date

import pandas as pd

# Column in the export -> column of at_risk_customers.
EXPORT_COLUMNS = {
    "customer_id": "customer_id",
    "customer_name": "customer_name",
    "segment": "segment",
    "plan": "plan",
    "mrr_usd": "mrr",
    "risk_pct": "churn_probability",
    "movement": "movement",
    "risk_change_pts": "change_pts",
    "expected_mrr_loss_usd": "expected_mrr_loss",
    "reason_1": "reason_1",
    "reason_2": "reason_2",
    "reason_3": "reason_3",
    "snapshot_date": "snapshot_date",
    "model_version": "model_version",
}
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_frame(at_risk: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The rows and order shown, in export columns: risk in %, money rounded to cents.

    Movement comes from `queries.movement` (the list with `movement` and `change_pts`);
    rows without it export blank movement cells rather than a guess.
    """
    rows = at_risk if top is None else at_risk.head(top)
    if "movement" not in rows:
        rows = rows.assign(movement="", change_pts=float("nan"))
    out = pd.DataFrame({name: rows[source] for name, source in EXPORT_COLUMNS.items()})
    out["risk_pct"] = (out["risk_pct"] * 100).round(1)
    out["mrr_usd"] = out["mrr_usd"].round(2)
    out["expected_mrr_loss_usd"] = out["expected_mrr_loss_usd"].round(2)
    out["snapshot_date"] = pd.to_datetime(out["snapshot_date"]).dt.strftime("%Y-%m-%d")
    text = out.select_dtypes(include=["object", "string"]).columns
    out[text] = out[text].map(neutralize)
    return out.reset_index(drop=True)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (RFC 4180 line ends) with a header; a cell holding CR or LF gets quoted."""
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def file_name(snapshot_date: date | str) -> str:
    """`baton-at-risk-YYYY-MM-DD.csv` for the snapshot the list describes."""
    return f"baton-at-risk-{pd.Timestamp(snapshot_date):%Y-%m-%d}.csv"
