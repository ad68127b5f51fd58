"""Drift profiles on Spark: ml.drift.feature_profiles' bins and counts as Spark aggregations.

The pandas path holds every reference row in one process. Here the rows stay on Spark:
- numeric bins: the facts ml.edges.ValueSummary lists come from the reference's value counts
  per feature, sorted (a window per feature, which Spark spills), so the driver collects
  only the order statistics at the quantiles' positions and the mass points, a few dozen
  values per feature; ml.edges.edges_from_summary then applies the one rule, so the edges
  equal numpy's (its quantiles to the bit, see ml.edges);
- categorical bins: the reference's most frequent values (ties, which the pandas path orders
  as they come, are broken by the value here);
- counts: ml.drift.numeric_bins / categorical_bins per partition (mapInArrow), summed by
  Spark; the driver gets features x periods x bins numbers.
Spark is imported only when a function here runs (the DuckDB engine never imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ml import relations
from ml.drift import (
    categorical_bins,
    categorical_labels,
    numeric_bins,
    numeric_labels,
    profile_rows,
)
from ml.edges import (
    ValueSummary,
    edges_from_summary,
    interpolate,
    quantile_positions,
    quantile_probabilities,
    rest_bins,
)

FEATURE, VALUE, COUNT, BIN, ROWS, POSITION = "_feature", "_value", "_n", "_bin", "_rows", "_pos"
END, REST_END, NEXT, MASS = "_end", "_rest_end", "_next", "_mass"
TOP_CATEGORIES = 12  # ml.drift.categories' default
Bins = tuple[np.ndarray | list[str], list[str]]  # (edges or known categories, labels)


def feature_profiles(
    frame: Any,
    numeric: Sequence[str],
    categorical: Sequence[str],
    period: str,
    reference_periods: Sequence[object],
    current_period: object,
    bins: int = 10,
    scores: Sequence[str] = (),
    value_limit: int = 0,
) -> pd.DataFrame:
    """ml.drift.feature_profiles for a Spark DataFrame (numbers as double, categories as text)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    reference_keys = pd.to_datetime(pd.Series(list(reference_periods))).tolist()
    current_key = pd.to_datetime(pd.Series([current_period])).iloc[0]
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        reference = frame.where(F.col(period).isin([key.date() for key in reference_keys]))
        limits = {**{name: value_limit for name in numeric}, **{name: 0 for name in scores}}
        fitted: dict[str, Bins] = {
            **numeric_bins_on_spark(reference, limits, bins),
            **categorical_bins_on_spark(reference, categorical),
        }
        counts = _bin_counts(frame, period, fitted)
    finally:
        frame.unpersist()
    kinds = [(name, "numeric") for name in numeric]
    kinds += [(name, "categorical") for name in categorical]
    kinds += [(name, "prediction") for name in scores]
    parts = []
    for name, kind in kinds:
        labels = fitted[name][1]
        per_period = [
            (key, counts.get((name, key.date()), np.zeros(len(labels))))
            for key in [*reference_keys, current_key]
        ]
        parts.append(profile_rows(name, kind, labels, per_period, current_key))
    return pd.concat(parts, ignore_index=True)


def _long(frame: Any, names: Sequence[str], cast: str) -> Any:
    """(feature, value) rows of `names`, values cast to `cast`, missing ones left out."""
    from pyspark.sql import functions as F

    pairs = [
        F.struct(F.lit(name).alias(FEATURE), F.col(name).cast(cast).alias(VALUE)) for name in names
    ]
    rows = frame.select(F.explode(F.array(*pairs)).alias("pair")).select("pair.*")
    present = F.col(VALUE).isNotNull()
    return rows.where(present & ~F.isnan(VALUE) if cast == "double" else present)


def numeric_bins_on_spark(reference: Any, limits: dict[str, int], bins: int) -> dict[str, Bins]:
    """Edges and labels of each numeric feature ({name: value_limit}) fitted on `reference`."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if not limits:
        return {}
    counts = (
        _long(reference, list(limits), "double")
        .groupBy(FEATURE, VALUE)
        .agg(F.count("*").alias(COUNT))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        sizes = {
            row[FEATURE]: (int(row["n"]), int(row["distinct"]))
            for row in counts.groupBy(FEATURE)
            .agg(F.sum(COUNT).alias("n"), F.count("*").alias("distinct"))
            .collect()
        }
        few = [name for name, (_, distinct) in sizes.items() if distinct <= limits[name]]
        summaries = {name: ValueSummary(0, np.array([])) for name in limits}
        summaries |= _few_values(counts, few, sizes)
        many = {name: sizes[name][0] for name in sizes if name not in few}
        summaries |= _order_summaries(counts, many, bins)
    finally:
        counts.unpersist()
    fitted: dict[str, Bins] = {}
    for name, summary in summaries.items():
        edges = edges_from_summary(summary, bins)
        by_value = summary.distinct is not None and summary.n > 0  # ml.drift.value_binned
        fitted[name] = (edges, numeric_labels(edges, by_value))
    return fitted


def _few_values(
    counts: Any, few: list[str], sizes: dict[str, tuple[int, int]]
) -> dict[str, ValueSummary]:
    """Summaries of features with few distinct values: the values themselves."""
    from pyspark.sql import functions as F

    values: dict[str, list[float]] = {name: [] for name in few}
    for row in counts.where(F.col(FEATURE).isin(few)).select(FEATURE, VALUE).collect():
        values[row[FEATURE]].append(float(row[VALUE]))
    return {name: ValueSummary(sizes[name][0], np.sort(np.array(values[name]))) for name in few}


def _order_summaries(counts: Any, sizes: dict[str, int], bins: int) -> dict[str, ValueSummary]:
    """Summaries of features with many distinct values, from their sorted value counts."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not sizes:
        return {}
    spark = counts.sparkSession
    thresholds = spark.createDataFrame(
        pa.table({FEATURE: list(sizes), "_min_mass": [n / bins for n in sizes.values()]})
    )
    upto = Window.partitionBy(FEATURE).orderBy(VALUE).rowsBetween(Window.unboundedPreceding, 0)
    mass = F.col(COUNT) >= F.col("_min_mass")
    ranked = (
        counts.join(F.broadcast(thresholds), on=FEATURE)
        .withColumn(MASS, mass)
        .withColumn(END, F.sum(COUNT).over(upto))
        .withColumn(REST_END, F.sum(F.when(mass, 0).otherwise(F.col(COUNT))).over(upto))
        .withColumn(NEXT, F.lead(VALUE).over(Window.partitionBy(FEATURE).orderBy(VALUE)))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        probabilities = quantile_probabilities(bins)
        quantiles = _quantiles(ranked, {name: (n, probabilities) for name, n in sizes.items()}, END)
        points = ranked.where(MASS).select(FEATURE, VALUE, COUNT, NEXT).orderBy(FEATURE, VALUE)
        mass_rows = pd.DataFrame(points.collect(), columns=[FEATURE, VALUE, COUNT, NEXT])
        rest = {}
        for name, n in sizes.items():
            n_rest = n - int(mass_rows.loc[mass_rows[FEATURE] == name, COUNT].sum())
            if len(np.unique(quantiles[name])) < bins - 1 and n_rest:
                rest[name] = (n_rest, quantile_probabilities(rest_bins(bins, n, n_rest)))
        rest_quantiles = _quantiles(ranked.where(~F.col(MASS)), rest, REST_END)
    finally:
        ranked.unpersist()
    summaries = {}
    for name, n in sizes.items():
        points = mass_rows[mass_rows[FEATURE] == name]
        following = points[NEXT].astype(float).fillna(np.inf).to_numpy()
        summaries[name] = ValueSummary(
            n,
            None,
            quantiles[name],
            points[VALUE].to_numpy(dtype=float),
            following,
            rest_quantiles.get(name, np.array([])),
        )
    return summaries


def _quantiles(
    ranked: Any, wanted: dict[str, tuple[int, np.ndarray]], end: str
) -> dict[str, np.ndarray]:
    """numpy's quantiles of each feature ({name: (values, probabilities)}) from its sorted
    value counts, whose running total up to each value is `end`: the driver collects only the
    values at the positions the quantiles read."""
    from pyspark.sql import functions as F

    if not wanted:
        return {}
    positions = {name: quantile_positions(n, p) for name, (n, p) in wanted.items()}
    targets = [
        (name, int(position))
        for name, (below, above, _) in positions.items()
        for position in np.union1d(below, above)
    ]
    table = pa.table({FEATURE: [t[0] for t in targets], POSITION: [t[1] for t in targets]})
    targets_frame = ranked.sparkSession.createDataFrame(table)
    start = F.col(end) - F.col(COUNT)
    found = (
        ranked.join(F.broadcast(targets_frame), on=FEATURE)
        .where((start <= F.col(POSITION)) & (F.col(POSITION) < F.col(end)))
        .select(FEATURE, POSITION, VALUE)
        .collect()
    )
    value_at = {(row[FEATURE], int(row[POSITION])): float(row[VALUE]) for row in found}
    result = {}
    for name, (below, above, weight) in positions.items():
        low = np.array([value_at[(name, int(i))] for i in below])
        high = np.array([value_at[(name, int(i))] for i in above])
        result[name] = interpolate(low, high, weight)
    return result


def categorical_bins_on_spark(reference: Any, names: Sequence[str]) -> dict[str, Bins]:
    """The known categories (most frequent first, at most TOP_CATEGORIES) and labels of each
    categorical feature, from the reference's value counts."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not names:
        return {}
    order = Window.partitionBy(FEATURE).orderBy(F.col(COUNT).desc(), F.col(VALUE))
    top = (
        _long(reference, list(names), "string")
        .groupBy(FEATURE, VALUE)
        .agg(F.count("*").alias(COUNT))
        .withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") <= TOP_CATEGORIES)
        .orderBy(FEATURE, "_rank")
        .collect()
    )
    known: dict[str, list[str]] = {name: [] for name in names}
    for row in top:
        known[row[FEATURE]].append(str(row[VALUE]))
    return {name: (values, categorical_labels(values)) for name, values in known.items()}


COUNTS_SCHEMA = pa.schema(
    [(FEATURE, pa.string()), ("period", pa.date32()), (BIN, pa.int64()), (ROWS, pa.int64())]
)


def _bin_counts(
    frame: Any, period: str, fitted: dict[str, Bins]
) -> dict[tuple[str, Any], np.ndarray]:
    """Rows per feature, period and bin, binned per partition and summed by Spark."""
    from pyspark.sql import functions as F

    per_batch = relations.map_frames(frame, partial(_batch_counts, period, fitted), COUNTS_SCHEMA)
    totals = per_batch.groupBy(FEATURE, "period", BIN).agg(F.sum(ROWS).alias(ROWS)).collect()
    counts: dict[tuple[str, Any], np.ndarray] = {}
    for row in totals:
        key = (row[FEATURE], row["period"])
        if key not in counts:
            counts[key] = np.zeros(len(fitted[row[FEATURE]][1]))
        counts[key][int(row[BIN])] += int(row[ROWS])
    return counts


def _batch_counts(period: str, fitted: dict[str, Bins], frame: pd.DataFrame) -> pd.DataFrame:
    """One batch's rows per feature, period and bin (ml.drift's binning functions)."""
    periods, period_index = np.unique(pd.to_datetime(frame[period]).to_numpy(), return_inverse=True)
    parts = []
    for name, (fitted_on, labels) in fitted.items():
        index = _binner(fitted_on)(frame[name])
        table = np.zeros((len(periods), len(labels)), dtype=np.int64)
        np.add.at(table, (period_index, index), 1)
        rows, bins = np.nonzero(table)
        parts.append(
            pd.DataFrame(
                {
                    FEATURE: name,
                    "period": pd.to_datetime(periods[rows]).date,
                    BIN: bins.astype(np.int64),
                    ROWS: table[rows, bins],
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else COUNTS_SCHEMA.empty_table().to_pandas()


def _binner(fitted_on: np.ndarray | list[str]) -> Callable[[pd.Series], np.ndarray]:
    """The bin index function of a fitted feature: numeric edges or known categories."""
    if isinstance(fitted_on, np.ndarray):
        edges = fitted_on
        return lambda values: numeric_bins(
            pd.to_numeric(values, errors="coerce").to_numpy(float), edges
        )
    known = fitted_on
    return lambda values: categorical_bins(values.tolist(), known)


def with_score(
    relation: Any,
    period: str,
    numeric: Sequence[str],
    categorical: Sequence[str],
    score: str,
    predict: Callable[[pd.DataFrame], np.ndarray],
) -> Any:
    """The rows of `relation` with `score` = predict(rows), computed per partition; numbers as
    double and categories as text, as the pandas path reads them (str of each value)."""
    schema = pa.schema(
        [
            (period, pa.date32()),
            *[(name, pa.float64()) for name in numeric],
            *[(name, pa.string()) for name in categorical],
            (score, pa.float64()),
        ]
    )
    columns = (period, list(numeric), list(categorical), score)
    return relations.map_frames(relation, partial(_score_batch, columns, predict), schema)


def _score_batch(
    columns: tuple[str, list[str], list[str], str],
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
) -> pd.DataFrame:
    period, numeric, categorical, score = columns
    out = pd.DataFrame({period: pd.to_datetime(frame[period]).dt.date})
    for name in numeric:
        out[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in categorical:
        out[name] = [None if pd.isna(value) else str(value) for value in frame[name].tolist()]
    out[score] = np.asarray(predict(frame), dtype=float) if len(frame) else np.array([])
    return out
