"""Synthetic feature-mart frames for the ML unit tests: small, with real but noisy signal."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from ml.config import DEFAULT_PARAMS, ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT

PLANS = ("starter", "growth", "pro")
NUMERIC = ("days_since_last_activity", "active_days_30d", "mrr")
CATEGORICAL = ("plan",)
# Small and fast, but with early stopping and the production defaults otherwise.
FAST_PARAMS = {"n_estimators": 60, "early_stopping_rounds": 10, "max_depth": 3, "nthread": 1}


def churn_frame(
    customers: int = 200,
    months: int = 10,
    start: str = "2024-01-01",
    seed: int = 0,
    unlabeled_months: int = 1,
) -> pd.DataFrame:
    """Monthly snapshots whose churn label depends on inactivity; the newest months unlabeled."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=months, freq="MS")
    n = customers * months
    days_since = rng.exponential(12.0, n)
    days_since[rng.random(n) < 0.05] = np.nan  # never active
    active = np.clip(30 - days_since + rng.normal(0, 3, n), 0, 30)
    plan = rng.choice(PLANS, n)
    risk = -4.0 + 0.12 * np.nan_to_num(days_since, nan=40.0) + 0.8 * (plan == "starter")
    churned = rng.random(n) < 1 / (1 + np.exp(-risk))
    snapshot = np.repeat(dates, customers)
    label = pd.array(churned, dtype="boolean")
    if unlabeled_months:
        label[snapshot >= dates[months - unlabeled_months]] = pd.NA
    return pd.DataFrame(
        {
            CUSTOMER: np.tile([f"C{i:04d}" for i in range(customers)], months),
            SNAPSHOT: snapshot,
            "days_since_last_activity": days_since,
            "active_days_30d": active.round(),
            "mrr": (mrr := rng.choice([50.0, 200.0, 900.0], n)),
            "customer_value": mrr,
            "plan": plan,
            LABEL: label,
        }
    )


# Settings of the synthetic frames (monthly snapshots, a month's horizon).
OPTIONS = {"horizon_days": 30, "capacity_k": 100, "backtest_months": 12, "min_train_months": 4}


def model_config(params: dict[str, object] | None = None, **options: object) -> ModelConfig:
    """The config the synthetic frames fit: three numeric features and one categorical."""
    return ModelConfig(
        numeric_features=NUMERIC,
        categorical_features=CATEGORICAL,
        params={**DEFAULT_PARAMS, **FAST_PARAMS, **(params or {})},
        **{**OPTIONS, **options},  # type: ignore[arg-type]
    )


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """Factory of synthetic snapshot frames (see `churn_frame`)."""
    return churn_frame


@pytest.fixture
def make_config() -> Callable[..., ModelConfig]:
    """Factory of the matching ModelConfig, with fast hyperparameters."""
    return model_config
