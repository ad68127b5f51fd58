"""SHAP contributions (log-odds) of every feature for the customers who need reasons.

Explained: everyone on a book of up to 10,000 customers; on a larger one, the riskiest and
largest expected losses at capacity (overall and per segment, plan and region) and a random
sample that global importance averages over (ml.explain).
"""

import numpy as np
import pyarrow as pa

from ml import relations
from ml.config import load_settings
from ml.explain import contributions, long_contributions, rows_to_explain
from ml.frame import CUSTOMER, SNAPSHOT
from ml.registry import from_record

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("feature", pa.string()),
        ("feature_value", pa.string()),
        ("contribution", pa.float64()),
        ("base_value", pa.float64()),
        ("importance_sample", pa.bool_()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    registry = relations.to_pandas(dbt.ref("ml_model_in_service"))
    fitted = from_record(registry.iloc[0].to_dict())
    options = relations.to_pandas(dbt.ref("ml_config"))
    predictions = relations.to_pandas(dbt.ref("ml_predictions"))
    snapshots = dbt.ref("ml_features")
    # Only the newest snapshot is scored: filtered on the engine, not after loading every month.
    latest = relations.newest_rows(snapshots, SNAPSHOT, stable_by=CUSTOMER)
    scored = latest[[CUSTOMER]].merge(
        predictions[[CUSTOMER, "churn_probability", "risk_rank"]], on=CUSTOMER, how="left"
    )
    explain, sample = rows_to_explain(
        latest,
        scored["churn_probability"].to_numpy(dtype=float),
        scored["risk_rank"].to_numpy(dtype=np.int64),
        capacity_k=load_settings(options).capacity_k,
        seed=fitted.config.seed,
    )
    chosen = latest[explain]
    values, base_value = contributions(fitted, chosen)
    explained = long_contributions(fitted, chosen, values)
    explained["base_value"] = base_value
    explained["importance_sample"] = np.repeat(sample[explain], len(fitted.config.features))
    return relations.result(
        pa.Table.from_pandas(explained, schema=SCHEMA, preserve_index=False), session
    )
