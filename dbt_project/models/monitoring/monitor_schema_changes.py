"""Raw columns added, removed or retyped since the previous published build."""

import duckdb
import pyarrow as pa

from ml.triage import compare_schemas
from pipeline import warehouse
from pipeline.settings import get_settings

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


def previous_schema():
    """The raw schema the build in service recorded, and its build id (None, None if none)."""
    pointer = warehouse.current(get_settings())
    if pointer is None:
        return None, None
    with duckdb.connect(pointer["path"], read_only=True) as connection:
        tables = connection.execute(
            "select count(*) from information_schema.tables where table_name = 'monitor_raw_schema'"
        ).fetchall()
        if not tables[0][0]:
            return None, None
        frame = connection.execute("select * from monitor_raw_schema").df()
    return frame, pointer["build_id"]


def model(dbt, session):
    dbt.config(materialized="table")
    current = dbt.ref("monitor_raw_schema").df()
    previous, build_id = previous_schema()
    changes = compare_schemas(current, previous, build_id)
    return pa.Table.from_pandas(changes, schema=SCHEMA, preserve_index=False)
