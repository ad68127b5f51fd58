"""Fit the churn model: time-based split, early stopping, calibration on a later slice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.calibration import Calibrator
from ml.config import ModelConfig
from ml.frame import CUSTOMER, SNAPSHOT, labels, learn_categories, to_matrix


class InsufficientHistoryError(ValueError):
    """Raised when there are too few matured months to train honestly."""


# With fewer matured months than this, early stopping and calibration use held-out
# customers instead of later months (a customer is never on both sides).
MONTHS_FOR_TIME_SPLIT = 3
HELD_OUT_SHARE = 0.15


@dataclass
class Split:
    """Row masks for training, early stopping and calibration."""

    train: np.ndarray
    validation: np.ndarray
    calibration: np.ndarray
    by_time: bool


def _customer_bucket(customers: pd.Series) -> np.ndarray:
    """A stable pseudo-random number in [0, 1) per customer id."""
    hashed = pd.util.hash_pandas_object(customers.astype(str), index=False).to_numpy()
    return (hashed % 10_000) / 10_000.0


def split_rows(frame: pd.DataFrame, min_months: int) -> Split:
    """Newest month calibrates, the one before stops early; with few months, hold out customers."""
    month = pd.to_datetime(frame[SNAPSHOT])
    months = sorted(month.unique())
    if len(months) < max(min_months, 1):
        raise InsufficientHistoryError(
            f"{len(months)} matured snapshot month(s); training needs at least "
            f"{max(min_months, 1)}. Add history or lower the `min_train_months` dbt var."
        )
    if len(months) >= MONTHS_FOR_TIME_SPLIT:
        calibration = (month == months[-1]).to_numpy()
        validation = (month == months[-2]).to_numpy()
        return Split(~(calibration | validation), validation, calibration, by_time=True)
    bucket = _customer_bucket(frame[CUSTOMER])
    calibration = bucket < HELD_OUT_SHARE
    validation = (bucket >= HELD_OUT_SHARE) & (bucket < 2 * HELD_OUT_SHARE)
    return Split(~(calibration | validation), validation, calibration, by_time=False)


@dataclass
class ChurnModel:
    """A fitted booster with its calibrator and the categories it was trained on."""

    booster: xgb.Booster
    calibrator: Calibrator
    config: ModelConfig
    categories: dict[str, list[str]]
    n_train: int

    def raw_probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probabilities from the booster."""
        matrix = xgb.DMatrix(
            to_matrix(frame, self.config, self.categories), enable_categorical=True
        )
        return np.asarray(self.booster.predict(matrix), dtype=float)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities."""
        return self.calibrator.transform(self.raw_probability(frame))


def without_empty_features(train: pd.DataFrame, config: ModelConfig) -> ModelConfig:
    """Drop features with no value at all in training (e.g. tickets a dataset does not have)."""
    present = {name for name in config.features if train[name].notna().any()}
    return replace(
        config,
        numeric_features=tuple(f for f in config.numeric_features if f in present),
        categorical_features=tuple(f for f in config.categorical_features if f in present),
    )


def _booster_params(config: ModelConfig) -> dict[str, Any]:
    params = {k: v for k, v in config.params.items() if k != "early_stopping_rounds"}
    params.pop("n_estimators", None)
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_cat_to_onehot": 8,
        "seed": config.seed,
        "nthread": 0,
        **params,
    }


def fit_churn_model(frame: pd.DataFrame, config: ModelConfig) -> ChurnModel:
    """Fit the booster with early stopping, then calibrate on held-back rows (split_rows)."""
    split = split_rows(frame, config.min_train_months)
    train, valid, calib = frame[split.train], frame[split.validation], frame[split.calibration]
    config = without_empty_features(train, config)
    categories = learn_categories(train, config)

    def dmatrix(part: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(
            to_matrix(part, config, categories), label=labels(part), enable_categorical=True
        )

    dvalid = dmatrix(valid)
    booster = xgb.train(
        _booster_params(config),
        dmatrix(train),
        num_boost_round=int(config.params["n_estimators"]),
        evals=[(dvalid, "validation")],
        early_stopping_rounds=int(config.params["early_stopping_rounds"]),
        verbose_eval=False,
    )
    # Keep only the trees up to the best validation round.
    booster = booster[: booster.best_iteration + 1]
    model = ChurnModel(booster, Calibrator(), config, categories, n_train=len(train))
    model.calibrator.fit(model.raw_probability(calib), labels(calib))
    return model
