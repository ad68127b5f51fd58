"""SHAP contributions (log-odds) of every feature for every scored customer."""

import pyarrow as pa

from ml.explain import contributions, long_contributions
from ml.frame import SNAPSHOT
from ml.registry import from_record

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("feature", pa.string()),
        ("feature_value", pa.string()),
        ("contribution", pa.float64()),
        ("base_value", pa.float64()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    registry = dbt.ref("ml_model_in_service").df()
    fitted = from_record(registry.iloc[0].to_dict())
    snapshots = dbt.ref("customer_snapshots")
    newest = snapshots.aggregate(f"max({SNAPSHOT})").fetchall()[0][0]
    # Only the newest snapshot is scored: filter in DuckDB, not after loading every month.
    latest = snapshots.filter(f"{SNAPSHOT} = DATE '{newest.isoformat()}'").df()
    values, base_value = contributions(fitted, latest)
    explained = long_contributions(fitted, latest, values)
    explained["base_value"] = base_value
    return pa.Table.from_pandas(explained, schema=SCHEMA, preserve_index=False)
