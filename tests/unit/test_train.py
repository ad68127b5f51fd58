"""Training: split by time (train < validation < calibration), early stopping, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.config import select_features
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, labels
from ml.train import InsufficientHistoryError, fit_churn_model, split_rows


def labeled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[LABEL].notna()]


@pytest.mark.parametrize(("months", "min_months"), [(3, 4), (1, 4), (5, 6)])
def test_split_refuses_fewer_months_than_min_train_months(
    make_frame, months: int, min_months: int
) -> None:
    frame = make_frame(customers=20, months=months, unlabeled_months=0)
    with pytest.raises(InsufficientHistoryError, match=f"{months} matured snapshot month"):
        split_rows(frame, min_months)


def test_split_accepts_exactly_min_train_months(make_frame) -> None:
    frame = make_frame(customers=20, months=4, unlabeled_months=0)
    split = split_rows(frame, 4)
    assert split.by_time
    assert split.train.sum() == 2 * 20


def test_split_never_trains_on_a_month_later_than_validation_or_calibration(make_frame) -> None:
    frame = make_frame(customers=5, months=9, unlabeled_months=0)
    shuffled = frame.sample(frac=1.0, random_state=1)  # row order must not matter
    split = split_rows(shuffled, 4)
    month = pd.to_datetime(shuffled[SNAPSHOT])
    months = sorted(month.unique())
    assert split.by_time
    assert set(month[split.calibration]) == {months[-1]}
    assert set(month[split.validation]) == {months[-2]}
    assert set(month[split.train]) == set(months[:-2])
    assert month[split.train].max() < month[split.validation].min()
    assert month[split.validation].max() < month[split.calibration].min()


def test_split_of_a_short_history_holds_out_whole_customers(make_frame) -> None:
    frame = make_frame(customers=400, months=2, unlabeled_months=0)
    split = split_rows(frame, 1)
    assert not split.by_time
    parts = (split.train, split.validation, split.calibration)
    assert (np.sum(parts, axis=0) == 1).all()  # every row in exactly one part
    customers = [set(frame.loc[part, CUSTOMER]) for part in parts]
    assert not customers[0] & customers[1]
    assert not customers[0] & customers[2]
    assert not customers[1] & customers[2]
    assert all(len(c) > 20 for c in customers)


def test_fitted_model_learns_the_signal_and_outputs_probabilities(make_frame, make_config) -> None:
    frame = labeled(make_frame(customers=300, months=8, seed=1))
    model = fit_churn_model(frame, make_config())
    holdout = labeled(make_frame(customers=300, months=3, seed=99))
    probability = model.predict_proba(holdout)
    assert probability.min() >= 0.0
    assert probability.max() <= 1.0
    assert roc_auc_score(labels(holdout), probability) > 0.75


def test_training_rows_exclude_the_validation_and_calibration_months(
    make_frame, make_config
) -> None:
    frame = labeled(make_frame(customers=100, months=7, seed=2))
    model = fit_churn_model(frame, make_config(params={"refit_on_all_months": False}))
    months = sorted(frame[SNAPSHOT].unique())
    assert model.n_train == int(frame[SNAPSHOT].isin(months[:-2]).sum())
    assert model.n_train == 100 * 4


def test_early_stopping_keeps_only_trees_up_to_the_best_round(make_frame, make_config) -> None:
    frame = labeled(make_frame(customers=200, months=7, seed=3))
    config = make_config(params={"n_estimators": 300, "early_stopping_rounds": 5})
    model = fit_churn_model(frame, config)
    assert 1 <= model.booster.num_boosted_rounds() < 300


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_categories_come_from_training_months_and_unseen_ones_still_score(
    make_frame, make_config
) -> None:
    frame = labeled(make_frame(customers=100, months=6, seed=4)).copy()
    newest = frame[SNAPSHOT] == frame[SNAPSHOT].max()
    frame.loc[newest, "plan"] = "enterprise"  # only in the calibration month
    model = fit_churn_model(frame, make_config())
    assert "enterprise" not in model.categories["plan"]
    probability = model.predict_proba(frame[newest])
    assert np.isfinite(probability).all()


@pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning")
def test_scoring_an_unseen_category_relies_on_no_deprecated_pandas_behaviour(
    make_frame, make_config
) -> None:
    frame = labeled(make_frame(customers=60, months=6, seed=4))
    model = fit_churn_model(frame, make_config())
    unseen = frame.head(5).assign(plan="enterprise")
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_fit_refuses_a_frame_with_too_little_history(make_frame, make_config) -> None:
    frame = labeled(make_frame(customers=50, months=4, seed=5, unlabeled_months=1))
    with pytest.raises(InsufficientHistoryError, match="min_train_months"):
        fit_churn_model(frame, make_config(min_train_months=4))


def test_a_feature_without_any_value_in_training_is_left_out(make_frame, make_config) -> None:
    frame = labeled(make_frame(customers=100, months=6, seed=6)).assign(active_days_30d=np.nan)
    model = fit_churn_model(frame, make_config())
    assert "active_days_30d" not in model.config.features
    assert "days_since_last_activity" in model.config.features
    assert np.isfinite(model.predict_proba(frame)).all()


def test_include_and_exclude_lists_pick_features_and_unknown_names_are_refused() -> None:
    dictionary = [
        {"feature": "a", "kind": "numeric"},
        {"feature": "b", "kind": "numeric"},
        {"feature": "plan", "kind": "categorical"},
    ]
    assert select_features(dictionary, include=("a", "plan"), exclude=("plan",)) == (("a",), ())
    assert select_features(dictionary) == (("a", "b"), ("plan",))
    with pytest.raises(ValueError, match="Unknown features"):
        select_features(dictionary, exclude=("typo",))


def test_features_keep_the_dictionary_s_order_whatever_order_its_rows_arrive_in() -> None:
    # A Spark table gives its rows in any order: the model's features (and the ML cache's
    # key) must not change from build to build with it.
    dictionary = [
        {"feature": name, "kind": kind, "position": position}
        for position, (name, kind) in enumerate(
            [("b", "numeric"), ("a", "numeric"), ("plan", "categorical"), ("c", "numeric")]
        )
    ]
    for shuffled in (dictionary, dictionary[::-1], dictionary[2:] + dictionary[:2]):
        assert select_features(shuffled) == (("b", "a", "c"), ("plan",))
