"""The one place the dbt Python models touch their engine: reading refs, returning results.

`dbt.ref(...)` is a DuckDB relation on DuckDB and a Spark DataFrame on Spark (dbt-spark,
Databricks). Every model reads through these functions and returns `result(...)`, so the
ML logic in `ml/` and `monitoring/` sees pandas and Arrow whatever the engine, and the same
model files run on both. Filters and aggregates are SQL expressions both engines parse
(`snapshot_date = DATE '2024-06-01'`, `count(*)`); column names are quoted here.

On Spark the rows a model reads are collected to the driver; the heavy steps that need not
be (scoring and SHAP per partition) live in `ml.distributed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa


def is_spark(relation: Any) -> bool:
    """Whether a ref is a Spark DataFrame (else a DuckDB relation)."""
    return type(relation).__module__.startswith("pyspark.")


def quote(relation: Any, name: str) -> str:
    """A column name quoted for the relation's engine."""
    if is_spark(relation):
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def columns(relation: Any) -> list[str]:
    """The relation's column names."""
    return list(relation.columns)


def select(
    relation: Any,
    names: Sequence[str] | None = None,
    where: str | None = None,
    order_by: str | None = None,
    as_float: Iterable[str] = (),
    stable_by: str | None = None,
) -> Any:
    """A filtered projection of a ref, still on its engine; `as_float` columns cast to FLOAT
    (float32), for compact reads of many rows.

    `stable_by` names a key that makes the row order reproducible on Spark, whose rows come in
    partition order (ties of `order_by` included); DuckDB keeps its scan order, as it always
    has, so its results do not change.
    """
    narrow = set(as_float)
    if where:
        relation = relation.filter(where)
    if names is not None:
        exprs = [
            f"cast({quote(relation, n)} as float) as {quote(relation, n)}"
            if n in narrow
            else quote(relation, n)
            for n in names
        ]
        relation = (
            relation.selectExpr(*exprs)
            if is_spark(relation)
            else relation.project(", ".join(exprs))
        )
    if is_spark(relation):
        keys = [key for key in (order_by, stable_by) if key]
        return relation.orderBy(*keys) if keys else relation
    return relation.order(quote(relation, order_by)) if order_by else relation


def to_arrow(relation: Any) -> pa.Table:
    """All rows of a ref (or of `select(...)`) as an Arrow table."""
    if is_spark(relation):
        return relation.toArrow()
    return relation.to_arrow_table()


def to_pandas(relation: Any) -> pd.DataFrame:
    """All rows of a ref as pandas, typed the same on both engines (DuckDB's `.df()` rules:
    dates as datetime64, nullable integers and booleans as pandas' nullable types)."""
    if is_spark(relation):
        return duckdb.from_arrow(relation.toArrow()).df()
    return relation.df()


def read(
    relation: Any,
    names: Sequence[str] | None = None,
    where: str | None = None,
    stable_by: str | None = None,
) -> pd.DataFrame:
    """`select` then `to_pandas`: only the rows and columns a model needs."""
    return to_pandas(select(relation, names, where, stable_by=stable_by))


def newest_rows(relation: Any, date_column: str, stable_by: str | None = None) -> pd.DataFrame:
    """The rows of a ref at its newest `date_column` (e.g. the newest snapshot), filtered on
    the engine rather than after loading every month (`stable_by`: see `select`)."""
    newest = scalar(relation, f"max({quote(relation, date_column)})")
    where = f"{quote(relation, date_column)} = DATE '{newest.isoformat()}'" if newest else "false"
    return read(relation, where=where, stable_by=stable_by)


def scalar(relation: Any, expression: str) -> Any:
    """One aggregate of a ref, e.g. `max(snapshot_date)`, as a Python value."""
    if is_spark(relation):
        return relation.selectExpr(expression).first()[0]
    return relation.aggregate(expression).fetchall()[0][0]


def aggregate(
    relation: Any,
    group_by: Sequence[str],
    aggregates: Mapping[str, str],
    where: str | None = None,
) -> pd.DataFrame:
    """Aggregates per group ({name: SQL aggregate}) computed on the engine, as pandas."""
    if where:
        relation = relation.filter(where)
    keys = [quote(relation, name) for name in group_by]
    exprs = [f"{sql} as {quote(relation, name)}" for name, sql in aggregates.items()]
    if is_spark(relation):
        from pyspark.sql import functions as F

        grouped = relation.groupBy(*group_by).agg(*[F.expr(e) for e in exprs])
        return to_pandas(grouped)
    return relation.aggregate(", ".join([*keys, *exprs]), ", ".join(keys)).df()


def result(table: pa.Table | pd.DataFrame, session: Any) -> Any:
    """What a model returns: the Arrow table on DuckDB, a Spark DataFrame on Spark (which
    dbt-spark's materialization writes). `session` is the model's second argument."""
    if not is_spark_session(session):
        return table
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return session.createDataFrame(table)


def is_spark_session(session: Any) -> bool:
    """Whether a model's `session` argument is a SparkSession (else a DuckDB connection)."""
    return type(session).__module__.startswith("pyspark.")
