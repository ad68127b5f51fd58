"""Read queries the pages and the CLI use, against one published warehouse file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.warehouse import connect


def _frame(path: str | Path, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with connect(path) as connection:
        return connection.execute(sql, params or []).df()


def at_risk(path: str | Path) -> pd.DataFrame:
    """Every scored customer, highest risk first, with MRR, expected loss and top reasons."""
    return _frame(path, "select * from at_risk_customers order by risk_rank")


def backtest_metrics(path: str | Path) -> pd.DataFrame:
    """Walk-forward accuracy per scoring month and method."""
    return _frame(path, "select * from ml_backtest_metrics order by scoring_month, method")


def reliability(path: str | Path) -> pd.DataFrame:
    """Backtest calibration by 10-point risk band."""
    return _frame(path, "select * from ml_reliability order by risk_from_pct")


def feature_importance(path: str | Path) -> pd.DataFrame:
    """Mean |SHAP| per feature, with plain names, largest first."""
    return _frame(path, "select * from feature_importance order by mean_abs_shap desc")


def customer_explanation(path: str | Path, customer_id: str) -> pd.DataFrame:
    """One customer's SHAP contributions with plain names and values, largest effect first."""
    return _frame(
        path,
        """
        select feature, label, display_value, contribution, base_value
        from customer_explanations
        where customer_id = ?
        order by abs(contribution) desc
        """,
        [customer_id],
    )


def model_summary(path: str | Path) -> dict[str, Any]:
    """The model in service and the data it describes: version, training, as-of date."""
    with connect(path) as connection:
        row = connection.execute(
            """
            select
                registry.model_version,
                registry.trained_at,
                registry.n_train,
                registry.n_trees,
                json_extract_string(registry.calibrator, '$.method') as calibration,
                registry.candidate_version,
                registry.promoted,
                registry.decision_reason,
                (select as_of_date from int_data_as_of) as data_as_of,
                (select max(snapshot_date) from ml_predictions) as snapshot_date,
                (select capacity_k from ml_config) as capacity_k,
                (select horizon_days from ml_config) as horizon_days
            from ml_model_in_service as registry
            """
        ).fetchone()
        columns = [c[0] for c in connection.description or []]
    return dict(zip(columns, row, strict=True)) if row else {}


def movement(current: pd.DataFrame, previous: pd.DataFrame | None, k: int) -> pd.DataFrame:
    """The top k now, each marked new (not in the previous top k), rising, falling or steady."""
    top = current.head(k)[["customer_id", "customer_name", "mrr", "churn_probability"]].copy()
    if previous is None:
        top["movement"] = "first build"
        top["change_pts"] = float("nan")
        return top
    before = previous.set_index("customer_id")
    earlier_top = set(previous.head(k)["customer_id"])
    was = top["customer_id"].map(before["churn_probability"])
    top["change_pts"] = (top["churn_probability"] - was) * 100
    top["movement"] = "steady"
    top.loc[top["change_pts"] >= 5, "movement"] = "rising"
    top.loc[top["change_pts"] <= -5, "movement"] = "falling"
    top.loc[~top["customer_id"].isin(earlier_top), "movement"] = "new"
    return top
