"""Drift of every model feature and of the scores: PSI, Jensen-Shannon and learned limits."""

import pyarrow as pa

from ml.drift import drift_table
from ml.triage import DRIFT_FACTOR, JS_FLOOR, PSI_FLOOR

SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("kind", pa.string()),
        ("psi", pa.float64()),
        ("js_distance", pa.float64()),
        ("psi_limit", pa.float64()),
        ("js_limit", pa.float64()),
        ("severity", pa.float64()),
        ("drifted", pa.bool_()),
        ("n_reference", pa.int64()),
        ("n_current", pa.int64()),
        ("reference_periods", pa.int64()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    profiles = dbt.ref("monitor_feature_profiles").df()
    drift = drift_table(profiles, factor=DRIFT_FACTOR, psi_floor=PSI_FLOOR, js_floor=JS_FLOOR)
    return pa.Table.from_pandas(drift, schema=SCHEMA, preserve_index=False)
