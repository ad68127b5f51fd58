"""Model configuration: the `ml_config` row (dbt vars) read in one place, and the model's
features from the `feature_dictionary` rows. Defaults of the dbt vars live only in
dbt_project.yml; the hyperparameter defaults below are the ML layer's own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# How every model trains (bench/README.md has what each choice measured): at most 400
# rounds at learning rate 0.1 with patience 15, every churner plus 3 weighted non-churners
# per churner (at least 50,000), at most 1,000,000 rows in all (churners thinned too
# beyond that: at 1,000,000 accounts a month's history samples 1.4 million rows; the cap
# cut that month's fit from 137 s to 99 s for ROC AUC 0.8559 instead of 0.8565, docs/
# speed.md), and, once early stopping has chosen the rounds, a refit on every matured month
# (the newest two months are otherwise held back; with few months that is much of the
# history). The dbt var `xgboost_params` overrides any of these.
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 400,
    "learning_rate": 0.1,
    "early_stopping_rounds": 15,
    "negatives_per_positive": 3,
    "min_negatives": 50_000,
    "max_training_rows": 1_000_000,
    "refit_on_all_months": True,
}
# The tree shapes the walk-forward chooses between for every month, on the validation month
# (or held-out customers) of the history that month had (ml.train.fit_churn_model): small
# histories and noisy signals want shallow, regularized trees; large, rich ones can use
# deeper trees. The first is chosen unless another ranks the validation rows better. A
# dataset whose `xgboost_params` var sets any parameter trains with those, untuned.
CANDIDATES: dict[str, dict[str, Any]] = {
    "regularized": {
        "max_depth": 3,
        "min_child_weight": 20,
        "subsample": 0.7,
        "colsample_bytree": 0.4,
        "reg_lambda": 5.0,
    },
    "flexible": {
        "max_depth": 5,
        "min_child_weight": 5,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
    },
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
    # Choose the tree shape among CANDIDATES on each fit's validation rows (see fit_churn_model);
    # `settings` names the one a fitted model uses ("configured" when set by the dbt var).
    tune: bool = False
    settings: str = ""
    # The BG/NBD blend of the margin (ml.blend): its weight (0: the trees alone) and the
    # log-odds that stand in for a missing BG/NBD score.
    blend_weight: float = 0.0
    blend_center: float = 0.0
    # The logistic regression weighed into the margin (ml.linear): its weight (0: the trees
    # alone, 1: the logistic regression alone) and its numbers.
    linear_weight: float = 0.0
    linear: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        """All features in model order: numeric first, then categorical."""
        return self.numeric_features + self.categorical_features


def select_features(
    dictionary: list[dict[str, Any]],
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric, categorical) features of the dictionary rows ({feature, kind, position}), in
    the dictionary's order: by `position`, since a Spark table gives its rows in any order
    (the model, and the ML cache's key, would change from build to build)."""
    dictionary = sorted(dictionary, key=lambda row: row.get("position", 0))
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
    )
    return ModelConfig(
        numeric_features=numeric,
        categorical_features=categorical,
        horizon_days=settings.horizon_days,
        capacity_k=settings.capacity_k,
        backtest_months=settings.backtest_months,
        min_train_months=settings.min_train_months,
        params={**DEFAULT_PARAMS, **settings.xgboost_params},
        tune=not settings.xgboost_params,
        settings="" if not settings.xgboost_params else "configured",
    )
