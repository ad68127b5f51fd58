"""Score every customer of the newest snapshot with the registered model."""

import numpy as np
import pyarrow as pa

from ml.frame import SNAPSHOT
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
    registry = dbt.ref("ml_model_in_service").df()
    record = registry.iloc[0].to_dict()
    fitted = from_record(record)
    snapshots = dbt.ref("ml_features")
    newest = snapshots.aggregate(f"max({SNAPSHOT})").fetchall()[0][0]
    # Only the newest snapshot is scored: filter in DuckDB, not after loading every month.
    latest = snapshots.filter(f"{SNAPSHOT} = DATE '{newest.isoformat()}'").df()
    raw = fitted.raw_probability(latest)
    probability = fitted.calibrator.transform(raw)
    # Rank by calibrated probability, ties broken by the finer-grained raw score.
    order = np.lexsort((-raw, -probability))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return pa.table(
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
