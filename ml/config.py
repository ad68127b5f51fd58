"""Model configuration: the `ml_config` row (dbt vars) read in one place, and the model's
features from the `feature_dictionary` rows. Defaults of the dbt vars live only in
dbt_project.yml; the hyperparameter defaults below are the ML layer's own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# Chosen by measuring walk-forward accuracy and time at 5,000 and 100,000 accounts
# (bench/README.md): a higher learning rate with shorter patience, and training on every
# churner plus 3 weighted non-churners per churner (at least 50,000) once there are more.
# The dbt var `xgboost_params` overrides any of them.
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.1,
    "max_depth": 4,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "early_stopping_rounds": 15,
    "negatives_per_positive": 3,
    "min_negatives": 50_000,
}


@dataclass(frozen=True)
class MLSettings:
    """The ML settings of a build: one row of the `ml_config` model (dbt vars)."""

    horizon_days: int
    capacity_k: int
    backtest_months: int
    min_train_months: int
    promotion_tolerance: float
    include_features: tuple[str, ...] = ()
    exclude_features: tuple[str, ...] = ()
    percentile_features: tuple[str, ...] = ()
    xgboost_params: dict[str, Any] = field(default_factory=dict)


def load_settings(ml_config: pd.DataFrame) -> MLSettings:
    """The one reader of the `ml_config` model, for every Python model that needs a setting."""
    row = ml_config.iloc[0]
    return MLSettings(
        horizon_days=int(row["horizon_days"]),
        capacity_k=int(row["capacity_k"]),
        backtest_months=int(row["backtest_months"]),
        min_train_months=int(row["min_train_months"]),
        promotion_tolerance=float(row["promotion_tolerance"]),
        include_features=tuple(json.loads(row["include_features"])),
        exclude_features=tuple(json.loads(row["exclude_features"])),
        percentile_features=tuple(json.loads(row["percentile_features"])),
        xgboost_params=dict(json.loads(row["xgboost_params"])),
    )


@dataclass(frozen=True)
class ModelConfig:
    """What to learn (features, horizon) and how (hyperparameters, capacity, backtest span)."""

    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    horizon_days: int
    capacity_k: int
    backtest_months: int
    min_train_months: int
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    seed: int = 7

    @property
    def features(self) -> tuple[str, ...]:
        """All features in model order: numeric first, then categorical."""
        return self.numeric_features + self.categorical_features


def select_features(
    dictionary: list[dict[str, Any]],
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    percentiles_of: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric, categorical) features of the dictionary rows ({feature, kind, percentile_of}),
    in order; a percentile feature only when the feature it ranks is in `percentiles_of`."""
    dictionary = [
        row
        for row in dictionary
        if not row.get("percentile_of") or row["percentile_of"] in percentiles_of
    ]
    names = [row["feature"] for row in dictionary]
    unknown = (set(include) | set(exclude)) - set(names)
    if unknown:
        raise ValueError(
            f"Unknown features in include_features/exclude_features: {sorted(unknown)}; "
            "see the feature_dictionary model for the names."
        )
    included = set(include or names)
    kept = [row for row in dictionary if row["feature"] in included - set(exclude)]
    return (
        tuple(r["feature"] for r in kept if r["kind"] == "numeric"),
        tuple(r["feature"] for r in kept if r["kind"] == "categorical"),
    )


def model_config(settings: MLSettings, dictionary: list[dict[str, Any]]) -> ModelConfig:
    """The config of a build's model: its settings and the features of its dictionary."""
    numeric, categorical = select_features(
        dictionary,
        settings.include_features,
        settings.exclude_features,
        settings.percentile_features,
    )
    return ModelConfig(
        numeric_features=numeric,
        categorical_features=categorical,
        horizon_days=settings.horizon_days,
        capacity_k=settings.capacity_k,
        backtest_months=settings.backtest_months,
        min_train_months=settings.min_train_months,
        params={**DEFAULT_PARAMS, **settings.xgboost_params},
    )
