"""The churn model fitted on Spark: ml.train's rules, with the boosting spread over workers.

`fit_churn_model` (ml.train) holds every labeled row in one process. On Spark the same
procedure runs where the rows are: the split (ml.train.split_part), the row buckets and the
negative sampling rule (row_buckets, negative_share) are applied per partition; features
with no value and the training categories are Spark aggregates; each tree shape of
CANDIDATES is boosted by XGBoost's Spark estimator (`xgboost.spark.SparkXGBClassifier`,
same parameters, early stopping on the validation rows); the shapes are compared, and the
calibrator fitted, on the calibration rows' scores, the only rows collected (two numbers
each). The booster is an ordinary XGBoost booster, so scoring and SHAP use it unchanged.

Spark is imported only when a function here runs (the DuckDB engine never imports it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from ml import relations
from ml.calibration import Calibrator
from ml.config import ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, model_columns
from ml.train import (
    MONTHS_FOR_TIME_SPLIT,
    ChurnModel,
    booster_params,
    candidate_configs,
    negative_share,
    row_buckets,
    split_part,
)

PART, BUCKET, WEIGHT, TARGET, IS_VALIDATION = "_part", "_bucket", "_weight", "_label", "_is_val"
TRAIN, VALIDATION, CALIBRATION = "train", "validation", "calibration"
# XGBoost parameters the Spark estimator sets itself (objective) or takes from Spark (threads).
SPARK_OWNED = ("objective", "nthread")


def _parts(months: list[Any], min_months: int, seed: int, frame: pd.DataFrame) -> pd.DataFrame:
    """Per partition: which part of the split each row is in, and its sampling bucket."""
    split = split_part(frame, months, min_months)
    part = np.where(split.calibration, CALIBRATION, np.where(split.validation, VALIDATION, TRAIN))
    return pd.DataFrame(
        {
            CUSTOMER: frame[CUSTOMER].to_numpy(),
            SNAPSHOT: frame[SNAPSHOT].to_numpy(),
            PART: part,
            BUCKET: row_buckets(frame, seed),
        }
    )


PARTS_SCHEMA = pa.schema(
    [
        (CUSTOMER, pa.string()),
        (SNAPSHOT, pa.timestamp("us")),
        (PART, pa.string()),
        (BUCKET, pa.float64()),
    ]
)


def fit_churn_model(labeled: Any, config: ModelConfig) -> ChurnModel:
    """ml.train.fit_churn_model for the labeled rows of a Spark DataFrame (see the module)."""
    from pyspark.sql import functions as F

    logging.getLogger("XGBoost-PySpark").setLevel(logging.WARNING)
    spark = labeled.sparkSession
    columns = [c for c in model_columns(config) if c in labeled.columns]
    rows = labeled.where(F.col(LABEL).isNotNull()).select(*columns)
    months = sorted(pd.Timestamp(row[0]) for row in rows.select(SNAPSHOT).distinct().collect())
    keys = rows.select(CUSTOMER, SNAPSHOT)
    assign = partial(_parts, months, config.min_train_months, config.seed)
    parts = relations.map_frames(keys, assign, PARTS_SCHEMA).withColumn(
        SNAPSHOT, F.to_date(SNAPSHOT)
    )
    rows = rows.join(parts, on=[CUSTOMER, SNAPSHOT]).cache()
    try:
        return _fit(spark, rows, config, by_time=len(months) >= MONTHS_FOR_TIME_SPLIT)
    finally:
        rows.unpersist()


def data_fingerprint(labeled: Any, config: ModelConfig) -> str:
    """A short hash of the labeled rows in any order (ml.registry.data_fingerprint's role),
    from per-month sums of row hashes computed on Spark."""
    from pyspark.sql import functions as F

    columns = [c for c in model_columns(config) if c in labeled.columns]
    per_month = (
        labeled.where(F.col(LABEL).isNotNull())
        .groupBy(SNAPSHOT)
        .agg(F.count("*").alias("n"), F.sum(F.xxhash64(*columns).cast("decimal(38,0)")).alias("h"))
        .orderBy(SNAPSHOT)
        .collect()
    )
    text = ";".join(f"{row[SNAPSHOT]} {row['n']} {row['h']}" for row in per_month)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fit(spark: Any, rows: Any, config: ModelConfig, by_time: bool) -> ChurnModel:
    from pyspark.sql import functions as F

    train = rows.where(F.col(PART) == TRAIN)
    present = train.select([F.count(F.col(f)).alias(f) for f in config.features]).first()
    config = replace(
        config,
        numeric_features=tuple(f for f in config.numeric_features if present[f]),
        categorical_features=tuple(f for f in config.categorical_features if present[f]),
    )
    categories = {name: _categories(train, name) for name in config.categorical_features}
    n_train = train.count()
    encoded = _encode(rows, config, categories)
    fitting = _sampled(encoded, config, [(TRAIN,), (VALIDATION,)])
    calibration = encoded.where(F.col(PART) == CALIBRATION)
    best: tuple[float, ChurnModel, np.ndarray, np.ndarray] | None = None
    for candidate in candidate_configs(config):
        booster = _boost(spark, fitting, candidate, config, early_stopping=True)
        model = ChurnModel(booster, Calibrator(), candidate, categories, n_train=n_train)
        raw, y = _raw_scores(model, calibration)
        score = float(roc_auc_score(y, raw)) if len(y) and y.min() != y.max() else float("nan")
        if best is None or score > best[0]:
            best = (score, model, raw, y)
    assert best is not None
    _, model, raw, y = best
    model.calibrator.fit(raw, y)
    if model.config.params.get("refit_on_all_months") and by_time:
        # ml.train._refit_on_all_months: every matured month, the rounds early stopping chose.
        everything = _sampled(encoded, config, [(TRAIN, VALIDATION, CALIBRATION)])
        rounds = model.booster.num_boosted_rounds()
        model.booster = _boost(spark, everything, model.config, config, rounds=rounds)
        model.n_train = rows.count()
    return model


def _categories(train: Any, name: str) -> list[str]:
    """Distinct values of a categorical feature in the training rows, sorted (as text)."""
    from pyspark.sql import functions as F

    values = train.select(F.col(name).cast("string")).where(F.col(name).isNotNull()).distinct()
    return sorted(str(row[0]) for row in values.collect())


def _encode(rows: Any, config: ModelConfig, categories: dict[str, list[str]]) -> Any:
    """Categorical features as codes of the training categories (unseen: null), as XGBoost
    codes pandas categories, so the fitted booster scores pandas frames (ml.frame.to_matrix)."""
    from pyspark.sql import functions as F

    for name in config.categorical_features:
        known = F.array(*[F.lit(value) for value in categories[name]])
        code = F.array_position(known, F.col(name).cast("string")) - 1
        rows = rows.withColumn(f"_code_{name}", F.when(code >= 0, code.cast("double")))
    return rows.withColumn(TARGET, F.col(LABEL).cast("int"))


def _sampled(rows: Any, config: ModelConfig, groups: list[tuple[str, ...]]) -> Any:
    """The rows of `groups` of parts kept by negative sampling, with their weights: the rule of
    ml.train.negative_sample_weights, with counts over each group's rows."""
    from pyspark.sql import functions as F

    per_positive = config.params.get("negatives_per_positive")
    min_negatives = int(config.params.get("min_negatives") or 0)
    fitting = rows.where(F.col(PART).isin(*[part for group in groups for part in group]))
    counts = {
        (str(row[PART]), bool(row[TARGET])): int(row["n"])
        for row in fitting.groupBy(PART, TARGET).agg(F.count("*").alias("n")).collect()
    }
    keep, weight = F.lit(True), F.lit(1.0)
    for group in groups:
        n_positive = sum(counts.get((part, True), 0) for part in group)
        n_negative = sum(counts.get((part, False), 0) for part in group)
        share = negative_share(n_positive, n_negative, per_positive, min_negatives)
        if share is None:
            continue
        negative = F.col(PART).isin(*group) & (F.col(TARGET) == 0)
        kept = negative & (F.col(BUCKET) < share)
        n_kept = fitting.where(kept).count()
        keep = keep & ~(negative & ~kept)
        weight = F.when(kept, F.lit(n_negative / max(n_kept, 1))).otherwise(weight)
    return fitting.where(keep).withColumn(WEIGHT, weight)


def _boost(
    spark: Any,
    sampled: Any,
    candidate: ModelConfig,
    config: ModelConfig,
    early_stopping: bool = False,
    rounds: int | None = None,
) -> Any:
    """One distributed boosting run: with early stopping on the validation rows (the trees up
    to the best round), or a fixed number of rounds on every row."""
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    params = {k: v for k, v in booster_params(candidate).items() if k not in SPARK_OWNED}
    features = [
        *config.numeric_features,
        *(f"_code_{name}" for name in config.categorical_features),
    ]
    options: dict[str, Any] = {"n_estimators": rounds or int(candidate.params["n_estimators"])}
    columns = [*features, TARGET, WEIGHT]
    if early_stopping:
        options["validation_indicator_col"] = IS_VALIDATION
        options["early_stopping_rounds"] = int(candidate.params["early_stopping_rounds"])
        sampled = sampled.withColumn(IS_VALIDATION, F.col(PART) == VALIDATION)
        columns.append(IS_VALIDATION)
    estimator = SparkXGBClassifier(
        features_col=features,
        label_col=TARGET,
        weight_col=WEIGHT,
        feature_types=["q"] * len(config.numeric_features)
        + ["c"] * len(config.categorical_features),
        num_workers=max(1, spark.sparkContext.defaultParallelism),
        missing=np.nan,
        verbose=False,
        **options,
        **params,
    )
    booster = estimator.fit(sampled.select(*columns)).get_booster()
    if early_stopping:
        booster = booster[: booster.best_iteration + 1]
    # Named as ml.frame.to_matrix names its columns, so the booster scores pandas frames.
    booster.feature_names = list(config.features)
    return booster


RAW_SCHEMA = pa.schema([("raw", pa.float64()), (LABEL, pa.bool_())])


def _raw(model: ChurnModel, frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"raw": model.raw_probability(frame), LABEL: frame[LABEL].astype(bool)})


def _raw_scores(model: ChurnModel, rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities and labels of rows, scored per partition; only the two collected."""
    scored = relations.to_arrow(relations.map_frames(rows, partial(_raw, model), RAW_SCHEMA))
    raw = scored.column("raw").to_numpy(zero_copy_only=False).astype(float)
    labels = scored.column(LABEL).to_numpy(zero_copy_only=False).astype(int)
    return raw, labels
