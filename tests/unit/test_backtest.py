"""Walk-forward backtest: each month is scored by models that only knew matured labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ml.backtest
from ml.backtest import METHODS, monthly_metrics, scoring_months, walk_forward
from ml.baselines import recency_ceiling
from ml.drift import expected_roc_auc
from ml.frame import CUSTOMER, LABEL, SNAPSHOT

# Jun 2023 .. Mar 2024: the last month follows February, whose 30-day horizon ends on Mar 2.
START, MONTHS = "2023-06-01", 10
MARCH = pd.Timestamp("2024-03-01")


def flip_labels_not_known_by(frame: pd.DataFrame, month: pd.Timestamp, horizon: int):
    """Invert every label that was still unknown on `month` (horizon not ended by then)."""
    poisoned = frame.copy()
    unknown = pd.to_datetime(poisoned[SNAPSHOT]) + pd.Timedelta(days=horizon) > month
    poisoned.loc[unknown, LABEL] = ~poisoned.loc[unknown, LABEL].astype(bool)
    return poisoned, int(unknown.sum())


def scores_of(predictions: pd.DataFrame, month: pd.Timestamp, method: str) -> np.ndarray:
    """Ranking scores and calibrated probabilities of one method and month, by customer."""
    rows = predictions[(predictions["scoring_month"] == month) & (predictions["method"] == method)]
    return rows.sort_values(CUSTOMER)[["score", "probability"]].to_numpy()


def leaky_matured_before(frame: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int):
    """A wrong filter that ignores the horizon: every labeled snapshot before the cutoff."""
    return frame[(pd.to_datetime(frame[SNAPSHOT]) < cutoff) & frame[LABEL].notna()]


def test_scoring_months_need_four_matured_months_and_keep_the_newest(
    make_frame, make_config
) -> None:
    frame = make_frame(customers=10, months=MONTHS, start=START, unlabeled_months=0)
    every = scoring_months(frame, make_config(backtest_months=12))
    # Oct 1 is the first month with Jun, Jul, Aug and Sep matured (Sep 1 + 30 days = Oct 1).
    assert every == list(pd.date_range("2023-10-01", MARCH, freq="MS"))
    assert scoring_months(frame, make_config(backtest_months=2)) == every[-2:]


def test_unlabeled_months_are_never_scored(make_frame, make_config) -> None:
    frame = make_frame(customers=10, months=MONTHS, start=START, unlabeled_months=2)
    months = scoring_months(frame, make_config())
    assert max(months) == pd.Timestamp("2024-01-01")


def test_each_month_trains_on_exactly_the_snapshots_whose_horizon_ended_by_then(
    make_frame, make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = make_frame(customers=60, months=MONTHS, start=START, seed=3, unlabeled_months=1)
    config = make_config(backtest_months=4)
    seen: dict[str, list[pd.DataFrame]] = {"xgboost": [], "logistic": []}
    fit_model, fit_logistic = ml.backtest.fit_churn_model, ml.backtest.fit_logistic

    def spy_model(history, cfg, buckets=None):
        seen["xgboost"].append(history)
        return fit_model(history, cfg, buckets)

    def spy_logistic(history, cfg, buckets=None):
        seen["logistic"].append(history)
        return fit_logistic(history, cfg, buckets=buckets)

    monkeypatch.setattr(ml.backtest, "fit_churn_model", spy_model)
    monkeypatch.setattr(ml.backtest, "fit_logistic", spy_logistic)
    predictions = walk_forward(frame, config)

    months = sorted(predictions["scoring_month"].unique())
    assert months == list(pd.date_range("2023-11-01", "2024-02-01", freq="MS"))
    all_months = pd.to_datetime(frame[SNAPSHOT])
    for method, histories in seen.items():
        assert len(histories) == len(months), method
        # Months are fitted concurrently; each month's history contains the one before.
        for month, history in zip(months, sorted(histories, key=len), strict=True):
            trained = set(pd.to_datetime(history[SNAPSHOT]))
            known = {m for m in set(all_months) if m + pd.Timedelta(days=30) <= month}
            assert trained == known, (method, month)
            assert history[LABEL].notna().all()
    # February's horizon ends on Mar 2: a March model may not know it (checked via months).
    assert pd.Timestamp("2024-02-01") + pd.Timedelta(days=30) > MARCH


def test_labels_unknown_at_scoring_time_do_not_change_that_months_scores(
    make_frame, make_config
) -> None:
    frame = make_frame(customers=150, months=MONTHS, start=START, seed=7, unlabeled_months=0)
    config = make_config(backtest_months=2)
    assert scoring_months(frame, config)[-1] == MARCH
    poisoned, flipped = flip_labels_not_known_by(frame, MARCH, config.horizon_days)
    assert flipped == 2 * 150  # February and March

    honest, tampered = walk_forward(frame, config), walk_forward(poisoned, config)
    for method in METHODS:
        np.testing.assert_array_equal(
            scores_of(tampered, MARCH, method), scores_of(honest, MARCH, method), err_msg=method
        )
    assert len(scores_of(honest, MARCH, "xgboost")) == 150


def test_poisoned_labels_would_change_the_scores_of_a_leaky_backtest(
    make_frame, make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the test above: the poisoning is strong enough to show a leak if there were one."""
    monkeypatch.setattr(ml.backtest, "matured_before", leaky_matured_before)
    frame = make_frame(customers=150, months=MONTHS, start=START, seed=7, unlabeled_months=0)
    config = make_config(backtest_months=2)
    poisoned, _ = flip_labels_not_known_by(frame, MARCH, config.horizon_days)
    honest, tampered = walk_forward(frame, config), walk_forward(poisoned, config)
    for method in ("xgboost", "logistic"):
        assert not np.array_equal(
            scores_of(tampered, MARCH, method), scores_of(honest, MARCH, method)
        ), method


def test_walk_forward_scores_every_customer_with_every_method(make_frame, make_config) -> None:
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=5, unlabeled_months=1)
    predictions = walk_forward(frame, make_config(backtest_months=2))
    counts = predictions.groupby(["scoring_month", "method"]).size()
    assert set(predictions["method"]) == set(METHODS)
    assert (counts == 80).all()
    assert len(counts) == 2 * len(METHODS)


def test_a_history_with_one_outcome_only_returns_no_rows(make_frame, make_config) -> None:
    frame = make_frame(customers=20, months=4, start=START, unlabeled_months=1)
    frame[LABEL] = frame[LABEL].where(frame[LABEL].isna(), False)  # nobody ever churned
    predictions = walk_forward(frame, make_config())
    assert predictions.empty
    assert {"scoring_month", "method", CUSTOMER, "score", "churned"} <= set(predictions.columns)


def test_with_no_month_to_walk_forward_to_each_customer_is_scored_by_models_that_never_saw_it(
    make_frame, make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One labeled snapshot, as one export of a customer file gives: nothing to walk forward to.
    frame = make_frame(customers=400, months=1, start=START, seed=11, unlabeled_months=0)
    config = make_config(min_train_months=1)  # what a model in service needs here, too
    assert scoring_months(frame, config) == []
    trained: dict[str, list[set[str]]] = {"xgboost": [], "logistic": []}
    fit_model, fit_logistic = ml.backtest.fit_churn_model, ml.backtest.fit_logistic

    def spy_model(history, cfg, buckets=None):
        trained["xgboost"].append(set(history[CUSTOMER]))
        return fit_model(history, cfg, buckets)

    def spy_logistic(history, cfg, buckets=None):
        trained["logistic"].append(set(history[CUSTOMER]))
        return fit_logistic(history, cfg, buckets=buckets)

    monkeypatch.setattr(ml.backtest, "fit_churn_model", spy_model)
    monkeypatch.setattr(ml.backtest, "fit_logistic", spy_logistic)
    predictions = walk_forward(frame, config)

    assert set(predictions["scoring_month"]) == {pd.Timestamp(START)}
    assert predictions["held_out"].all()
    counts = predictions.groupby("method")[CUSTOMER].agg(["size", "nunique"])
    assert (counts["size"] == 400).all() and (counts["nunique"] == 400).all()
    folds = ml.backtest.customer_folds(frame[CUSTOMER])
    assert sorted(set(folds)) == list(range(ml.backtest.HELD_OUT_FOLDS))
    every = set(frame[CUSTOMER])
    for method, histories in trained.items():
        assert len(histories) == ml.backtest.HELD_OUT_FOLDS, method
        # Each fold's models learned from every customer but that fold's, never from it.
        held_out = sorted((every - history for history in histories), key=sorted)
        expected = sorted(
            (set(frame.loc[folds == k, CUSTOMER]) for k in range(ml.backtest.HELD_OUT_FOLDS)),
            key=sorted,
        )
        assert held_out == expected, method
    metrics = monthly_metrics(predictions, config.capacity_k).set_index("method")
    assert metrics["held_out"].all()
    assert metrics.loc["xgboost", "roc_auc"] > 0.7  # the synthetic signal is found


def test_a_recency_baseline_without_activity_dates_has_no_metrics_row(
    make_frame, make_config
) -> None:
    frame = make_frame(customers=300, months=1, start=START, seed=2, unlabeled_months=0)
    frame["days_since_last_activity"] = np.nan  # a customer file without activity dates
    predictions = walk_forward(frame, make_config(min_train_months=1))
    assert set(predictions["method"]) == set(METHODS)
    metrics = monthly_metrics(predictions, 100)
    assert set(metrics["method"]) == {"xgboost", "logistic"}
    recency = predictions[predictions["method"] == "recency"]
    assert ml.backtest.group_metrics(100, recency).empty  # the dbt model's path, too
    assert (
        len(ml.backtest.group_metrics(100, predictions[predictions["method"] == "logistic"])) == 1
    )


def test_monthly_metrics_has_one_row_per_month_and_method(make_frame, make_config) -> None:
    frame = make_frame(customers=120, months=MONTHS, start=START, seed=6, unlabeled_months=1)
    config = make_config(backtest_months=2, capacity_k=10)
    predictions = walk_forward(frame, config)
    metrics = monthly_metrics(predictions, config.capacity_k)
    assert len(metrics) == 2 * len(METHODS)
    assert not metrics.duplicated(["scoring_month", "method"]).any()
    assert (metrics["n_customers"] == 120).all()
    recency = metrics[metrics["method"] == "recency"]
    assert recency["brier"].isna().all()
    assert metrics.loc[metrics["method"] != "recency", "brier"].between(0, 1).all()
    # The synthetic churn follows inactivity: the model ranks far better than chance.
    assert (metrics.loc[metrics["method"] == "xgboost", "roc_auc"] > 0.7).all()
    # Beside each month's realized ROC AUC, what its probabilities alone said to expect
    # (monitor_performance's track record of the estimate); none for the recency ranking.
    assert recency["estimated_roc_auc"].isna().all()
    for (month, method), row in metrics.set_index(["scoring_month", "method"]).iterrows():
        if method == "recency":
            continue
        group = predictions[
            (predictions["scoring_month"] == month) & (predictions["method"] == method)
        ]
        assert row["estimated_roc_auc"] == pytest.approx(
            expected_roc_auc(group["probability"].to_numpy(), group["score"].to_numpy())
        )
        assert 0.5 < row["estimated_roc_auc"] < 1


def test_scores_of_a_month_split_in_parts_equal_the_scores_of_the_whole_month(
    make_frame, make_config
) -> None:
    # Spark scores a month per partition: given the month-wide facts, any split scores alike.
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=5, unlabeled_months=0)
    frame.loc[frame.index[::7], "days_since_last_activity"] = np.nan
    config = make_config()
    month = pd.to_datetime(frame[SNAPSHOT])
    history, target = frame[month < pd.Timestamp("2024-01-01")], frame[month == MARCH]
    model = ml.backtest.fit_churn_model(history, config)
    logistic = ml.backtest.fit_logistic(history, config)
    whole = ml.backtest.method_scores(model, logistic, target, config)
    days = pd.to_numeric(target["days_since_last_activity"]).to_numpy(dtype=float)
    ceiling = recency_ceiling(days)
    parts = [target.iloc[:13], target.iloc[13:]]
    split = pd.concat(
        [ml.backtest.method_scores(model, logistic, part, config, ceiling, False) for part in parts]
    )
    key = ["method", CUSTOMER]
    pd.testing.assert_frame_equal(
        split.sort_values(key).reset_index(drop=True), whole.sort_values(key).reset_index(drop=True)
    )
