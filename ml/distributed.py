"""The churn model fitted on Spark: ml.train's rules, with the boosting spread over workers.

`fit_churn_model` (ml.train) holds every labeled row in one process. On Spark the same
procedure runs where the rows are: the split (ml.train.split_part), the row buckets and the
sampling rule (row_buckets, sample_shares) are applied per partition; the counts,
features with no value and the training categories are one Spark aggregation; each tree
shape of CANDIDATES is boosted by XGBoost's Spark estimator
(`xgboost.spark.SparkXGBClassifier`, same parameters, early stopping on the validation
rows, one worker per ROWS_PER_WORKER sampled rows); the shapes are compared, and the
calibrator fitted, on the calibration rows' scores, the only rows collected (one number per
shape and the label). The booster is an ordinary XGBoost booster, so scoring and SHAP use
it unchanged.

Spark is imported only when a function here runs (the DuckDB engine never imports it).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from ml import linear, relations
from ml.blend import BLEND_FEATURE, BLEND_WEIGHT, CLIP
from ml.calibration import Calibrator
from ml.config import ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, model_columns
from ml.train import (
    LINEAR_WEIGHTS,
    MONTHS_FOR_TIME_SPLIT,
    ChurnModel,
    InsufficientHistoryError,
    booster_params,
    candidate_configs,
    linear_choice,
    row_buckets,
    sample_shares,
    split_part,
    weighed,
)

PART, BUCKET, WEIGHT, TARGET, IS_VALIDATION = "_part", "_bucket", "_weight", "_label", "_is_val"
TRAIN, VALIDATION, CALIBRATION = "train", "validation", "calibration"
# XGBoost parameters the Spark estimator sets itself (objective) or takes from Spark (threads).
SPARK_OWNED = ("objective", "nthread")
# Sampled rows per boosting worker (xgboost.spark's num_workers): a task of 1,000,000 rows x
# 40 features holds about 200 MB (float32 and the histogram index). Fewer rows per worker
# only add work: the workers sum their histograms every round, which on this 2-core machine
# made one worker faster than two at 15,000 rows (2.7 s vs 5.5 s per fit) and at 150,000
# rows (7.2 s vs 10.3 s) (docs/spark.md).
ROWS_PER_WORKER = 1_000_000
# The logistic regression (the backtest's baseline, and the part of the model it weighs in)
# learns in the driver from at most this many rows of its history.
# Rule: every row while the history is smaller; beyond, the rows whose hash of (customer,
# snapshot, seed) falls below LOGISTIC_MAX_ROWS / rows (a uniform sample, independent of row
# order and partitioning). fit_logistic then keeps every churner and 2 weighted non-churners
# per churner of that sample, as on DuckDB. Below the cap it learns from DuckDB's rows
# exactly; docs/spark.md has what the cap cost at 100,000 accounts.
LOGISTIC_MAX_ROWS = 200_000
HASH_BUCKETS = 1_000_000


def boosting_workers(rows: int, slots: int) -> int:
    """xgboost.spark's num_workers for `rows` sampled rows: one per ROWS_PER_WORKER, at least
    one, at most the session's task slots."""
    return max(1, min(slots, -(-rows // ROWS_PER_WORKER)))


def _parts(months: list[Any], min_months: int, seed: int, batch: pa.RecordBatch) -> pa.RecordBatch:
    """Per batch of rows: the rows with which part of the split each is in, and its sampling
    bucket (the keys read as relations.to_pandas reads them, as on DuckDB)."""
    keys = relations.to_pandas(pa.Table.from_batches([batch.select([CUSTOMER, SNAPSHOT])]))
    split = split_part(keys, months, min_months)
    part = np.where(split.calibration, CALIBRATION, np.where(split.validation, VALIDATION, TRAIN))
    return batch.append_column(PART, pa.array(part, pa.string())).append_column(
        BUCKET, pa.array(row_buckets(keys, seed), pa.float64())
    )


def _with_parts(rows: Any, months: list[Any], config: ModelConfig) -> Any:
    """The rows with their part of the split and sampling bucket, added where they are (no
    join, no shuffle)."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    assign = partial(_parts, months, config.min_train_months, config.seed)
    schema = StructType(
        [*rows.schema.fields, StructField(PART, StringType()), StructField(BUCKET, DoubleType())]
    )
    return rows.mapInArrow(lambda batches: (assign(batch) for batch in batches), schema)


def fit_churn_model(
    labeled: Any, config: ModelConfig, months: list[pd.Timestamp] | None = None
) -> ChurnModel:
    """ml.train.fit_churn_model for the labeled rows of a Spark DataFrame (see the module);
    `months`, the rows' snapshot months sorted, when the caller knows them already."""
    from pyspark.sql import functions as F

    logging.getLogger("XGBoost-PySpark").setLevel(logging.WARNING)
    spark = labeled.sparkSession
    columns = [c for c in model_columns(config) if c in labeled.columns]
    rows = labeled.where(F.col(LABEL).isNotNull()).select(*columns)
    if months is None:
        months = sorted(pd.Timestamp(row[0]) for row in rows.select(SNAPSHOT).distinct().collect())
    rows = _with_parts(rows, months, config).cache()
    try:
        return _fit(spark, rows, config, by_time=len(months) >= MONTHS_FOR_TIME_SPLIT)
    finally:
        rows.unpersist()


def digest(columns: list[Any]) -> list[Any]:
    """Aggregates that sum up a group's rows (`columns`: names or Spark columns) in any order:
    their count `n` and the sum of their hashes `hashes` (exact, in DECIMAL(38,0)); equal for
    equal rows, whatever the partitions."""
    from pyspark.sql import functions as F

    return [
        F.count("*").alias("n"),
        F.sum(F.xxhash64(*columns).cast("decimal(38,0)")).alias("hashes"),
    ]


def _fit(spark: Any, rows: Any, config: ModelConfig, by_time: bool) -> ChurnModel:
    from pyspark.sql import functions as F

    counts, present, categories = _facts(rows, config)
    config = replace(
        config,
        numeric_features=tuple(f for f in config.numeric_features if present[f]),
        categorical_features=tuple(f for f in config.categorical_features if present[f]),
    )
    categories = {name: categories[name] for name in config.categorical_features}
    n_train = sum(n for (part, _), n in counts.items() if part == TRAIN)
    refit = bool(config.params.get("refit_on_all_months")) and by_time
    encoded = _encode(rows, config, categories)
    # Early stopping's rows (train and validation, each sampled on its own) and the refit's.
    groupings: list[list[tuple[str, ...]]] = [[(TRAIN,), (VALIDATION,)]]
    if refit:
        groupings.append([(TRAIN, VALIDATION, CALIBRATION)])
    fitting, *everything = _sampled(encoded, config, groupings, counts)
    models = [
        ChurnModel(
            _boost(spark, fitting, candidate, config, early_stopping=True),
            Calibrator(),
            candidate,
            categories,
            n_train=n_train,
        )
        for candidate in candidate_configs(config)
    ]
    calibration = encoded.where(F.col(PART) == CALIBRATION)
    raws, y = _raw_scores(models, calibration)
    best: tuple[float, ChurnModel, np.ndarray] | None = None
    for model, raw in zip(models, raws, strict=True):
        score = float(roc_auc_score(y, raw)) if len(y) and y.min() != y.max() else float("nan")
        if best is None or score > best[0]:
            best = (score, model, raw)
    assert best is not None
    _, model, raw = best
    center = _blend_center(rows) if BLEND_FEATURE in config.features else None
    if center is not None:  # blend the trees with the BG/NBD model (ml.blend), as ml.train
        model.config = replace(model.config, blend_weight=BLEND_WEIGHT, blend_center=center)
        (raw,), y = _raw_scores([model], calibration)
    if config.tune and by_time and len(y) and y.min() != y.max():
        weighed_in = _weigh_in_logistic(
            model, rows.where(F.col(PART) == TRAIN), n_train, calibration
        )
        if weighed_in is not None:
            raw, y = weighed_in
    model.calibrator.fit(raw, y)
    if refit:
        # ml.train._refit_on_all_months: every matured month, the rounds early stopping chose.
        rounds = model.booster.num_boosted_rounds()
        model.booster = _boost(spark, everything[0], model.config, config, rounds=rounds)
        model.n_train = sum(counts.values())
        if model.config.linear_weight:
            _fit_linear(model, rows, model.n_train)
    return model


def _fit_linear(model: ChurnModel, rows: Any, n_rows: int) -> None:
    """ml.train._fit_linear on Spark: the logistic regression of ml.baselines, fitted in the
    driver on logistic_sample's rows (of `n_rows`), into the model's config; centred on them."""
    from ml.baselines import fit_logistic  # ml.baselines imports ml.train

    sample = logistic_sample(rows, model.config, n_rows)
    model.config = replace(
        model.config, linear=linear.to_plain(fit_logistic(sample, model.config), sample)
    )


def _weigh_in_logistic(
    model: ChurnModel, train: Any, n_train: int, calibration: Any
) -> tuple[np.ndarray, np.ndarray] | None:
    """ml.train._weigh_in_logistic on Spark: the logistic regression fitted on (a sample of) the
    training rows, weighed in at the weight of LINEAR_WEIGHTS that ranks the calibration month
    best (the same rule, ml.train.linear_choice). The calibration rows' raw probabilities at
    the chosen weight and their labels, from one pass that scores every weight per partition;
    None when the sample holds one outcome."""
    try:
        _fit_linear(model, train, n_train)
    except InsufficientHistoryError:
        return None
    raws, y = _raw_scores([weighed(model, weight) for weight in LINEAR_WEIGHTS], calibration)
    weight = linear_choice(y, raws)
    model.config = weighed(model, weight).config
    return raws[LINEAR_WEIGHTS.index(weight)], y


def _blend_center(rows: Any) -> float | None:
    """ml.blend.center_of the rows' BG/NBD log-odds (blend_logit's, one Spark aggregation), or
    None when no row has a BG/NBD score."""
    from pyspark.sql import functions as F

    p = F.col(BLEND_FEATURE).cast("double")
    # ml.blend.blend_logit's clip, on values only: least and greatest skip a missing value
    # (null, or NaN as pandas has it) and would return the bound instead.
    valued = p.isNotNull() & ~F.isnan(p)
    p = F.when(valued, F.greatest(F.least(p, F.lit(1 - CLIP)), F.lit(CLIP)))
    center = rows.agg(F.avg(F.log(p / (F.lit(1.0) - p)))).first()[0]
    return None if center is None else float(center)


def _facts(
    rows: Any, config: ModelConfig
) -> tuple[dict[tuple[str, bool], int], dict[str, int], dict[str, list[str]]]:
    """In one pass over the rows: the rows per (part, outcome), and, in the training rows, the
    values present per feature and each categorical feature's distinct values, sorted as text."""
    from pyspark.sql import functions as F

    categorical = list(config.categorical_features)
    found = (
        rows.groupBy(PART, LABEL)
        .agg(
            F.count("*").alias("_n"),
            *[F.count(F.col(f)).alias(f"_present_{f}") for f in config.features],
            *[F.collect_set(F.col(f).cast("string")).alias(f"_values_{f}") for f in categorical],
        )
        .collect()
    )
    counts = {(str(row[PART]), bool(row[LABEL])): int(row["_n"]) for row in found}
    train = [row for row in found if row[PART] == TRAIN]
    present = {f: sum(int(row[f"_present_{f}"]) for row in train) for f in config.features}
    categories = {
        f: sorted({str(value) for row in train for value in row[f"_values_{f}"]})
        for f in categorical
    }
    return counts, present, categories


def _encode(rows: Any, config: ModelConfig, categories: dict[str, list[str]]) -> Any:
    """Categorical features as codes of the training categories (unseen: null), as XGBoost
    codes pandas categories, so the fitted booster scores pandas frames (ml.frame.to_matrix)."""
    from pyspark.sql import functions as F

    for name in config.categorical_features:
        known = F.array(*[F.lit(value) for value in categories[name]])
        code = F.array_position(known, F.col(name).cast("string")) - 1
        rows = rows.withColumn(f"_code_{name}", F.when(code >= 0, code.cast("double")))
    return rows.withColumn(TARGET, F.col(LABEL).cast("int"))


def _sampled(
    rows: Any,
    config: ModelConfig,
    groupings: list[list[tuple[str, ...]]],
    counts: dict[tuple[str, bool], int],
) -> list[tuple[Any, int]]:
    """Per grouping, the rows of its groups of parts kept by sampling, with their weights
    (the rule of ml.train.negative_sample_weights, with counts over each group's rows;
    `counts`: rows per part and outcome), and how many rows that keeps. The kept rows of
    every group and outcome are counted in one pass."""
    from pyspark.sql import functions as F

    per_positive = config.params.get("negatives_per_positive")
    min_negatives = int(config.params.get("min_negatives") or 0)
    max_rows = config.params.get("max_training_rows")
    plans: list[list[tuple[Any, Any, int]]] = []  # per grouping: (rows, kept, how many)
    for groups in groupings:
        plan = []
        for group in groups:
            n_positive = sum(counts.get((part, True), 0) for part in group)
            n_negative = sum(counts.get((part, False), 0) for part in group)
            shares = sample_shares(n_positive, n_negative, per_positive, min_negatives, max_rows)
            for outcome, share, count in zip((0, 1), shares, (n_negative, n_positive), strict=True):
                if share is not None:
                    of_outcome = F.col(PART).isin(*group) & (F.col(TARGET) == outcome)
                    plan.append((of_outcome, of_outcome & (F.col(BUCKET) < share), count))
        plans.append(plan)
    kept_columns = [F.count(F.when(kept, 1)) for plan in plans for _, kept, _ in plan]
    n_kept = iter(rows.agg(*kept_columns).first() if kept_columns else [])
    sampled = []
    for groups, plan in zip(groupings, plans, strict=True):
        parts = [part for group in groups for part in group]
        size = sum(n for (part, _), n in counts.items() if part in parts)
        keep, weight = F.lit(True), F.lit(1.0)
        for of_outcome, kept, count in plan:
            kept_rows = int(next(n_kept))
            size -= count - kept_rows
            keep = keep & ~(of_outcome & ~kept)
            weight = F.when(kept, F.lit(count / max(kept_rows, 1))).otherwise(weight)
        fitting = rows.where(F.col(PART).isin(*parts)).where(keep).withColumn(WEIGHT, weight)
        sampled.append((fitting, size))
    return sampled


def _boost(
    spark: Any,
    sampled: tuple[Any, int],
    candidate: ModelConfig,
    config: ModelConfig,
    early_stopping: bool = False,
    rounds: int | None = None,
) -> Any:
    """One distributed boosting run on `sampled` (rows, how many): with early stopping on the
    validation rows (the trees up to the best round), or a fixed number of rounds on every row.
    Each worker reads its rows in bucket order, as ml.train orders them, so the model does
    not depend on the order the warehouse holds them in."""
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    params = {k: v for k, v in booster_params(candidate).items() if k not in SPARK_OWNED}
    features = [
        *config.numeric_features,
        *(f"_code_{name}" for name in config.categorical_features),
    ]
    frame, size = sampled
    workers = boosting_workers(size, spark.sparkContext.defaultParallelism)
    frame = frame.repartition(workers).sortWithinPartitions(BUCKET)
    options: dict[str, Any] = {"n_estimators": rounds or int(candidate.params["n_estimators"])}
    columns = [*features, TARGET, WEIGHT]
    if early_stopping:
        options["validation_indicator_col"] = IS_VALIDATION
        options["early_stopping_rounds"] = int(candidate.params["early_stopping_rounds"])
        frame = frame.withColumn(IS_VALIDATION, F.col(PART) == VALIDATION)
        columns.append(IS_VALIDATION)
    estimator = SparkXGBClassifier(
        features_col=features,
        label_col=TARGET,
        weight_col=WEIGHT,
        feature_types=["q"] * len(config.numeric_features)
        + ["c"] * len(config.categorical_features),
        num_workers=workers,
        missing=np.nan,
        verbose=False,
        **options,
        **params,
    )
    booster = estimator.fit(frame.select(*columns)).get_booster()
    if early_stopping:
        booster = booster[: booster.best_iteration + 1]
    # Named as ml.frame.to_matrix names its columns, so the booster scores pandas frames.
    booster.feature_names = list(config.features)
    return booster


def logistic_sample(history: Any, config: ModelConfig, rows: int) -> pd.DataFrame:
    """The history rows a logistic regression learns from (LOGISTIC_MAX_ROWS' rule), as pandas
    in (snapshot, customer) order."""
    from pyspark.sql import functions as F

    if rows > LOGISTIC_MAX_ROWS:
        bucket = F.pmod(F.xxhash64(CUSTOMER, SNAPSHOT, F.lit(config.seed)), F.lit(HASH_BUCKETS))
        history = history.where(bucket < F.lit(LOGISTIC_MAX_ROWS * HASH_BUCKETS // rows))
    return relations.to_pandas(history.orderBy(SNAPSHOT, CUSTOMER))


def _raw(models: list[ChurnModel], frame: pd.DataFrame) -> pd.DataFrame:
    raws = {f"raw_{i}": model.raw_probability(frame) for i, model in enumerate(models)}
    return pd.DataFrame({**raws, LABEL: frame[LABEL].astype(bool)})


def _raw_scores(models: list[ChurnModel], rows: Any) -> tuple[list[np.ndarray], np.ndarray]:
    """Every model's raw probabilities of rows, and their labels, scored per partition in one
    pass; only those numbers are collected."""
    schema = pa.schema(
        [*((f"raw_{i}", pa.float64()) for i in range(len(models))), (LABEL, pa.bool_())]
    )
    scored = relations.to_arrow(relations.map_frames(rows, partial(_raw, models), schema))
    raws = [
        scored.column(f"raw_{i}").to_numpy(zero_copy_only=False).astype(float)
        for i in range(len(models))
    ]
    labels = scored.column(LABEL).to_numpy(zero_copy_only=False).astype(int)
    return raws, labels
