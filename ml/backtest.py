"""Walk-forward backtest: for each month, train on what was known then, score that month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.baselines import fit_logistic, logistic_scores, recency_scores
from ml.config import ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, labels, matured_before
from ml.metrics import evaluate
from ml.train import InsufficientHistoryError, fit_churn_model

MODEL = "xgboost"
RECENCY = "recency"
LOGISTIC = "logistic"
METHODS = (MODEL, RECENCY, LOGISTIC)


def scoring_months(frame: pd.DataFrame, config: ModelConfig) -> list[pd.Timestamp]:
    """The newest `backtest_months` labeled months that have enough history before them."""
    labeled = frame[frame[LABEL].notna()]
    months = sorted(pd.to_datetime(labeled[SNAPSHOT]).unique())
    eligible = [
        month
        for month in months
        if pd.to_datetime(matured_before(labeled, month, config.horizon_days)[SNAPSHOT]).nunique()
        >= max(config.min_train_months, 1)
    ]
    return eligible[-config.backtest_months :]


def walk_forward(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Scores of every method for every customer of every backtest month (long format)."""
    labeled = frame[frame[LABEL].notna()]
    snapshot = pd.to_datetime(labeled[SNAPSHOT])
    parts = []
    for month in scoring_months(frame, config):
        history = matured_before(labeled, month, config.horizon_days)
        target = labeled[snapshot == month]
        try:
            model = fit_churn_model(history, config)
        except InsufficientHistoryError:
            continue
        logistic = fit_logistic(history, config)
        raw = model.raw_probability(target)
        logistic_probability = logistic_scores(logistic, target, config)
        recency = recency_scores(target)
        # method: (ranking score, calibrated probability or NaN)
        scores = {
            MODEL: (raw, model.calibrator.transform(raw)),
            RECENCY: (recency, np.full(len(target), np.nan)),
            LOGISTIC: (logistic_probability, logistic_probability),
        }
        for method, (score, probability) in scores.items():
            parts.append(
                pd.DataFrame(
                    {
                        "scoring_month": month,
                        "method": method,
                        CUSTOMER: target[CUSTOMER].to_numpy(),
                        "score": score,
                        "probability": probability,
                        "churned": labels(target),
                        "mrr": pd.to_numeric(target["mrr"], errors="coerce").to_numpy(),
                        "n_train": model.n_train,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            columns=[
                "scoring_month",
                "method",
                CUSTOMER,
                "score",
                "probability",
                "churned",
                "mrr",
                "n_train",
            ]
        )
    return pd.concat(parts, ignore_index=True)


def monthly_metrics(predictions: pd.DataFrame, capacity_k: int) -> pd.DataFrame:
    """One row per (month, method) with every metric of ml.metrics.evaluate."""
    rows = []
    for (month, method), group in predictions.groupby(["scoring_month", "method"], sort=True):
        probability = group["probability"].to_numpy(dtype=float)
        metrics = evaluate(
            group["churned"].to_numpy(),
            group["score"].to_numpy(),
            group["mrr"].to_numpy(),
            capacity_k,
            probabilities=None if np.isnan(probability).all() else probability,
        )
        rows.append(
            {
                "scoring_month": month,
                "method": method,
                "n_train": float(np.max(group["n_train"])),
                **metrics,
            }
        )
    return pd.DataFrame(rows)
