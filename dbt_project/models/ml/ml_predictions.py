"""Score every customer of the newest snapshot with the registered model."""

import numpy as np
import pyarrow as pa

from ml import relations
from ml.frame import CUSTOMER, SNAPSHOT
from ml.registry import from_record

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("snapshot_date", pa.date32()),
        ("churn_probability", pa.float64()),
        ("raw_probability", pa.float64()),
        ("risk_rank", pa.int64()),
        ("model_version", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    registry = relations.to_pandas(dbt.ref("ml_model_in_service"))
    record = registry.iloc[0].to_dict()
    fitted = from_record(record)
    snapshots = dbt.ref("ml_features")
    # Only the newest snapshot is scored: filtered on the engine, not after loading every month.
    latest = relations.newest_rows(snapshots, SNAPSHOT, stable_by=CUSTOMER)
    raw = fitted.raw_probability(latest)
    probability = fitted.calibrator.transform(raw)
    # Rank by calibrated probability, ties broken by the finer-grained raw score.
    order = np.lexsort((-raw, -probability))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    table = pa.table(
        {
            "customer_id": latest["customer_id"].to_numpy(),
            "snapshot_date": latest[SNAPSHOT].to_numpy(),
            "churn_probability": probability,
            "raw_probability": raw,
            "risk_rank": rank,
            "model_version": [record["model_version"]] * len(latest),
        },
        schema=SCHEMA,
    )
    return relations.result(table, session)
