"""What a build tells dbt, computed in one place: the files it reads and writes, its limits,
and a small context database (this build's id, the serving build's raw schema).

Everything reaches dbt explicitly: paths and limits as the `baton` var (profiles.yml reads
it; constant for a home, so dbt's partial parsing is kept), per-build facts as tables of
BATON_HOME/build/context.duckdb (the `context` source), never through the environment.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline import dataset, warehouse
from pipeline.settings import Settings, build_max_spill, build_threads, duckdb_memory_limit

CONTEXT_TABLES = {
    "build": "build_id varchar, previous_build_id varchar, ml_cache_dir varchar",
    # pipeline/build/incremental.py: one row when the build keeps the serving build's months.
    "incremental": "changed_from date, previous_as_of date",
    "previous_raw_schema": "source_table varchar, column_name varchar, data_type varchar",
}


def paths(settings: Settings) -> dict[str, str]:
    """The `baton` var: every file and limit dbt's profile needs (dbt_project/profiles.yml)."""
    return {
        "warehouse": str(settings.build_warehouse_path),
        "raw": str(settings.raw_path),
        "registry": str(settings.registry_path),
        "history": str(settings.history_path),
        "context": str(settings.context_path),
        "temp_directory": str(settings.build_dir / "tmp"),
        "memory_limit": duckdb_memory_limit(),
        "max_spill": build_max_spill(),
        "threads": str(build_threads()),
        # Picks the profile's target: duckdb (local) or spark.
        "engine": settings.engine,
    }


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """Every var of a build: the dataset's own (model settings) and the `baton` paths."""
    return {**dataset.build_vars(settings), "baton": paths(settings)}


def write_context(settings: Settings, build_id: str) -> None:
    """Write context.duckdb for one build: its id, the serving build and that build's raw
    schema (what monitor_schema_changes compares with; empty before the first build)."""
    settings.context_path.unlink(missing_ok=True)
    serving = warehouse.current(settings)
    connection = duckdb.connect(str(settings.context_path))
    try:
        for table, columns in CONTEXT_TABLES.items():
            connection.execute(f"create table {table} ({columns})")
        connection.execute(
            "insert into build values (?, ?, ?)",
            [
                build_id,
                serving["build_id"] if serving else None,
                str(settings.ml_cache_dir) if settings.ml_cache_dir else None,
            ],
        )
        if serving is not None:
            connection.execute("attach ? as serving (read_only)", [serving["path"]])
            found = connection.execute(
                "select count(*) from duckdb_tables() "
                "where database_name = 'serving' and table_name = 'monitor_raw_schema'"
            ).fetchall()[0][0]
            if found:
                connection.execute(
                    "insert into previous_raw_schema select source_table, column_name, "
                    "data_type from serving.monitor_raw_schema"
                )
            connection.execute("detach serving")
    finally:
        connection.close()
