"""Rankings a business would use without gradient boosting, to compare the model against."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ml.config import ModelConfig
from ml.frame import labels
from ml.train import (
    negative_sample_weights,
    require_both_outcomes,
    row_buckets,
    without_empty_features,
)

RECENCY_FEATURE = "days_since_last_activity"
# The logistic baseline learns from every positive and this many (weighted) negatives per
# positive: at 100,000 accounts its ROC AUC was 0.8340 against 0.8344 on every row, at a
# sixteenth of the cost (bench/README.md).
LOGISTIC_NEGATIVES_PER_POSITIVE = 2


def recency_ceiling(days: np.ndarray) -> float:
    """The score of never-active customers: above every customer's days since activity."""
    return float(np.nanmax(days)) + 1 if np.isfinite(days).any() else 1.0


def recency_scores(frame: pd.DataFrame, ceiling: float | None = None) -> np.ndarray:
    """Days since last activity as a risk score; never-active customers rank first (at
    `ceiling`, by default recency_ceiling of these rows; a part of the rows needs the whole's)."""
    days = pd.to_numeric(frame[RECENCY_FEATURE], errors="coerce").to_numpy(dtype=float)
    ceiling = recency_ceiling(days) if ceiling is None else ceiling
    return np.where(np.isnan(days), ceiling, days)


def fit_logistic(
    frame: pd.DataFrame,
    config: ModelConfig,
    rows: np.ndarray | None = None,
    buckets: np.ndarray | None = None,
) -> Pipeline:
    """Logistic regression on the same features: imputed, scaled, one-hot encoded.

    Trained on every positive and a weighted sample of negatives (both outcomes thinned
    alike past the `max_training_rows` training option), so its probabilities stay
    calibrated while its cost stays flat as the data grows. `rows` (positions) fits on part
    of the frame without copying that part: only the sampled rows are ever copied.
    `buckets`: the frame's `row_buckets`, when the caller has them already.
    """
    config = without_empty_features(frame, config, rows=rows)
    y = labels(frame)
    if buckets is None:
        buckets = row_buckets(frame, config.seed)
    if rows is not None:
        y, buckets = y[rows], buckets[rows]
    require_both_outcomes(y)
    weights = negative_sample_weights(
        y, buckets, LOGISTIC_NEGATIVES_PER_POSITIVE, max_rows=config.params.get("max_training_rows")
    )
    kept = np.flatnonzero(weights > 0)
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    prep = ColumnTransformer(
        [
            ("numeric", numeric, list(config.numeric_features)),
            ("categorical", categorical, list(config.categorical_features)),
        ]
    )
    # Newton-Cholesky: a handful of iterations on a few dozen columns, where lbfgs took ~55.
    model = make_pipeline(prep, LogisticRegression(solver="newton-cholesky", max_iter=100, C=1.0))
    # One BLAS thread: a busy-waiting second thread costs more than it gains here (bench/).
    with threadpool_limits(limits=1, user_api="blas"):
        return model.fit(
            _inputs(frame.iloc[kept if rows is None else rows[kept]], config),
            y[kept],
            logisticregression__sample_weight=weights[kept],
        )


def logistic_scores(model: Pipeline, frame: pd.DataFrame, config: ModelConfig) -> np.ndarray:
    """Churn probabilities from the logistic baseline."""
    return np.asarray(model.predict_proba(_inputs(frame, config))[:, 1], dtype=float)


def _inputs(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    inputs = frame[list(config.features)].copy()
    for name in config.numeric_features:
        inputs[name] = pd.to_numeric(inputs[name], errors="coerce").astype(float)
    for name in config.categorical_features:
        inputs[name] = inputs[name].astype(object).where(inputs[name].notna(), None)
    return inputs
