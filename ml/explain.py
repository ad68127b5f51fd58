"""SHAP explanations: exact TreeSHAP contributions in log-odds, per customer and feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shap
import xgboost as xgb

from ml.frame import CUSTOMER, to_matrix
from ml.train import ChurnModel


def contributions(model: ChurnModel, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features, log-odds) and the expected value they add up from."""
    explainer = shap.TreeExplainer(model.booster)
    matrix = xgb.DMatrix(to_matrix(frame, model.config, model.categories), enable_categorical=True)
    values = np.asarray(explainer.shap_values(matrix), dtype=float)
    return values, float(np.ravel(explainer.expected_value)[0])


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
