"""The logistic regression as plain numbers: a candidate part of the model's margin, explained
exactly.

The walk-forward compares the model with a logistic regression on the same features
(ml.baselines). On data where frequency and recency say most of what there is to say (a
purchase log with four columns per order), trees only tie with it. So each fit also weighs
in that logistic regression, fitted on the same training rows, and keeps the weight
(0, 1/2 or 1) that ranks the validation rows best (ml.train.fit_churn_model): chosen on
months before the one scored, like the tree shape.

Stored as numbers in the model's config (JSON in the registry), not as a pickled pipeline.
Its log-odds are a sum of one term per feature (the scaled value and its missing flag for a
number, the one-hot coefficient of its value for a category), so each feature's exact
contribution is its term minus the term's mean over the training rows, and the means join
the intercept as the expected value: the contributions add up to the margin exactly, as
TreeSHAP's do for the trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

Linear = dict[str, Any]


def to_plain(pipeline: Pipeline, frame: pd.DataFrame, rows: np.ndarray | None = None) -> Linear:
    """The numbers of a fitted ml.baselines.fit_logistic pipeline, centred on `frame`'s rows
    (`rows`: those positions only).

    {"intercept", "numeric": {feature: [median, mean, scale, coef, flag_mean, flag_scale,
    flag_coef]}, "categorical": {feature: {value: coef}}, "centers": {feature: mean term}};
    the flag numbers are 0 (scale 1) for a feature that had no missing value in training.
    """
    prep, regression = pipeline[0], pipeline[-1]
    coef = np.asarray(regression.coef_, dtype=float).ravel()
    linear: Linear = {
        "intercept": float(regression.intercept_[0]),
        "numeric": {},
        "categorical": {},
    }
    at = 0
    for name, transformer, columns in prep.transformers_:
        if name not in ("numeric", "categorical") or not len(columns):
            continue
        if name == "numeric":
            imputer, scaler = transformer[0], transformer[-1]
            flagged = list(imputer.indicator_.features_) if imputer.indicator_ else []
            n = len(columns)
            for i, feature in enumerate(columns):
                flag = [0.0, 1.0, 0.0]
                if i in flagged:
                    j = n + flagged.index(i)
                    flag = [float(scaler.mean_[j]), float(scaler.scale_[j]), float(coef[at + j])]
                linear["numeric"][feature] = [
                    float(imputer.statistics_[i]),
                    float(scaler.mean_[i]),
                    float(scaler.scale_[i]),
                    float(coef[at + i]),
                    *flag,
                ]
            at += n + len(flagged)
        else:
            encoder = transformer[-1]
            for feature, values in zip(columns, encoder.categories_, strict=True):
                linear["categorical"][feature] = {
                    str(value): float(c)
                    for value, c in zip(values, coef[at : at + len(values)], strict=True)
                }
                at += len(values)
    linear["centers"] = {
        feature: float(np.mean(column)) for feature, column in _terms(linear, frame, rows)
    }
    return linear


def _terms(
    linear: Linear, frame: pd.DataFrame, rows: np.ndarray | None = None
) -> Iterator[tuple[str, np.ndarray]]:
    """Each feature's term of the log-odds per row (before centring), one feature at a time,
    so a large frame never holds every term at once; `rows`: those positions only."""

    def column(feature: str) -> pd.Series:
        return frame[feature] if rows is None else frame[feature].iloc[rows]

    for feature, numbers in linear["numeric"].items():
        median, mean, scale, coef, flag_mean, flag_scale, flag_coef = numbers
        x = pd.to_numeric(column(feature), errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(x)
        yield (
            feature,
            (
                coef * (np.where(missing, median, x) - mean) / scale
                + flag_coef * (missing - flag_mean) / flag_scale
            ),
        )
    for feature, coefs in linear["categorical"].items():
        yield feature, _one_hot_terms(column(feature), coefs)


def _one_hot_terms(values: pd.Series, coefs: dict[str, float]) -> np.ndarray:
    """Each row's one-hot coefficient: its value's as text, "missing"'s where it has none, 0
    for a value training never saw. Looked up once per category, not once per row (the
    model frame's text columns are categories; a row-by-row map of 13 million rows took most
    of a fit at 1,000,000 accounts)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("string").astype("category")
    lookup = [coefs.get(str(value), 0.0) for value in values.cat.categories]
    # Code -1 (no value) takes the last entry: the coefficient of "missing".
    table = np.array([*lookup, coefs.get("missing", 0.0)], dtype=float)
    return table[values.cat.codes.to_numpy()]


def contributions(
    linear: Linear, frame: pd.DataFrame, features: tuple[str, ...]
) -> tuple[np.ndarray, float]:
    """Exact contributions (rows x `features`, log-odds) and the expected value they add up
    from; a feature the linear part does not use contributes 0."""
    values = np.zeros((len(frame), len(features)))
    for feature, column in _terms(linear, frame):
        values[:, features.index(feature)] = column - linear["centers"][feature]
    return values, linear["intercept"] + sum(linear["centers"].values())


def margin(linear: Linear, frame: pd.DataFrame) -> np.ndarray:
    """The logistic regression's log-odds per row."""
    total = np.zeros(len(frame))
    for _, column in _terms(linear, frame):
        total = total + column
    return linear["intercept"] + total
