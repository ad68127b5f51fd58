"""Turn feature-mart rows into model matrices with stable column order and categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.config import ModelConfig

SNAPSHOT = "snapshot_date"
LABEL = "churned_within_horizon"
CUSTOMER = "customer_id"


def learn_categories(frame: pd.DataFrame, config: ModelConfig) -> dict[str, list[str]]:
    """Categories seen in training, sorted; anything else is treated as missing at scoring."""
    return {
        name: sorted(frame[name].dropna().astype(str).unique().tolist())
        for name in config.categorical_features
    }


def to_matrix(
    frame: pd.DataFrame, config: ModelConfig, categories: dict[str, list[str]]
) -> pd.DataFrame:
    """Feature matrix in model order; categoricals fixed to the training categories."""
    matrix = pd.DataFrame(index=frame.index)
    for name in config.numeric_features:
        matrix[name] = pd.to_numeric(frame[name], errors="coerce").astype("float32")
    for name in config.categorical_features:
        values = frame[name].astype("string").astype(object)
        known = values.where(values.isin(categories[name]))  # unseen -> missing
        matrix[name] = pd.Categorical(known, categories=categories[name])
    return matrix


def labels(frame: pd.DataFrame) -> np.ndarray:
    """The 0/1 churn label of labeled rows."""
    return frame[LABEL].astype(bool).to_numpy(dtype=int)


def matured_before(frame: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Labeled snapshots whose horizon ended by `cutoff`: all that was known on that day."""
    snapshot = pd.to_datetime(frame[SNAPSHOT])
    known = snapshot + pd.Timedelta(days=horizon_days) <= cutoff
    return frame[known & frame[LABEL].notna()]
