"""Accuracy per backtest month and method: ROC AUC, precision/recall at k, lift, Brier,
and the model settings the walk-forward chose for each month (one group of predictions at a
time: on Spark, each in one task)."""

from functools import partial

import pyarrow as pa

from ml import relations
from ml.backtest import group_metrics
from ml.config import load_settings

METRICS = [
    "n_train",
    "n_customers",
    "n_churned",
    "churn_rate",
    "roc_auc",
    "pr_auc",
    "precision_at_k",
    "recall_at_k",
    "lift_top_decile",
    "value_captured_at_k",
    "brier",
    "estimated_roc_auc",
]
# Every column but the customer id: at 1,000,000 accounts that is 25 million strings.
READ = ["scoring_month", "method", "score", "probability", "churned", "value"]
READ += ["n_train", "settings", "held_out"]
SCHEMA = pa.schema(
    [
        ("scoring_month", pa.date32()),
        ("method", pa.string()),
        ("settings", pa.string()),
        ("held_out", pa.bool_()),
        ("capacity_k", pa.int64()),
    ]
    + [(name, pa.float64()) for name in METRICS]
)


def model(dbt, session):
    dbt.config(materialized="table")
    capacity_k = load_settings(relations.to_pandas(dbt.ref("ml_config"))).capacity_k
    predictions = relations.select(dbt.ref("ml_backtest_predictions"), READ)
    metrics = relations.map_groups(
        predictions, ["scoring_month", "method"], partial(group_metrics, capacity_k), SCHEMA
    )
    return relations.result(metrics, session, SCHEMA)
