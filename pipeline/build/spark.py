"""A build on Apache Spark (BATON_ENGINE=spark): the local session, the inputs it reads, and
its tables published into the DuckDB file every reader already opens.

dbt-spark's `session` method sends SQL to `SparkSession.builder.getOrCreate()` in this
process, so the session started here, with Baton's settings, is the one dbt builds in; the
Python models run in it too (plugins/dbt-localspark). Its catalog lives in memory and its
tables under BATON_HOME/build/spark (wiped by every build): Spark is the build engine, and
the published DuckDB file stays the product, so the app, the CLI, run history and the
registry read the same thing whatever engine built it (docs/spark.md). An incremental build
starts from the snapshot months of the build in service: its per-snapshot tables, written
back from that DuckDB file as Parquet partitioned by month (`keep_tables`), become Spark
tables the models append the recomputed months to (`prepare`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from pipeline.build.dbt_runner import NodeResult
from pipeline.settings import Settings, spark_memory

# The dbt target schema on Spark (dbt_project/profiles.yml `spark` output).
SCHEMA = "baton"
# dbt sources read from Spark databases of the same names (models/staging/_raw__sources.yml).
SOURCE_DATABASES = ("raw", "context", "registry")
# The staging models are views over the raw data: counted, never copied into the DuckDB file.
SOURCE_LAYER = "source data"
# The column per-snapshot tables are partitioned by when kept for an incremental build.
SNAPSHOT = "snapshot_date"
# A view that only picks columns of one relation, as dbt-spark stores it (schema.table).
THIN_VIEW = re.compile(r"^select\s+(\*|[\w\s,]+?)\s+from\s+(?:`?\w+`?\.)?`?(\w+)`?$", re.I)


# The process's session and the BATON_HOME it was started for (its scratch folders are there).
_started: tuple[Path, Any] | None = None


class SparkUnavailableError(RuntimeError):
    """Spark cannot run here; the message says what to install."""


def unavailable_reason() -> str | None:
    """Why a Spark build cannot start on this machine (no pyspark, dbt-spark or Java), or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: run `make spark-setup` (requirements-spark.txt)."
    try:
        import dbt.adapters.localspark  # noqa: F401
    except ImportError:
        return "the localspark dbt adapter is not installed: run `make spark-setup`."
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is not installed: Spark needs a JRE 17 (e.g. openjdk-17-jre-headless)."
    return None


def session_config(settings: Settings) -> dict[str, str]:
    """The local session's settings: memory, scratch folders, and SQL that behaves like DuckDB's
    where the models rely on it (UTC dates, Parquet timestamps DuckDB reads)."""
    cores = os.cpu_count() or 1
    return {
        "spark.master": f"local[{cores}]",
        "spark.app.name": "baton",
        "spark.driver.memory": spark_memory(),
        # The catalog lives as long as the process; every build registers its inputs anew.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(settings.spark_dir / "warehouse"),
        "spark.local.dir": str(settings.spark_dir / "tmp"),
        "spark.sql.session.timeZone": "UTC",
        # Enough partitions to keep every core busy on one file of raw usage (DuckDB writes
        # one Parquet file per table); adaptive execution merges the small ones after shuffles.
        "spark.sql.files.maxPartitionBytes": "32m",
        "spark.sql.shuffle.partitions": str(max(16, 8 * cores)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Timestamps DuckDB reads as timestamps (Spark's default INT96 is legacy).
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.structuredLogging.enabled": "false",
        # Errors reach dbt as exceptions; the JVM's own log would repeat them on stderr.
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_log_config(settings)}",
    }


# Spark's log: warnings and errors of the JVM to a file in the build's scratch, not stderr.
LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = {path}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{ISO8601}} %p %c: %m%n
"""


def _log_config(settings: Settings) -> Path:
    """Write the log4j2 file the session's JVM reads (its log goes to spark_dir/spark.log)."""
    path = settings.spark_dir / "log4j2.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LOG4J2.format(path=settings.spark_dir / "spark.log"))
    return path


def session(settings: Settings) -> Any:
    """The process's Spark session for this home, started on first use.

    A session started for another BATON_HOME (a test, the app after a switch), or whose
    scratch folder a later build wiped (its shuffle files live there), is stopped and a new
    one started; the JVM stays, so the driver memory of the first start holds.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise SparkUnavailableError(f"BATON_ENGINE=spark, but {reason}")
    from pyspark.logger import PySparkLogger
    from pyspark.sql import SparkSession

    global _started
    started_here = settings.spark_dir / "tmp" / ".session"
    if _started is not None and (_started[0] != settings.home or not started_here.exists()):
        _started[1].stop()
    builder = SparkSession.builder
    for key, value in session_config(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    started_here.parent.mkdir(parents=True, exist_ok=True)
    started_here.touch()
    # Python workers (scoring and SHAP per partition) run this interpreter, which has ml/ and
    # its libraries; PySpark would start `python3` from PATH (or PYSPARK_PYTHON).
    spark.sparkContext.pythonExec = sys.executable
    _started = (settings.home, spark)
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        # PySpark logs every failed query as JSON on stderr; dbt reports the exception.
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    return spark


def prepare(settings: Settings) -> None:
    """Start the session and register this build's inputs: the raw tables, the build context
    and the model registry, each a Spark database of Parquet files exported from DuckDB."""
    (settings.spark_dir / "tmp").mkdir(parents=True, exist_ok=True)
    spark = session(settings)
    for database in (SCHEMA, *SOURCE_DATABASES):
        spark.sql(f"drop database if exists {database} cascade")
    spark.sql(f"create database {SCHEMA} location '{settings.spark_dir / 'warehouse' / SCHEMA}'")
    inputs = {
        "raw": settings.raw_path,
        "context": settings.context_path,
        "registry": settings.registry_path,
    }
    for database, path in inputs.items():
        folder = settings.spark_dir / "inputs" / database
        spark.sql(f"create database {database} location '{folder}'")
        for table in export_parquet(path, folder):
            spark.sql(
                f"create table {database}.{table} using parquet "
                f"location '{folder / (table + '.parquet')}'"
            )
    raw_columns = settings.spark_dir / "inputs" / "context" / "raw_columns.parquet"
    export_raw_columns(settings.raw_path, raw_columns)
    spark.sql(f"create table context.raw_columns using parquet location '{raw_columns}'")
    for schema_file in sorted(_kept_dir(settings).glob("*.schema.parquet")):
        _register_kept(spark, schema_file)


def _kept_dir(settings: Settings) -> Path:
    return settings.spark_dir / "kept"


def forget_kept(settings: Settings) -> None:
    """Remove what keep_tables wrote (the build computes every month instead)."""
    shutil.rmtree(_kept_dir(settings), ignore_errors=True)


def keep_tables(settings: Settings, serving_path: str, names: Sequence[str]) -> None:
    """Write tables of the build in service (a DuckDB file) for `prepare` to make the Spark
    tables of this build: each one's schema, and its rows partitioned by snapshot month
    (hive-style folders `snapshot_date=2024-01-01`), so that an incremental model drops the
    months it recomputes (macros/incremental_snapshots.sql) and appends them anew."""
    folder = _kept_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("attach ? as serving (read_only)", [serving_path])
        for name in names:
            table = f'serving.main."{name}"'
            connection.execute(
                f"copy (select * from {table} limit 0) to '{folder / name}.schema.parquet' "
                "(format parquet)"
            )
            connection.execute(
                f"copy {table} to '{folder / name}' (format parquet, partition_by ({SNAPSHOT}))"
            )
    finally:
        connection.close()


def _register_kept(spark: Any, schema_file: Path) -> None:
    """A managed Spark table, partitioned by snapshot month, of a kept table's files: created
    empty with the kept schema, the month folders moved into its location, then found. Being
    managed, a dropped month takes its files with it."""
    name = schema_file.name.removesuffix(".schema.parquet")
    empty = spark.read.parquet(str(schema_file))
    columns = [column for column in empty.columns if column != SNAPSHOT] + [SNAPSHOT]
    empty.select(*columns).write.partitionBy(SNAPSHOT).format("parquet").saveAsTable(
        f"{SCHEMA}.{name}"
    )
    location = Path(_describe(spark, name)[1].removeprefix("file:"))
    location.mkdir(parents=True, exist_ok=True)
    months = schema_file.parent / name
    for month in sorted(months.glob(f"{SNAPSHOT}=*")) if months.is_dir() else []:
        month.rename(location / month.name)
    spark.sql(f"alter table {SCHEMA}.{name} recover partitions")


def export_parquet(path: Path, folder: Path) -> list[str]:
    """Write every table of a DuckDB file to `folder/<table>.parquet`; return the names."""
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute("attach ? as source (read_only)", [str(path)])
        tables = [
            str(row[0])
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'source' "
                "and schema_name = 'main' order by table_name"
            ).fetchall()
        ]
        for table in tables:
            target = str(folder / f"{table}.parquet")
            connection.execute(f"copy source.main.\"{table}\" to '{target}' (format parquet)")
    finally:
        connection.close()
    return tables


def export_raw_columns(raw: Path, target: Path) -> None:
    """The raw schema as DuckDB types it (what monitor_raw_schema records on either engine, so
    a schema change is told from an engine change): context.raw_columns on Spark."""
    connection = duckdb.connect()
    try:
        connection.execute("attach ? as raw (read_only)", [str(raw)])
        connection.execute(
            f"""
            copy (
                select table_catalog, table_name, column_name, data_type, ordinal_position
                from information_schema.columns where table_catalog = 'raw'
            ) to '{target}' (format parquet)
            """
        )
    finally:
        connection.close()


def publish_tables(
    settings: Settings, nodes: list[NodeResult], only: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Copy the built models from Spark into the build's DuckDB file, as a DuckDB build leaves
    them; return the rows of the models that are not copied (the staging views).

    Tables are read from their Parquet files by DuckDB (no collect through the driver); a view
    that only picks columns of one copied relation becomes the same view in DuckDB; any other
    view is written out by Spark first. `only` limits the copy (a failed build keeps just what
    its triage reads).
    """
    spark = session(settings)
    built = {
        node.name: node
        for node in nodes
        if node.resource_type == "model" and node.status == "success"
    }
    catalog = {row.tableName: row for row in spark.sql(f"show tables in {SCHEMA}").collect()}
    names = [name for name in built if name in catalog and (only is None or name in only)]
    counted: dict[str, int] = {}
    tables, views = [], []
    for name in names:
        kind, location, text = _describe(spark, name)
        if kind == "VIEW":
            if built[name].layer == SOURCE_LAYER:
                counted[name] = int(spark.table(f"{SCHEMA}.{name}").count())
            else:
                views.append((name, text))
        else:
            tables.append((name, location))
    connection = duckdb.connect(str(settings.build_warehouse_path))
    try:
        for name, location in tables:
            _copy_parquet(connection, spark, name, location)
        copied = {name for name, _ in tables}
        for name, text in views:
            thin = THIN_VIEW.match(_strip_comments(text))
            if thin and thin.group(2) in copied:
                columns = thin.group(1).strip()
                connection.execute(
                    f'create or replace view "{name}" as select {columns} from "{thin.group(2)}"'
                )
                continue
            folder = settings.spark_dir / "views" / name
            spark.table(f"{SCHEMA}.{name}").write.mode("overwrite").parquet(str(folder))
            _copy_parquet(connection, spark, name, str(folder))
            copied.add(name)
        connection.execute("checkpoint")
    finally:
        connection.close()
    return counted


def _describe(spark: Any, name: str) -> tuple[str, str, str]:
    """(type, location, view text) of a relation in the target schema."""
    info = {
        str(row.col_name).strip(): str(row.data_type or "")
        for row in spark.sql(f"describe table extended {SCHEMA}.{name}").collect()
    }
    return info.get("Type", "").upper(), info.get("Location", ""), info.get("View Text", "")


def _copy_parquet(
    connection: duckdb.DuckDBPyConnection, spark: Any, name: str, location: str
) -> None:
    """A DuckDB table from the Parquet files of a Spark table (its folder, or a file URI);
    a partitioned table's partition columns come last, as in Spark's schema."""
    folder = Path(location.removeprefix("file:"))
    files = sorted(str(path) for path in folder.glob("*.parquet"))
    if files:
        connection.execute(
            f'create or replace table "{name}" as select * from read_parquet(?)', [files]
        )
        return
    partitioned = sorted(str(path) for path in folder.glob("*=*/*.parquet"))
    if partitioned:
        connection.execute(
            f'create or replace table "{name}" as '
            "select * from read_parquet(?, hive_partitioning = true)",
            [partitioned],
        )
        return
    # No data file (an empty result): the schema, through Arrow.
    empty = spark.table(f"{SCHEMA}.{name}").limit(0).toArrow()
    connection.register("spark_empty", empty)
    connection.execute(f'create or replace table "{name}" as select * from spark_empty')
    connection.unregister("spark_empty")


def _strip_comments(sql: str) -> str:
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return " ".join(" ".join(lines).split())
