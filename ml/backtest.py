"""Walk-forward backtest: for each month, train on what was known then, score that month."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from ml import cache as ml_cache
from ml import relations
from ml.baselines import (
    RECENCY_FEATURE,
    fit_logistic,
    logistic_scores,
    recency_ceiling,
    recency_scores,
)
from ml.config import ModelConfig
from ml.drift import expected_roc_auc
from ml.frame import (
    CUSTOMER,
    LABEL,
    SNAPSHOT,
    labeled_digests,
    labels,
    load_labeled,
    matured_before,
    model_frame,
)
from ml.metrics import evaluate
from ml.train import ChurnModel, InsufficientHistoryError, fit_churn_model, row_buckets

MODEL = "xgboost"
RECENCY = "recency"
LOGISTIC = "logistic"
# Every dataset gets these; non-contractual ones also BG_NBD (see BG_NBD_SCORE).
METHODS = (MODEL, RECENCY, LOGISTIC)
BG_NBD = "bg_nbd"
VALUE = "customer_value"
# The BG/NBD model's probability of no purchase within the horizon, fitted point in time on
# every snapshot's purchase histories in the feature mart (ml.btyd_scores): the field's
# baseline for non-contractual churn, compared wherever the mart has it.
BG_NBD_SCORE = "btyd_p_no_purchase"
# Columns the backtest reads besides the features: its metrics and the baselines' scores.
EXTRA_COLUMNS = (VALUE, RECENCY_FEATURE, BG_NBD_SCORE)
# Backtest months fitted at the same time (docs/speed.md: on 2 cores, two months with one
# XGBoost thread each beat one month with two threads, since much of a month is single-threaded).
MONTHS_AT_ONCE = 2
# With no month to walk forward to (one export of a customer file, or history shorter than a
# horizon), the newest labeled month is scored by models trained without its customers:
# this many folds of customers, each scored by models fitted on the others' rows.
HELD_OUT_FOLDS = 5
COLUMNS = [
    "scoring_month", "method", CUSTOMER, "score", "probability", "churned", "value", "n_train",
    "settings", "held_out",
]  # fmt: skip
# The rows of ml_backtest_predictions (the dbt model), on either engine.
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("scoring_month", pa.date32()),
        ("method", pa.string()),
        (CUSTOMER, pa.string()),
        ("score", pa.float64()),
        ("probability", pa.float64()),
        ("churned", pa.bool_()),
        ("value", pa.float64()),
        ("n_train", pa.int64()),
        ("settings", pa.string()),
        # True: the month's customers were held out of training (HELD_OUT_FOLDS), not a later
        # month scored by models trained on earlier ones.
        ("held_out", pa.bool_()),
    ]
)
# The code a backtest month's scores depend on (ml.cache.FITTING_CODE and this module): a
# change to any of it recomputes every month.
CODE_VERSION = ml_cache.code_version(__name__)


def scoring_months(frame: pd.DataFrame, config: ModelConfig) -> list[pd.Timestamp]:
    """The newest `backtest_months` labeled months that have enough history before them."""
    labeled = frame[frame[LABEL].notna()]
    months = sorted(pd.to_datetime(labeled[SNAPSHOT]).unique())
    # One row per labeled month is enough to count the matured months before each one.
    per_month = pd.DataFrame({SNAPSHOT: months, LABEL: True})
    eligible = [
        month
        for month in months
        if len(matured_before(per_month, month, config.horizon_days))
        >= max(config.min_train_months, 1)
    ]
    return eligible[-config.backtest_months :]


def score_month(
    history: pd.DataFrame,
    target: pd.DataFrame,
    config: ModelConfig,
    ceiling: float | None = None,
    bg_nbd: bool | None = None,
) -> pd.DataFrame:
    """Every method's scores for one month's customers, from models fitted on `history`
    (`ceiling`, `bg_nbd`: the month-wide facts of method_scores, when `target` is a part)."""
    buckets = row_buckets(history, config.seed)  # once for both fits
    model = fit_churn_model(history, config, buckets)
    logistic = fit_logistic(history, config, buckets=buckets)
    return method_scores(model, logistic, target, config, ceiling, bg_nbd)


def customer_folds(customers: pd.Series) -> np.ndarray:
    """Each customer's fold, 0..HELD_OUT_FOLDS-1, by a hash of its id: stable across builds
    and independent of ml.train's held-out buckets (which split each fold's training rows)."""
    hashed = pd.util.hash_pandas_object("fold " + customers.astype(str), index=False)
    return (hashed.to_numpy() % HELD_OUT_FOLDS).astype(int)


def held_out_scores(
    labeled: pd.DataFrame, month: pd.Timestamp, config: ModelConfig
) -> pd.DataFrame | None:
    """Every method's scores for `month`'s customers, each fold scored by models trained on
    the rows (this month and before) of the other folds' customers; None when a fold's
    training rows hold one outcome only. A check on customers the models never saw, not on
    a later month: rows say so (`held_out`)."""
    known = labeled[pd.to_datetime(labeled[SNAPSHOT]) <= month]
    fold = customer_folds(known[CUSTOMER])
    scored = (pd.to_datetime(known[SNAPSHOT]) == month).to_numpy()
    days = pd.to_numeric(known.loc[scored, RECENCY_FEATURE], errors="coerce").to_numpy(float)
    ceiling, bg_nbd = recency_ceiling(days), has_bg_nbd(known[scored])
    parts = []
    for k in range(HELD_OUT_FOLDS):
        target = known[scored & (fold == k)]
        if target.empty:
            continue
        try:
            parts.append(score_month(known[fold != k], target, config, ceiling, bg_nbd))
        except InsufficientHistoryError:
            return None
    return pd.concat(parts, ignore_index=True) if parts else None


def has_bg_nbd(target: pd.DataFrame) -> bool:
    """Whether the scored rows carry BG/NBD scores to compare (non-contractual data)."""
    return BG_NBD_SCORE in target and bool(target[BG_NBD_SCORE].notna().any())


def method_scores(
    model: ChurnModel,
    logistic: Pipeline,
    target: pd.DataFrame,
    config: ModelConfig,
    ceiling: float | None = None,
    bg_nbd: bool | None = None,
) -> pd.DataFrame:
    """Every method's scores of `target`'s rows from fitted models, row by row, so any split
    of the month's rows gives the same scores (Spark scores them per partition) once the two
    month-wide facts are given: the recency `ceiling` (ml.baselines.recency_ceiling of the
    whole month) and whether the month has BG/NBD scores (`bg_nbd`)."""
    raw = model.raw_probability(target)
    logistic_probability = logistic_scores(logistic, target, config)
    # method: (ranking score, calibrated probability or NaN)
    scores = {
        MODEL: (raw, model.calibrator.transform(raw)),
        RECENCY: (recency_scores(target, ceiling), np.full(len(target), np.nan)),
        LOGISTIC: (logistic_probability, logistic_probability),
    }
    if has_bg_nbd(target) if bg_nbd is None else bg_nbd:
        bg_nbd_scores = pd.to_numeric(target[BG_NBD_SCORE], errors="coerce").to_numpy(float)
        # A customer the model could not score (a month without a fit) ranks last.
        scores[BG_NBD] = (np.nan_to_num(bg_nbd_scores, nan=-1.0), bg_nbd_scores)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "method": method,
                    CUSTOMER: target[CUSTOMER].to_numpy(dtype=object),
                    "score": np.asarray(score, dtype=float),
                    "probability": np.asarray(probability, dtype=float),
                    "churned": labels(target),
                    "value": pd.to_numeric(target[VALUE], errors="coerce").to_numpy(dtype=float),
                    "n_train": model.n_train,
                    "settings": model.config.settings,
                }
            )
            for method, (score, probability) in scores.items()
        ],
        ignore_index=True,
    )


def _history(labeled: pd.DataFrame, month: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """What was known at `month` (ml.frame.matured_before), as a slice of the month-sorted frame."""
    snapshot = labeled[SNAPSHOT].to_numpy()
    per_month = pd.DataFrame({SNAPSHOT: np.unique(snapshot), LABEL: True})
    known = set(matured_before(per_month, month, horizon_days)[SNAPSHOT])
    end = int(np.searchsorted(snapshot, max(known), side="right")) if known else 0
    if set(np.unique(snapshot[:end])) == known:  # a prefix in time, as matured months are
        return labeled.iloc[:end]
    return labeled[labeled[SNAPSHOT].isin(known)]


def walk_forward(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Scores of every method for every customer of every backtest month (long format)."""
    labeled = _in_month_order(frame, config)
    months = sorted(pd.to_datetime(labeled[SNAPSHOT].unique()))
    return _walk_forward(lambda: labeled, months, config)


def backtest_table(snapshots: Any, config: ModelConfig, cache: Path | None = None) -> Any:
    """The walk-forward predictions of a feature-mart ref as ml_backtest_predictions' rows:
    an Arrow table on DuckDB (walk_forward on the labeled rows, compact); on Spark a Spark
    DataFrame fitted and scored where the rows are (ml.distributed_backtest).

    With a `cache` folder, a month whose history, scored rows, config and code are all
    unchanged since an earlier build is read back instead of refitted (see ml.cache). Its key
    holds per-month digests of the labeled rows computed on the engine (`labeled_digests`),
    so when every month is unchanged no labeled row is read into this process.
    """
    if relations.is_spark(snapshots):
        from ml import distributed_backtest

        return distributed_backtest.walk_forward(snapshots, config, cache)

    def rows() -> pd.DataFrame:
        return _in_month_order(load_labeled(snapshots, config, EXTRA_COLUMNS), config)

    if cache is None:
        predictions = walk_forward(rows(), config)
    else:
        digests = labeled_digests(snapshots, config, EXTRA_COLUMNS)
        predictions = _walk_forward(rows, list(digests), config, _Cache(cache, config, digests))
    if predictions.empty:
        return PREDICTIONS_SCHEMA.empty_table()
    predictions["scoring_month"] = predictions["scoring_month"].dt.date
    predictions["churned"] = predictions["churned"].astype(bool)
    return pa.Table.from_pandas(predictions, schema=PREDICTIONS_SCHEMA, preserve_index=False)


def _in_month_order(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """The labeled rows in the backtest's columns and types, sorted by month, so each month's
    history is a slice of this frame, not a copy (`load_labeled` delivers that order, so a
    large frame is not copied here)."""
    labeled = model_frame(frame, config, extra=EXTRA_COLUMNS)
    if labeled[LABEL].isna().any():
        labeled = labeled[labeled[LABEL].notna()]
    if not labeled[SNAPSHOT].is_monotonic_increasing:
        labeled = labeled.sort_values(SNAPSHOT, kind="stable")
    return labeled.reset_index(drop=True)


@dataclass(frozen=True)
class _Cache:
    """Where a build keeps backtest months, and what their keys are made of: the code, the
    config and the per-month digests of the labeled rows."""

    folder: Path
    config: ModelConfig
    digests: dict[pd.Timestamp, str]

    def key(self, known: list[pd.Timestamp], month: pd.Timestamp) -> str:
        """The name of `month`'s scores learned from the `known` months."""
        return ml_cache.key(
            CODE_VERSION,
            ml_cache.config_text(self.config),
            *(f"history {m:%Y-%m-%d} {self.digests[m]}" for m in known),
            f"scored {month:%Y-%m-%d} {self.digests[month]}",
        )


def _walk_forward(
    rows: Callable[[], pd.DataFrame],
    months: list[pd.Timestamp],
    config: ModelConfig,
    cache: _Cache | None = None,
) -> pd.DataFrame:
    """walk_forward over the labeled `months`, whose rows (`_in_month_order`) `rows()` reads
    only when a month has to be fitted: months stored in the `cache` are read back."""
    per_month = pd.DataFrame({SNAPSHOT: months, LABEL: True})
    to_score = scoring_months(per_month, config)

    def known(month: pd.Timestamp) -> list[pd.Timestamp]:
        return list(matured_before(per_month, month, config.horizon_days)[SNAPSHOT])

    names = [cache.key(known(month), month) if cache else "" for month in to_score]
    stored = [ml_cache.load(cache.folder if cache else None, name) for name in names]
    todo = [month for month, scored in zip(to_score, stored, strict=True) if scored is None]
    labeled = rows() if todo else pd.DataFrame()

    # Months are independent: fit MONTHS_AT_ONCE at a time, each XGBoost on its share of the
    # cores, so the single-threaded parts (pandas, the logistic baseline) use every core too.
    workers = max(1, min(MONTHS_AT_ONCE, os.cpu_count() or 1))
    one_month = replace(
        config, params={**config.params, "nthread": max(1, (os.cpu_count() or 1) // workers)}
    )

    def fit(month: pd.Timestamp) -> pd.DataFrame | None:
        """Score one month afresh; None when its history is too short to train on."""
        history = _history(labeled, month, config.horizon_days)
        try:
            return score_month(history, labeled[labeled[SNAPSHOT] == month], one_month)
        except InsufficientHistoryError:
            return None

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        fresh = dict(zip(todo, pool.map(fit, todo), strict=True))
    folder = cache.folder if cache else None
    parts, used = [], []
    for month, name, scored in zip(to_score, names, stored, strict=True):
        if scored is None:
            scored = fresh[month]
            if scored is None:
                continue
            ml_cache.save(folder, name, scored)
        used.append(name)
        parts.append(scored.assign(scoring_month=month, held_out=False)[COLUMNS])
    if not to_score and config.backtest_months > 0 and months:
        # Nothing to walk forward to: check the newest month on customers held out instead.
        month = months[-1]
        name = f"held-out-{cache.key(months, month)}" if cache else ""
        scored = _held_out(rows, month, config, folder, name)
        if scored is not None:
            used.append(name)
            parts.append(scored.assign(scoring_month=month, held_out=True)[COLUMNS])
    ml_cache.prune(folder, used, spare=2 * max(len(used), config.backtest_months))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _held_out(
    rows: Callable[[], pd.DataFrame],
    month: pd.Timestamp,
    config: ModelConfig,
    cache: Path | None,
    name: str,
) -> pd.DataFrame | None:
    """held_out_scores of `rows()`, read back from the ML cache when stored under `name`."""
    scored = ml_cache.load(cache, name)
    if scored is None:
        scored = held_out_scores(rows(), month, config)
        if scored is not None:
            ml_cache.save(cache, name, scored)
    return scored


def monthly_metrics(predictions: pd.DataFrame, capacity_k: int) -> pd.DataFrame:
    """One row per (month, method) with every metric of ml.metrics.evaluate (a baseline that
    ranks no one has no row: see _ranks_someone)."""
    groups = predictions.groupby(["scoring_month", "method"], sort=True)
    return pd.DataFrame(
        [_metrics_row(group, capacity_k) for _, group in groups if _ranks_someone(group)]
    )


def group_metrics(capacity_k: int, group: pd.DataFrame) -> pd.DataFrame:
    """monthly_metrics of one (month, method) group of predictions, as ml_backtest_metrics'
    row (the month as a date, with `capacity_k`): on Spark each group is one task's."""
    row = _metrics_row(group, capacity_k)
    row["scoring_month"] = pd.Timestamp(row["scoring_month"]).date()
    frame = pd.DataFrame([{**row, "capacity_k": capacity_k}])
    return frame if _ranks_someone(group) else frame.iloc[:0]


def _ranks_someone(group: pd.DataFrame) -> bool:
    """False for the recency baseline of data without activity dates (a customer file with
    no `days_since_last_activity`): one score for everyone is no ranking, and its "precision
    at k" would be wherever a tie happened to be cut."""
    if group["method"].iloc[0] != RECENCY:
        return True
    return bool(pd.Series(group["score"]).nunique(dropna=False) > 1)


def _metrics_row(group: pd.DataFrame, capacity_k: int) -> dict[str, Any]:
    probability = group["probability"].to_numpy(dtype=float)
    method = group["method"].iloc[0]
    metrics = evaluate(
        group["churned"].to_numpy(),
        group["score"].to_numpy(),
        group["value"].to_numpy(),
        capacity_k,
        probabilities=None if np.isnan(probability).all() else probability,
    )
    scored = ~np.isnan(probability)
    return {
        "scoring_month": group["scoring_month"].iloc[0],
        "method": method,
        "settings": str(group["settings"].iloc[0]) if method == MODEL else "",
        # Absent from the rows of a warehouse built before held-out checks existed.
        "held_out": bool(group["held_out"].iloc[0]) if "held_out" in group else False,
        "n_train": float(np.max(group["n_train"])),
        **metrics,
        # What the calibrated probabilities alone (labels unseen) said the ROC AUC would be:
        # beside the realized one, how far a provisional month's estimate can be trusted.
        "estimated_roc_auc": expected_roc_auc(
            probability[scored], group["score"].to_numpy(dtype=float)[scored]
        ),
    }
