"""dbt-spark, plus Python models executed in the local Spark session (`submission_method:
session`), so a dbt project's Python models run where its SQL does without Databricks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from dbt.adapters.base import AdapterPlugin, PythonJobHelper
from dbt.adapters.spark import SparkAdapter, SparkCredentials
from dbt.adapters.spark.connections import SparkConnectionManager
from dbt.include import localspark

TYPE = "localspark"
SESSION = "session"


@dataclass
class LocalSparkCredentials(SparkCredentials):
    """dbt-spark's credentials under this adapter's type name (`method: session` expected)."""

    @property
    def type(self) -> str:
        return TYPE


class LocalSparkConnectionManager(SparkConnectionManager):
    """dbt-spark's connections (SQL goes to the session through dbt-spark's cursor)."""

    TYPE = TYPE


class SessionPythonJobHelper(PythonJobHelper):
    """Run a compiled Python model in this process's Spark session.

    The compiled code is dbt-spark's notebook script: the model's file, then
    `dbt = dbtObj(spark.table)`, `df = model(dbt, spark)` and a `saveAsTable` of the result.
    On Databricks the same script runs as a notebook; here it runs with `spark` bound to the
    session dbt-spark's `method: session` already uses for SQL (SparkSession.getOrCreate).
    """

    def __init__(self, parsed_model: dict[str, Any], credentials: SparkCredentials) -> None:
        self.name = str(parsed_model.get("alias") or parsed_model.get("name"))
        self.path = str(parsed_model.get("original_file_path") or self.name)

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        namespace: dict[str, Any] = {"__name__": f"dbt_python_model_{self.name}", "spark": spark}
        with warnings.catch_warnings():
            # The script imports pyspark.pandas to recognise pandas-on-Spark results; on
            # import it warns about an environment variable only pandas-on-Spark reads.
            warnings.filterwarnings("ignore", message=".*PYARROW_IGNORE_TIMEZONE.*")
            exec(compile(compiled_code, self.path, "exec"), namespace)


class LocalSparkAdapter(SparkAdapter):
    """SparkAdapter whose Python models default to the `session` submission method."""

    ConnectionManager = LocalSparkConnectionManager

    @property
    def default_python_submission_method(self) -> str:
        return SESSION

    @property
    def python_submission_helpers(self) -> dict[str, type[PythonJobHelper]]:
        return {**super().python_submission_helpers, SESSION: SessionPythonJobHelper}


Plugin = AdapterPlugin(
    adapter=LocalSparkAdapter,  # type: ignore[arg-type]
    credentials=LocalSparkCredentials,
    include_path=localspark.PACKAGE_PATH,
    dependencies=["spark"],
)
