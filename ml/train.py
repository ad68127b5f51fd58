"""Fit the churn model: time-based split, early stopping, calibration on a later slice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from ml import linear
from ml.blend import BLEND_FEATURE, BLEND_WEIGHT, blend_logit, blended, center_of
from ml.calibration import Calibrator
from ml.config import CANDIDATES, ModelConfig
from ml.frame import CUSTOMER, SNAPSHOT, labels, learn_categories, to_matrix
from ml.metrics import auc_gain_z


class InsufficientHistoryError(ValueError):
    """Raised when there are too few matured months to train honestly."""


class OneOutcomeError(InsufficientHistoryError):
    """Raised when every training row has the same outcome: there is nothing to learn."""


def require_both_outcomes(y: np.ndarray) -> None:
    """Raise OneOutcomeError, in words, when `y` (0/1 labels) holds one class only."""
    if len(y) and y.min() != y.max():
        return
    churned = bool(len(y)) and bool(y[0])
    what = "every customer churned" if churned else "no customer churned"
    hint = (
        "With non-contractual churn this happens when each customer has a single event (after "
        "it, every customer is inactive): map more history per customer, or lengthen "
        "`inactivity_days`."
        if churned
        else "Check the churn definition, and that cancellations (or long inactivity) appear "
        "in the data."
    )
    raise OneOutcomeError(
        f"All {len(y):,} matured snapshots the model would learn from have the same outcome "
        f"({what}); a model needs customers who stayed and customers who left. {hint}"
    )


# With fewer matured months than this, early stopping and calibration use held-out
# customers instead of later months (a customer is never on both sides).
MONTHS_FOR_TIME_SPLIT = 3
HELD_OUT_SHARE = 0.15
# Keys of `config.params` that steer training here rather than being XGBoost parameters.
TRAINING_OPTIONS = (
    "n_estimators",
    "early_stopping_rounds",
    "negatives_per_positive",
    "min_negatives",
    "max_training_rows",
    "refit_on_all_months",
)


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
    return split_part(frame, sorted(pd.to_datetime(frame[SNAPSHOT]).unique()), min_months)


def split_part(frame: pd.DataFrame, months: list[Any], min_months: int) -> Split:
    """`split_rows` for rows of a frame whose months (all of them, sorted) are `months`: the
    frame may be one partition of it (a customer's rows go by a hash of its id)."""
    month = pd.to_datetime(frame[SNAPSHOT])
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
    n_train: int  # training rows the model learned from (sampled negatives stand for the rest)

    def booster_margin(self, frame: pd.DataFrame) -> np.ndarray:
        """The booster's log-odds alone."""
        matrix = xgb.DMatrix(
            to_matrix(frame, self.config, self.categories), enable_categorical=True
        )
        return np.asarray(self.booster.predict(matrix, output_margin=True), dtype=float)

    def core_margin(self, frame: pd.DataFrame) -> np.ndarray:
        """The booster's log-odds, weighed with the logistic regression's where chosen
        (ml.linear)."""
        weight = self.config.linear_weight
        if weight >= 1:
            return linear.margin(self.config.linear, frame)
        trees = self.booster_margin(frame)
        if not weight:
            return trees
        return (1 - weight) * trees + weight * linear.margin(self.config.linear, frame)

    def margin(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's log-odds: the core's (core_margin), blended with BG/NBD where chosen
        (ml.blend)."""
        return blended(
            self.core_margin(frame),
            blend_logit(frame),
            self.config.blend_weight,
            self.config.blend_center,
        )

    def raw_probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probabilities of the model."""
        return 1.0 / (1.0 + np.exp(-self.margin(frame)))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities."""
        return self.calibrator.transform(self.raw_probability(frame))


def without_empty_features(
    train: pd.DataFrame, config: ModelConfig, rows: np.ndarray | None = None
) -> ModelConfig:
    """Drop features with no value at all in training (e.g. tickets a dataset does not have).

    `rows` (positions) limits the check to part of the frame without copying that part.
    """

    def has_values(name: str) -> bool:
        present = train[name].notna().to_numpy()
        return bool((present if rows is None else present[rows]).any())

    present = {name for name in config.features if has_values(name)}
    return replace(
        config,
        numeric_features=tuple(f for f in config.numeric_features if f in present),
        categorical_features=tuple(f for f in config.categorical_features if f in present),
    )


def row_buckets(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """A stable pseudo-random number in [0, 1) per (customer, snapshot), whatever the row order."""
    customers = frame[CUSTOMER]
    if not isinstance(customers.dtype, pd.CategoricalDtype):
        customers = customers.astype(str)
    customer = pd.util.hash_pandas_object(
        customers, index=False, hash_key=f"baton{seed:011d}"[-16:]
    ).to_numpy()
    day = pd.to_datetime(frame[SNAPSHOT]).to_numpy().astype("datetime64[D]").astype(np.uint64)
    mixed = pd.util.hash_array(customer ^ (day * np.uint64(0x9E3779B97F4A7C15)))
    return (mixed >> np.uint64(11)) / float(2**53)


def negative_sample_weights(
    y: np.ndarray,
    buckets: np.ndarray,
    per_positive: float | None,
    min_negatives: int = 0,
    max_rows: int | None = None,
) -> np.ndarray:
    """Every positive and some negatives, weighted to stand for all of them.

    Keeps about max(`per_positive` x positives, `min_negatives`) negatives (all of them when
    that is not fewer). When that sample holds more than `max_rows` rows, positives and kept
    negatives are both thinned by the same share to about `max_rows`. One weight per row: 0
    for a dropped row, n_class / n_kept_of_that_class for a kept one (1 for every positive
    when positives are not thinned), so the weighted class balance (and so the raw
    probabilities) match the full data in expectation. Rows are kept by their `row_buckets`
    value, so the sample does not depend on row order, and a larger share keeps a superset
    of a smaller one.
    """
    weights = np.ones(len(y), dtype=np.float32)
    negatives = y == 0
    n_negative, n_positive = int(negatives.sum()), len(y) - int(negatives.sum())
    negative_kept, positive_kept = sample_shares(
        n_positive, n_negative, per_positive, min_negatives, max_rows
    )
    for rows, share, count in (
        (negatives, negative_kept, n_negative),
        (~negatives, positive_kept, n_positive),
    ):
        if share is not None:
            kept = rows & (buckets < share)
            weights[rows] = 0.0
            weights[kept] = count / max(int(kept.sum()), 1)
    return weights


def sample_shares(
    n_positive: int,
    n_negative: int,
    per_positive: float | None,
    min_negatives: int = 0,
    max_rows: int | None = None,
) -> tuple[float | None, float | None]:
    """The row bucket below which a negative, and a positive, is kept
    (negative_sample_weights); None where every row of that class is kept."""
    negative = negative_share(n_positive, n_negative, per_positive, min_negatives)
    kept = n_positive + (negative * n_negative if negative is not None else n_negative)
    if not max_rows or kept <= max_rows:
        return negative, None
    thin = max_rows / kept
    return (negative if negative is not None else 1.0) * thin, thin


def negative_share(
    n_positive: int, n_negative: int, per_positive: float | None, min_negatives: int = 0
) -> float | None:
    """The row bucket below which a negative is kept before any cap on rows, or None when
    every negative is kept: no positives, or no more negatives than wanted."""
    wanted = max(per_positive * n_positive, min_negatives) if per_positive else n_negative
    if n_positive == 0 or n_negative <= wanted:
        return None
    return wanted / n_negative


def booster_params(config: ModelConfig) -> dict[str, Any]:
    """XGBoost's parameters for a config (the training options taken out)."""
    params = {k: v for k, v in config.params.items() if k not in TRAINING_OPTIONS}
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_cat_to_onehot": 8,
        "seed": config.seed,
        "nthread": 0,
        **params,
    }


def _sampled_rows(
    y: np.ndarray, buckets: np.ndarray, rows: np.ndarray, config: ModelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `rows` kept by negative sampling, in bucket order, and their weights.

    Bucket order, not input order, so XGBoost's own row subsampling (and so the model)
    does not depend on how the warehouse happened to order the rows.
    """
    weights = negative_sample_weights(
        y[rows],
        buckets[rows],
        config.params.get("negatives_per_positive"),
        int(config.params.get("min_negatives") or 0),
        config.params.get("max_training_rows"),
    )
    kept, kept_weights = rows[weights > 0], weights[weights > 0]
    order = np.argsort(buckets[kept], kind="stable")
    return kept[order], kept_weights[order]


def candidate_configs(config: ModelConfig) -> list[ModelConfig]:
    """The configs a fit chooses between: one per CANDIDATES entry when tuning, else itself."""
    if not config.tune:
        return [config]
    return [
        replace(config, params={**config.params, **shape}, tune=False, settings=name)
        for name, shape in CANDIDATES.items()
    ]


def _validation_auc(booster: xgb.Booster, matrix: xgb.DMatrix, y: np.ndarray) -> float:
    """ROC AUC of the booster on the validation rows (NaN when they hold one class only)."""
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, booster.predict(matrix)))


def fit_churn_model(
    frame: pd.DataFrame, config: ModelConfig, buckets: np.ndarray | None = None
) -> ChurnModel:
    """Fit the booster with early stopping, then calibrate on held-back rows (split_rows).

    Training and early stopping see every positive and a weighted sample of negatives
    (`negatives_per_positive`); calibration always sees its whole slice, so calibrated
    probabilities are judged on the real class balance. With `config.tune`, one booster per
    tree shape of CANDIDATES is fitted and the one that ranks the validation rows best is
    kept (the first on a tie): the choice uses only this history, never the rows scored.
    With a split by time, the logistic regression is then weighed in where it ranks those
    rows better (`_weigh_in_logistic`, ml.linear).
    """
    split = split_rows(frame, config.min_train_months)
    require_both_outcomes(labels(frame))
    tune = config.tune
    train_rows = np.flatnonzero(split.train)
    # Column by column, so the (large) training part is never copied whole.
    config = without_empty_features(frame, config, rows=train_rows)
    categories = learn_categories(frame[list(config.categorical_features)].iloc[train_rows], config)
    y = labels(frame)
    if buckets is None:  # the frame's row_buckets, unless the caller has them already
        buckets = row_buckets(frame, config.seed)

    def dmatrix(rows: np.ndarray, weight: np.ndarray | None = None) -> xgb.DMatrix:
        part = frame.iloc[rows]
        return xgb.DMatrix(
            to_matrix(part, config, categories),
            label=y[rows],
            weight=weight,
            enable_categorical=True,
        )

    training = dmatrix(*_sampled_rows(y, buckets, train_rows, config))
    stopping = dmatrix(*_sampled_rows(y, buckets, np.flatnonzero(split.validation), config))
    judged_rows = np.flatnonzero(split.calibration)
    judging = dmatrix(judged_rows)
    best: tuple[float, xgb.Booster, ModelConfig] | None = None
    for candidate in candidate_configs(config):
        booster = xgb.train(
            booster_params(candidate),
            training,
            num_boost_round=int(candidate.params["n_estimators"]),
            evals=[(stopping, "validation")],
            early_stopping_rounds=int(candidate.params["early_stopping_rounds"]),
            verbose_eval=False,
        )
        # Keep only the trees up to the best validation round.
        booster = booster[: booster.best_iteration + 1]
        score = _validation_auc(booster, judging, y[judged_rows])
        if best is None or score > best[0]:
            best = (score, booster, candidate)
    assert best is not None
    _, booster, config = best
    model = ChurnModel(booster, Calibrator(), config, categories, n_train=len(train_rows))
    calib = frame[split.calibration]
    logit = blend_logit(frame) if BLEND_FEATURE in config.features else None
    if logit is not None:  # blend the trees with the BG/NBD model (ml.blend)
        model.config = replace(
            model.config, blend_weight=BLEND_WEIGHT, blend_center=center_of(logit)
        )
    if tune and split.by_time:
        _weigh_in_logistic(model, frame, buckets, train_rows, judged_rows)
    model.calibrator.fit(model.raw_probability(calib), labels(calib))
    if config.params.get("refit_on_all_months") and split.by_time:
        _refit_on_all_months(model, dmatrix, y, buckets)
        if model.config.linear_weight:
            _fit_linear(model, frame, buckets)
    return model


# The weights of the logistic regression in the margin a fit chooses between (ml.linear).
# The second, small one breaks the trees' ties (see TIED).
LINEAR_WEIGHTS = (0.0, 0.1, 0.5, 1.0)
# Trees alone whose scores of the validation rows have fewer distinct values than this share
# of the rows are coarse: early stopping kept one or a few trees (a subscription ledger with
# no activity data: one tree, nine risks for 218 customers), so whole groups of customers
# share one risk. Their ties are broken by the logistic regression at LINEAR_WEIGHTS[1],
# unless that ranks the validation rows worse than the trees alone by more than
# LINEAR_MIN_GAIN_Z standard errors (the one-standard-error rule, the other way).
TIED = 0.5
# The first (trees alone) is kept unless the best of the others ranks the validation rows
# better by more than one standard error of the paired difference (ml.metrics.auc_gain_z):
# the one-standard-error rule. One month is a small sample (the demo's months have 60-110
# churners): choosing by the point estimate alone weighed it in on gains of 0.2-0.8 standard
# errors and lost 0.003-0.020 in the months scored (default demo mean 0.8394 -> 0.8368).
LINEAR_MIN_GAIN_Z = 1.0


def _fit_linear(
    model: ChurnModel, frame: pd.DataFrame, buckets: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """Fit the logistic regression of ml.baselines on `rows` (default: every row) into the
    model's config, without copying those rows (at 1,000,000 accounts a copy of the training
    part, and every feature's log-odds term on it at once, took gigabytes per month)."""
    from ml.baselines import fit_logistic  # ml.baselines imports this module

    fitted = fit_logistic(frame, model.config, rows, buckets)
    model.config = replace(model.config, linear=linear.to_plain(fitted, frame, rows))


def _weigh_in_logistic(
    model: ChurnModel,
    frame: pd.DataFrame,
    buckets: np.ndarray,
    train_rows: np.ndarray,
    judged_rows: np.ndarray,
) -> None:
    """Weigh the logistic regression, fitted on the training rows, into the margin with the
    weight of LINEAR_WEIGHTS that ranks the validation rows best (time-respecting, like the
    tree shape): where trees find nothing a linear model does not, the model is that model.
    Only with a split by time: held-out customers of the same months cannot show how a
    linear model extrapolates to a later month (Online Retail's April and May, trained on
    January's one-month histories, fell from 0.73 to 0.58 when it chose one on them)."""
    judged = frame.iloc[judged_rows]
    y = labels(judged)
    if y.min() == y.max():
        return
    try:
        _fit_linear(model, frame, buckets, train_rows)
    except InsufficientHistoryError:
        return
    margins = [weighed(model, weight).margin(judged) for weight in LINEAR_WEIGHTS]
    model.config = weighed(model, linear_choice(y, margins)).config


def weighed(model: ChurnModel, weight: float) -> ChurnModel:
    """The model (its booster shared) with its logistic regression weighed in at `weight`:
    its numbers dropped at 0, and named in the settings ("linear" alone at 1)."""
    config = model.config
    names = {0.0: config.settings, 1.0: "linear"}
    return replace(
        model,
        config=replace(
            config,
            linear_weight=weight,
            linear=config.linear if weight else {},
            settings=names.get(weight, f"{config.settings} + linear"),
        ),
    )


def linear_choice(y: np.ndarray, scores: list[np.ndarray]) -> float:
    """The weight of LINEAR_WEIGHTS whose scores (one per weight, any monotone form of the
    margin) rank `y` best, kept only when it beats the trees alone (the first) by more than
    LINEAR_MIN_GAIN_Z standard errors; else 0, or the tie-breaking weight LINEAR_WEIGHTS[1]
    when the trees alone are coarse (TIED) and it ranks `y` no worse than that."""
    aucs = [float(roc_auc_score(y, score)) for score in scores]
    aucs[1] = -np.inf  # the tie-breaking weight is for coarse trees only (below)
    best = int(np.argmax(aucs))
    gain_z = auc_gain_z(y, scores[0], scores[best]) if best else 0.0
    if gain_z > LINEAR_MIN_GAIN_Z:
        return LINEAR_WEIGHTS[best]
    coarse = np.unique(scores[0]).size < TIED * len(scores[0])
    if coarse and auc_gain_z(y, scores[0], scores[1]) > -LINEAR_MIN_GAIN_Z:
        return LINEAR_WEIGHTS[1]
    return 0.0


def _refit_on_all_months(
    model: ChurnModel,
    dmatrix: Callable[[np.ndarray, np.ndarray | None], xgb.DMatrix],
    y: np.ndarray,
    buckets: np.ndarray,
) -> None:
    """Refit the booster on every matured month with the rounds early stopping chose.

    With few months, the newest two (held back for early stopping and calibration) are a
    large, recent share of the history. The calibrator stays the one fitted out of sample
    on the early-stopped booster.
    """
    every_row = np.arange(len(y))
    model.booster = xgb.train(
        booster_params(model.config),
        dmatrix(*_sampled_rows(y, buckets, every_row, model.config)),
        num_boost_round=model.booster.num_boosted_rounds(),
    )
    model.n_train = len(every_row)
