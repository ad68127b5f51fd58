"""SHAP explanations: exact TreeSHAP contributions in log-odds for the customers who need them.

TreeSHAP costs about 0.17 ms per customer for a 140-tree, depth-4 booster on 2 cores, so
explaining all 61,000 customers of a 100,000-account book took longer than every other ML
step together (bench/README.md). Reasons are needed for the customers a team can contact;
global importance needs a fair sample, not everyone. `rows_to_explain` picks both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb

from ml import linear
from ml.blend import BLEND_FEATURE, blend_logit
from ml.frame import CUSTOMER, to_matrix
from ml.train import ChurnModel
from ml.waterfall import points

# A book this small is explained in full (about 2 s of TreeSHAP at most)...
EXPLAIN_ALL_UP_TO = 10_000
# ...a larger one for the riskiest and the largest expected losses (at least k of each)...
EXPLAIN_TOP = 2_000
# ...and within each segment, plan and region, so a list filtered on one of them has reasons.
EXPLAIN_TOP_PER_GROUP = 200
GROUP_COLUMNS = ("segment", "plan", "region")
# Customers drawn at random (stable across builds) to average global importance over.
IMPORTANCE_SAMPLE = 2_000
# The rows explain_frame returns (one per customer and feature), as the ml_explanations model
# stores them.
EXPLANATION_SCHEMA = pa.schema(
    [
        (CUSTOMER, pa.string()),
        ("feature", pa.string()),
        ("feature_value", pa.string()),
        ("contribution", pa.float64()),
        ("base_value", pa.float64()),
        ("points", pa.float64()),
        ("importance_sample", pa.bool_()),
    ]
)


def contributions(model: ChurnModel, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features, log-odds) and the expected value they add up from.

    XGBoost's own exact TreeSHAP (`pred_contribs`): the same numbers as the shap package's
    TreeExplainer on this booster, without importing shap (seconds per build). With the
    logistic regression weighed in (ml.linear, weight v), the trees' values are scaled by
    (1 - v) and its exact per-feature contributions by v. With a BG/NBD blend (ml.blend) the
    core's values are scaled by (1 - w) and the BG/NBD score's feature gets w x (its log-odds
    - their mean), the mean joining the expected value: the sum still equals the model's
    margin exactly.
    """
    values, base_value = _core_contributions(model, frame)
    weight, center = model.config.blend_weight, model.config.blend_center
    logit = blend_logit(frame)
    if weight and logit is not None:
        values = (1 - weight) * values
        column = model.config.features.index(BLEND_FEATURE)
        values[:, column] += weight * (np.where(np.isnan(logit), center, logit) - center)
        base_value = (1 - weight) * base_value + weight * center
    return values, base_value


def _core_contributions(model: ChurnModel, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Contributions to ChurnModel.core_margin: the trees' TreeSHAP, the logistic regression's
    exact terms, or both weighed."""
    share = model.config.linear_weight
    if share:
        values, base_value = linear.contributions(model.config.linear, frame, model.config.features)
        if share >= 1:
            return values, base_value
    matrix = xgb.DMatrix(to_matrix(frame, model.config, model.categories), enable_categorical=True)
    trees = np.asarray(model.booster.predict(matrix, pred_contribs=True), dtype=float)
    trees_base = float(trees[0, -1]) if len(trees) else float("nan")
    if not share:
        return trees[:, :-1], trees_base
    mixed = (1 - share) * trees[:, :-1] + share * values
    return mixed, (1 - share) * trees_base + share * base_value


def rows_to_explain(
    frame: pd.DataFrame,
    probability: np.ndarray,
    risk_rank: np.ndarray,
    capacity_k: int,
    seed: int = 7,
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows to explain, and which of them form the random sample for global importance.

    Explained: the top max(k, EXPLAIN_TOP) by risk and by expected loss (probability x
    value at risk), and the top max(k, EXPLAIN_TOP_PER_GROUP) of each within every segment, plan and
    region, in the order the at-risk list uses (ties by risk rank); plus the sample, a
    uniform draw of IMPORTANCE_SAMPLE customers by a hash of their id. A book of at most
    EXPLAIN_ALL_UP_TO customers is explained in full, and all of it is the sample.
    """
    if len(frame) <= EXPLAIN_ALL_UP_TO:
        everyone = np.ones(len(frame), dtype=bool)
        return everyone, everyone
    value = np.nan_to_num(pd.to_numeric(frame["customer_value"], errors="coerce").to_numpy(float))
    top, per_group = max(capacity_k, EXPLAIN_TOP), max(capacity_k, EXPLAIN_TOP_PER_GROUP)
    explain = np.zeros(len(frame), dtype=bool)
    for score in (probability, probability * value):
        ranked = np.lexsort((risk_rank, -score))
        explain[ranked[:top]] = True
        for column in (c for c in GROUP_COLUMNS if c in frame.columns):
            groups = frame[column].astype("string").fillna("").to_numpy()[ranked]
            place = pd.Series(groups).groupby(groups).cumcount().to_numpy()
            explain[ranked[place < per_group]] = True
    sample = importance_sample(frame[CUSTOMER], IMPORTANCE_SAMPLE, seed)
    return explain | sample, sample


def importance_sample(customers: pd.Series, size: int, seed: int = 7) -> np.ndarray:
    """About `size` customers drawn uniformly by a hash of their id (everyone if fewer)."""
    if len(customers) <= size:
        return np.ones(len(customers), dtype=bool)
    hashed = pd.util.hash_pandas_object(
        customers.astype(str), index=False, hash_key=f"sample{seed:010d}"[-16:]
    ).to_numpy()
    return (hashed >> np.uint64(11)) / float(2**53) < size / len(customers)


def explain_frame(model: ChurnModel, sampled: frozenset[str], frame: pd.DataFrame) -> pd.DataFrame:
    """Long SHAP rows of `frame` (every customer or one partition of them): contributions,
    the base value they add up from, their points of risk, and whether the customer is in
    the importance sample (`sampled` ids, from rows_to_explain over every customer)."""
    values, base_value = contributions(model, frame)
    explained = long_contributions(model, frame, values)
    explained["base_value"] = base_value
    # The points each factor is worth on the customer's walk to their risk (the Why page's
    # bars), so the at-risk list's reasons are the waterfall's largest bars.
    explained["points"] = points(values, base_value, model.calibrator.transform).reshape(-1)
    in_sample = frame[CUSTOMER].astype(str).isin(sampled).to_numpy()
    explained["importance_sample"] = np.repeat(in_sample, len(model.config.features))
    return explained


def long_contributions(model: ChurnModel, frame: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """One row per customer and feature: the feature's value (as text) and its contribution."""
    features = list(model.config.features)
    n = len(frame)
    shown = frame[features].astype("string").fillna("").to_numpy()
    return pd.DataFrame(
        {
            CUSTOMER: np.repeat(frame[CUSTOMER].to_numpy(), len(features)),
            "feature": np.tile(features, n),
            "feature_value": shown.reshape(-1),
            "contribution": values.reshape(-1),
        }
    )
