"""Fit the churn model: time-based split, early stopping, calibration on a later slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.calibration import Calibrator
from ml.config import ModelConfig
from ml.frame import SNAPSHOT, labels, learn_categories, to_matrix


class InsufficientHistoryError(ValueError):
    """Raised when there are too few matured months to train honestly."""


@dataclass
class TimeSplit:
    """Snapshot months used for training, early stopping and calibration, oldest first."""

    train: list[pd.Timestamp]
    validation: pd.Timestamp
    calibration: pd.Timestamp


def time_split(frame: pd.DataFrame, min_months: int) -> TimeSplit:
    """Split matured months: last for calibration, the one before for early stopping."""
    months = sorted(pd.to_datetime(frame[SNAPSHOT]).unique())
    if len(months) < max(min_months, 3):
        raise InsufficientHistoryError(
            f"{len(months)} matured snapshot month(s); training needs at least "
            f"{max(min_months, 3)}. Add history or lower the `min_train_months` dbt var."
        )
    return TimeSplit(train=list(months[:-2]), validation=months[-2], calibration=months[-1])


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
    """Train on the oldest months, stop early on the next, calibrate on the newest."""
    split = time_split(frame, config.min_train_months)
    month = pd.to_datetime(frame[SNAPSHOT])
    train = frame[month.isin(split.train)]
    valid = frame[month == split.validation]
    calib = frame[month == split.calibration]
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
