"""Negative subsampling: every positive kept, negatives weighted back, order-free, calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.frame import LABEL, SNAPSHOT, labels, model_frame
from ml.train import fit_churn_model, negative_sample_weights, row_buckets


def rare_churn_frame(make_frame, customers: int = 1500, months: int = 8, seed: int = 0):
    """Labeled synthetic snapshots with churn rare enough (about 4%) for sampling to matter."""
    frame = make_frame(customers=customers, months=months, seed=seed, unlabeled_months=0)
    rng = np.random.default_rng(seed + 100)
    churned = frame[LABEL].astype(bool).to_numpy()
    # Drop most churners' label to "stayed": rare churn that still follows inactivity.
    keep = churned & (rng.random(len(frame)) < 0.25)
    return frame.assign(**{LABEL: pd.array(keep, dtype="boolean")})


def test_sampling_keeps_every_positive_and_weights_negatives_to_their_full_count(
    make_frame,
) -> None:
    frame = rare_churn_frame(make_frame)
    y = labels(frame)
    weights = negative_sample_weights(y, row_buckets(frame, seed=7), per_positive=3)
    positives, negatives = y == 1, y == 0
    assert (weights[positives] == 1).all()
    kept = negatives & (weights > 0)
    assert kept.sum() == pytest.approx(3 * positives.sum(), rel=0.1)
    assert weights[negatives].sum() == pytest.approx(negatives.sum(), rel=1e-5)


def test_sampling_is_off_when_negatives_are_already_few_or_the_option_is_unset(
    make_frame,
) -> None:
    frame = rare_churn_frame(make_frame)
    y, buckets = labels(frame), row_buckets(frame, seed=7)
    assert (negative_sample_weights(y, buckets, per_positive=None) == 1).all()
    assert (negative_sample_weights(y, buckets, per_positive=1000) == 1).all()
    # A floor on kept negatives: small training sets are not sampled at all.
    assert (negative_sample_weights(y, buckets, 3, min_negatives=len(y)) == 1).all()
    floor = negative_sample_weights(y, buckets, 3, min_negatives=5_000) > 0
    assert (floor & (y == 0)).sum() == pytest.approx(5_000, rel=0.1)


def test_the_sample_does_not_depend_on_row_order_and_grows_as_a_superset(
    make_frame, make_config
) -> None:
    frame = rare_churn_frame(make_frame)
    shuffled = frame.sample(frac=1.0, random_state=3)
    buckets = pd.Series(row_buckets(frame, seed=7), index=frame.index)
    np.testing.assert_array_equal(
        row_buckets(shuffled, seed=7), buckets.loc[shuffled.index].to_numpy()
    )
    # The compact model frame (category ids, datetimes) draws the same sample.
    np.testing.assert_array_equal(row_buckets(model_frame(frame, make_config()), 7), buckets)
    y = labels(frame)
    small = negative_sample_weights(y, buckets.to_numpy(), per_positive=2) > 0
    large = negative_sample_weights(y, buckets.to_numpy(), per_positive=5) > 0
    assert (large | ~small).all()  # every row of the small sample is in the large one
    assert large.sum() > small.sum()


def test_a_model_fitted_on_sampled_negatives_stays_calibrated_on_later_months(
    make_frame, make_config
) -> None:
    frame = rare_churn_frame(make_frame, customers=3000, months=9, seed=4)
    later = pd.to_datetime(frame[SNAPSHOT]) == pd.to_datetime(frame[SNAPSHOT]).max()
    history, holdout = frame[~later], frame[later]
    config = make_config(params={"negatives_per_positive": 2, "min_negatives": 0})
    model = fit_churn_model(history, config)
    rate = labels(holdout).mean()
    assert 0.02 < rate < 0.08
    # Weighted negatives keep even the raw booster near the real rate (unweighted 1:2
    # sampling would put it near a third); calibration on the later slice keeps it there.
    assert model.raw_probability(holdout).mean() == pytest.approx(rate, rel=0.35)
    assert model.predict_proba(holdout).mean() == pytest.approx(rate, rel=0.25)


def test_sampling_costs_little_ranking_accuracy_on_the_synthetic_signal(
    make_frame, make_config
) -> None:
    frame = rare_churn_frame(make_frame, customers=3000, months=9, seed=5)
    later = pd.to_datetime(frame[SNAPSHOT]) == pd.to_datetime(frame[SNAPSHOT]).max()
    history, holdout = frame[~later], frame[later]
    every = fit_churn_model(history, make_config(params={"negatives_per_positive": None}))
    sampled = fit_churn_model(
        history, make_config(params={"negatives_per_positive": 2, "min_negatives": 0})
    )
    assert sampled.n_train == every.n_train  # the rows it stands for, not the rows it kept
    auc_every = roc_auc_score(labels(holdout), every.raw_probability(holdout))
    auc_sampled = roc_auc_score(labels(holdout), sampled.raw_probability(holdout))
    assert auc_sampled > auc_every - 0.02


def test_the_fitted_model_does_not_depend_on_the_row_order(make_frame, make_config) -> None:
    frame = rare_churn_frame(make_frame, customers=800, months=7, seed=6)
    config = make_config(params={"negatives_per_positive": 3, "min_negatives": 0, "subsample": 0.8})
    shuffled = frame.sample(frac=1.0, random_state=9)
    first, second = fit_churn_model(frame, config), fit_churn_model(shuffled, config)
    np.testing.assert_array_equal(first.raw_probability(frame), second.raw_probability(frame))


def test_a_cap_on_training_rows_thins_both_outcomes_alike_and_keeps_their_weighted_counts(
    make_frame,
) -> None:
    frame = rare_churn_frame(make_frame)
    y, buckets = labels(frame), row_buckets(frame, seed=7)
    uncapped = negative_sample_weights(y, buckets, per_positive=3)
    capped = negative_sample_weights(y, buckets, per_positive=3, max_rows=1_000)
    assert (uncapped > 0).sum() > 2_000  # the cap binds
    assert (capped > 0).sum() == pytest.approx(1_000, rel=0.1)
    positives, negatives = y == 1, y == 0
    # Churners are thinned too, so the sample keeps about 3 non-churners per churner, and
    # each outcome's weights still add up to its full count.
    kept_positives, kept_negatives = (capped > 0) & positives, (capped > 0) & negatives
    assert kept_negatives.sum() / kept_positives.sum() == pytest.approx(3, rel=0.2)
    assert capped[positives].sum() == pytest.approx(positives.sum(), rel=1e-5)
    assert capped[negatives].sum() == pytest.approx(negatives.sum(), rel=1e-5)
    assert (capped > 0).sum() < (uncapped > 0).sum()
    assert ((uncapped > 0) | ~(capped > 0)).all()  # a subset of the uncapped sample
    # A cap above the sample changes nothing.
    np.testing.assert_array_equal(negative_sample_weights(y, buckets, 3, max_rows=10**9), uncapped)
