"""Raw columns added, removed or retyped since the build in service (monitoring/quality.py)."""

import pyarrow as pa

from ml import relations
from monitoring.quality import compare_schemas

SCHEMA = pa.schema(
    [
        ("source_table", pa.string()),
        ("column_name", pa.string()),
        ("status", pa.string()),
        ("previous_type", pa.string()),
        ("current_type", pa.string()),
        ("previous_build_id", pa.string()),
    ]
)


def model(dbt, session):
    dbt.config(materialized="table")
    current = relations.to_pandas(dbt.ref("monitor_raw_schema"))
    build = relations.to_pandas(dbt.source("context", "build"))
    previous_build_id = build["previous_build_id"].iloc[0] if len(build) else None
    previous = relations.to_pandas(dbt.source("context", "previous_raw_schema"))
    if previous.empty:  # no build in service yet (or one without this monitor)
        previous, previous_build_id = None, None
    changes = compare_schemas(current, previous, previous_build_id)
    return relations.result(
        pa.Table.from_pandas(changes, schema=SCHEMA, preserve_index=False), session
    )
