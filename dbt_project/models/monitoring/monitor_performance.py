"""Churn rate and accuracy per snapshot month: realized once matured, estimated before."""

import pyarrow as pa

from ml import relations
from ml.config import load_settings
from ml.drift import expected_performance
from monitoring.performance import performance_table
from monitoring.windows import windows_from_config

SCHEMA = pa.schema(
    [
        ("snapshot_date", pa.date32()),
        ("time_window", pa.string()),
        ("kind", pa.string()),
        ("customers", pa.float64()),
        ("churn_rate", pa.float64()),
        ("roc_auc", pa.float64()),
        ("precision_at_k", pa.float64()),
        ("baseline_roc_auc", pa.float64()),
        ("model_lead", pa.float64()),
        ("reference_churn_rate", pa.float64()),
        ("churn_rate_high", pa.float64()),
        ("reference_roc_auc", pa.float64()),
        ("roc_auc_low", pa.float64()),
        ("reference_model_lead", pa.float64()),
        ("estimated_roc_auc", pa.float64()),
        ("roc_auc_band", pa.float64()),
        ("estimate_months", pa.int64()),
    ]
)


# Reads many rows into this process: one such model at a time (ml.relations).
@relations.one_at_a_time
def model(dbt, session):
    dbt.config(materialized="table")
    settings = relations.to_pandas(dbt.ref("monitor_config"))
    windows = windows_from_config(settings.iloc[0].to_dict())
    capacity_k = load_settings(relations.to_pandas(dbt.ref("ml_config"))).capacity_k
    metrics = relations.to_pandas(dbt.ref("ml_backtest_metrics"))
    snapshots = dbt.ref("customer_snapshots")
    outcomes = relations.aggregate(
        snapshots,
        ["snapshot_date"],
        {
            "customers": "count(*)",
            "churn_rate": "avg(cast(churned_within_horizon as double))",
        },
        where="is_matured",
    )
    scored = relations.to_pandas(dbt.ref("ml_predictions"))
    current = expected_performance(
        scored["churn_probability"].to_numpy(), scored["raw_probability"].to_numpy(), capacity_k
    )
    # What the estimate said in each backtest month, before that month's labels were known.
    track = metrics.loc[metrics["method"] == "xgboost", ["scoring_month", "estimated_roc_auc"]]
    table = performance_table(metrics, outcomes, current, windows, track)
    return relations.result(
        pa.Table.from_pandas(table, schema=SCHEMA, preserve_index=False), session
    )
