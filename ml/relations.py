"""The one place the dbt Python models touch their engine: reading refs, returning results.

`dbt.ref(...)` is a DuckDB relation on DuckDB and a Spark DataFrame on Spark (dbt-spark,
Databricks). Every model reads through these functions and returns `result(...)`, so the
ML logic in `ml/` and `monitoring/` sees pandas and Arrow whatever the engine, and the same
model files run on both. Filters and aggregates are SQL expressions both engines parse
(`snapshot_date = DATE '2024-06-01'`, `count(*)`); column names are quoted here.

Reads (`read`, `to_pandas`, `scalar`, ...) bring rows to the model's process, the driver on
Spark. `map_frames` applies a function to the rows where they are: to the whole frame on
DuckDB, to each partition on Spark (mapInArrow), so scoring and SHAP scale out with the data
while the function stays the same one in `ml/`.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

FrameFunction = Callable[[pd.DataFrame], pd.DataFrame]


# dbt runs several nodes at once (BATON_BUILD_THREADS), each Python model in a thread of the
# build's process. The models that bring a feature mart's rows into that process take turns
# (`@one_at_a_time` on their `model` function): two at once would add their memory, and
# XGBoost already uses every core. SQL models and data tests run beside them.
_ROWS_IN_PROCESS = threading.Lock()


def one_at_a_time(model: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A dbt Python model that runs only while no other such model runs in this process."""

    @functools.wraps(model)
    def taking_turns(dbt: Any, session: Any) -> Any:
        with _ROWS_IN_PROCESS:
            return model(dbt, session)

    return taking_turns


# Decimal places a rank key counts to (probabilities: far below any real difference in risk).
RANK_DECIMALS = 12


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

    `stable_by` names a key that makes the row order reproducible: on both engines a table's
    rows come in any order (partitions on Spark; threads on DuckDB, whose builds do not preserve
    insertion order, profiles.yml), ties of `order_by` included.
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
    keys = [key for key in (order_by, stable_by) if key]
    if not keys:
        return relation
    if is_spark(relation):
        return relation.orderBy(*keys)
    return relation.order(", ".join(quote(relation, key) for key in keys))


def digests(relation: Any, names: Sequence[str], by: str) -> dict[Any, str]:
    """Per value of `by`, a digest of the rows of a ref (their `names` columns), whatever
    their order or partitions: the number of rows and the exact sum of their hashes
    ("<rows> <sum>"), computed on the engine (only those sums reach this process)."""
    if is_spark(relation):
        from ml.distributed import digest  # distributed imports this module

        rows = relation.groupBy(by).agg(*digest(list(names))).collect()
        sums = [(row[by], row["n"], row["hashes"]) for row in rows]
    else:
        hashed = ", ".join(quote(relation, n) for n in names)
        key = quote(relation, by)
        sums = relation.aggregate(f"{key}, count(*), sum(hash({hashed}))", key).fetchall()
    return {group: f"{n} {hashes}" for group, n, hashes in sums}


def sample_of(relation: Any, column: str, share: float) -> str:
    """A predicate on a ref (SQL for its engine) that keeps about `share` of the distinct
    values of `column`, the same ones on every call and every build (by a hash of the value:
    DuckDB's `hash`, Spark's `xxhash64`, so the two engines keep different ones)."""
    cut = int(max(0.0, min(share, 1.0)) * SAMPLE_BUCKETS)
    name = quote(relation, column)
    if is_spark(relation):
        hashed = f"pmod(xxhash64({name}), {SAMPLE_BUCKETS})"
    else:
        hashed = f"hash({name}) % {SAMPLE_BUCKETS}"
    return f"{hashed} < {cut}"


# Buckets a sample's hash is cut into (sample_of): shares to a millionth.
SAMPLE_BUCKETS = 1_000_000


def to_arrow(relation: Any) -> pa.Table:
    """All rows of a ref (or of `select(...)`) as an Arrow table."""
    if is_spark(relation):
        return relation.toArrow()
    return relation.to_arrow_table()


def release(ref: Any) -> None:
    """Hand back the memory DuckDB keeps after a large read from `ref` (a model's ref):
    DuckDB holds a finished query's memory (at 1,000,000 accounts about 3 GiB after reading
    the labeled rows) until its connection runs another query on the ref, so a query that
    returns no rows frees it now, before the model trains for many minutes. Spark: nothing."""
    if not is_spark(ref):
        ref.limit(0).fetchall()


def to_pandas(relation: Any) -> pd.DataFrame:
    """All rows of a ref (or of an Arrow table, e.g. `map_groups`' on DuckDB) as pandas, typed
    the same on both engines (DuckDB's `.df()` rules: dates as datetime64, nullable integers
    and booleans as pandas' nullable types)."""
    if isinstance(relation, pa.Table):
        return _frame(relation)
    if is_spark(relation):
        return _frame(relation.toArrow())
    return _frame(relation.to_arrow_table())


def _frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas by DuckDB's `.df()` rules, on a cursor of its own: DuckDB's
    default connection refuses a second call while one runs, and threads convert at once (the
    Spark backtest fits two months at a time).

    Text columns become pandas' Arrow-backed strings straight from Arrow, the type `.df()`
    gives them, without the Python string per value `.df()` makes on the way (five times
    slower: 21 million backtest rows with two text columns took 19 s instead of 3 s)."""
    text = [  # (a column of nulls only stays `.df()`'s: objects, not strings)
        i
        for i, column in enumerate(table.schema)
        if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type))
        and table.column(i).null_count < table.num_rows
    ]
    rest = [i for i in range(table.num_columns) if i not in text]
    if rest:
        with duckdb.default_connection().cursor() as cursor:
            frame = cursor.from_arrow(table.select(rest)).df()
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    for i in text:
        frame.insert(i, table.schema.names[i], table.column(i).to_pandas(), allow_duplicates=True)
    return frame


def read(
    relation: Any,
    names: Sequence[str] | None = None,
    where: str | None = None,
    stable_by: str | None = None,
) -> pd.DataFrame:
    """`select` then `to_pandas`: only the rows and columns a model needs."""
    return to_pandas(select(relation, names, where, stable_by=stable_by))


def newest(relation: Any, date_column: str, stable_by: str | None = None) -> Any:
    """The rows of a ref at its newest `date_column` (e.g. the newest snapshot), still on the
    engine: filtered there rather than after loading every month (`stable_by`: see `select`)."""
    latest = scalar(relation, f"max({quote(relation, date_column)})")
    where = f"{quote(relation, date_column)} = DATE '{latest.isoformat()}'" if latest else "false"
    return select(relation, where=where, stable_by=stable_by)


def newest_rows(relation: Any, date_column: str, stable_by: str | None = None) -> pd.DataFrame:
    """`newest` as pandas."""
    return to_pandas(newest(relation, date_column, stable_by))


def keep(relation: Any, key: str, values: Sequence[Any] | None) -> Any:
    """The rows whose `key` is among `values` (all rows for None), in their order. On Spark a
    semi-join with the values broadcast; on DuckDB the rows as pandas, masked."""
    if not is_spark(relation):
        frame = to_pandas(relation)
        return frame if values is None else frame[frame[key].isin(values)]
    if values is None:
        return relation
    from pyspark.sql import functions as F

    wanted = relation.sparkSession.createDataFrame(pa.table({key: list(values)}))
    return relation.join(F.broadcast(wanted), on=key, how="left_semi")


def map_frames(relation: Any, function: FrameFunction, schema: pa.Schema) -> Any:
    """`function` applied to a ref's rows where they are, giving rows of `schema`.

    DuckDB (or a pandas frame already read): once, to every row, as an Arrow table. Spark: to
    each partition's rows in batches (mapInArrow), a lazy Spark DataFrame. Batches reach the
    function typed as `to_pandas` types them, so it sees the same frame on both engines.
    """
    if isinstance(relation, pd.DataFrame) or not is_spark(relation):
        frame = relation if isinstance(relation, pd.DataFrame) else to_pandas(relation)
        return pa.Table.from_pandas(function(frame), schema=schema, preserve_index=False)
    from pyspark.sql.pandas.types import from_arrow_schema

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            frame = _frame(pa.Table.from_batches([batch]))
            result = pa.Table.from_pandas(function(frame), schema=schema, preserve_index=False)
            yield from result.to_batches()

    return relation.mapInArrow(apply, from_arrow_schema(schema))


def map_groups(
    relation: Any, keys: Sequence[str], function: FrameFunction, schema: pa.Schema
) -> Any:
    """`function` applied to each group of a ref's rows with equal `keys`, giving rows of
    `schema` (e.g. one month's metrics from that month's predictions).

    DuckDB (or pandas): the groups in key order, as one Arrow table, a few at once on the
    cores (the function must be thread-safe: numpy and scikit-learn release the GIL, so 48
    months x methods of backtest metrics at 1,000,000 accounts take about half the time).
    Spark: each group in one task (applyInArrow), a lazy Spark DataFrame; a task holds one
    group, not every row. Groups reach the function typed as `to_pandas` types them.
    """
    if isinstance(relation, pd.DataFrame) or not is_spark(relation):
        frame = relation if isinstance(relation, pd.DataFrame) else to_pandas(relation)
        groups = (group for _, group in frame.groupby(list(keys), sort=True))
        workers = max(1, os.cpu_count() or 1)
        parts: list[pd.DataFrame] = []
        with ThreadPoolExecutor(workers) as pool:
            # A few groups at a time: each is a copy of its rows.
            while batch := list(itertools.islice(groups, workers)):
                parts += pool.map(function, batch)
        tables = [pa.Table.from_pandas(p, schema=schema, preserve_index=False) for p in parts]
        return pa.concat_tables(tables) if tables else schema.empty_table()
    from pyspark.sql.pandas.types import from_arrow_schema

    def apply(table: pa.Table) -> pa.Table:
        result = function(_frame(table))
        return pa.Table.from_pandas(result, schema=schema, preserve_index=False)

    return relation.groupBy(*keys).applyInArrow(apply, from_arrow_schema(schema))


def rank(table: Any, name: str, descending: Sequence[str], stable_by: str | None = None) -> Any:
    """`table` with a 1-based rank column `name`, by `descending` columns (largest first).

    The keys count to RANK_DECIMALS places, so values that differ only by floating-point
    noise (the order of a sum, another build of a library) tie, and ties break on `stable_by`
    (ascending): the same data ranks the same on any machine and either engine.
    """
    if not is_spark(table):
        keys = [
            -np.round(table.column(column).to_numpy(zero_copy_only=False), RANK_DECIMALS)
            for column in descending
        ]
        if stable_by:
            ids = table.column(stable_by).to_numpy(zero_copy_only=False).astype(str)
            keys.append(np.unique(ids, return_inverse=True)[1])
        order = np.lexsort(keys[::-1])
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(1, len(order) + 1)
        return table.append_column(name, pa.array(ranks))
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by = [F.round(F.col(column), RANK_DECIMALS).desc() for column in descending]
    window = Window.orderBy(*by, *([F.col(stable_by)] if stable_by else []))
    return table.withColumn(name, F.row_number().over(window).cast("bigint"))


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


def result(table: Any, session: Any, schema: pa.Schema | None = None) -> Any:
    """What a model returns: an Arrow table on DuckDB, a Spark DataFrame on Spark (which
    dbt-spark's materialization writes). `session` is the model's second argument; `schema`
    puts the columns in its order."""
    if is_spark(table):
        return table.select(*schema.names) if schema is not None else table
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
    elif schema is not None:
        table = table.select(schema.names)
    if not is_spark_session(session):
        return table
    return session.createDataFrame(table)


def is_spark_session(session: Any) -> bool:
    """Whether a model's `session` argument is a SparkSession (else a DuckDB connection)."""
    return type(session).__module__.startswith("pyspark.")
