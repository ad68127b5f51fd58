"""Every data-quality check of this build, fired or not (rules in monitoring/quality.py).

Only source-level monitors feed it, never predictions, so the model promotion
(ml_model_in_service) can read it without a cycle in the DAG.
"""

import pyarrow as pa

from ml import relations
from monitoring.quality import quality_checks

SCHEMA = pa.schema(
    [
        ("check_name", pa.string()),
        ("source_table", pa.string()),
        ("column_name", pa.string()),
        ("value", pa.float64()),
        ("threshold", pa.float64()),
        ("fired", pa.bool_()),
        ("first_seen", pa.date32()),
        ("message", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    freshness = relations.to_pandas(dbt.ref("monitor_source_freshness"))
    volume = relations.to_pandas(dbt.ref("monitor_source_volume"))
    columns = relations.to_pandas(dbt.ref("monitor_column_quality"))
    schema = relations.to_pandas(dbt.ref("monitor_schema_changes"))
    checks = quality_checks(freshness, volume, columns, schema)
    return relations.result(
        pa.Table.from_pandas(checks, schema=SCHEMA, preserve_index=False), session
    )
