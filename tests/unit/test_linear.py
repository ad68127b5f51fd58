"""The logistic regression weighed into the model's margin: the same numbers as the baseline,
exact contributions, stored and restored, and weighed in only when it ranks validation better."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

import ml.train
from ml import linear
from ml.baselines import fit_logistic
from ml.explain import contributions
from ml.frame import LABEL
from ml.registry import from_record, to_record
from ml.train import LINEAR_WEIGHTS, fit_churn_model


@pytest.fixture
def frame(make_frame) -> pd.DataFrame:
    rows = make_frame(customers=300, months=8, seed=3)
    rows.loc[rows.index[::7], "plan"] = None  # a missing category scores as the baseline's
    return rows[rows[LABEL].notna()]


def test_plain_numbers_give_the_baseline_s_log_odds_and_contributions_adding_up_to_them(
    frame, make_config
) -> None:
    config = make_config()
    pipeline = fit_logistic(frame, config)
    plain = linear.to_plain(pipeline, frame)
    scored = frame.copy()
    scored.loc[scored.index[:5], "plan"] = "a plan never seen"  # scores as the baseline does
    expected = pipeline.decision_function(scored[list(config.features)].astype(object))
    np.testing.assert_allclose(linear.margin(plain, scored), expected, atol=1e-9)
    values, base_value = linear.contributions(plain, scored, config.features)
    np.testing.assert_allclose(values.sum(axis=1) + base_value, expected, atol=1e-9)
    # Centred on the training rows: the typical customer's contribution is zero.
    own, _ = linear.contributions(plain, frame, config.features)
    np.testing.assert_allclose(own.mean(axis=0), 0.0, atol=1e-9)


def test_a_category_column_scores_exactly_as_its_text_does(frame, make_config) -> None:
    # The model frame keeps text as categories, looked up once per category: the same
    # log-odds as the text, for seen, unseen ("a plan never seen") and missing values.
    config = make_config()
    plain = linear.to_plain(fit_logistic(frame, config), frame)
    text = frame.copy()
    text.loc[text.index[:5], "plan"] = "a plan never seen"
    categories = text.assign(plan=text["plan"].astype("category"))
    assert text["plan"].isna().any()
    np.testing.assert_array_equal(linear.margin(plain, categories), linear.margin(plain, text))


def test_fitting_on_rows_of_a_frame_gives_exactly_the_numbers_of_fitting_on_a_copy_of_them(
    frame, make_config
) -> None:
    # Training fits on positions of the whole history (no copy of the training part, which
    # took gigabytes per month at 1,000,000 accounts): the same numbers as on a copy.
    config = make_config()
    rows = np.flatnonzero((np.arange(len(frame)) % 3 != 0) & frame["plan"].notna().to_numpy())
    part = frame.iloc[rows]
    on_rows = linear.to_plain(fit_logistic(frame, config, rows), frame, rows)
    on_copy = linear.to_plain(fit_logistic(part, config), part)
    assert on_rows == on_copy
    assert on_rows != linear.to_plain(fit_logistic(frame, config), frame)


@pytest.mark.parametrize("weight", [0.5, 1.0])
def test_a_model_with_the_logistic_regression_weighed_in_is_explained_and_restored_exactly(
    frame, make_config, weight: float
) -> None:
    model = fit_churn_model(frame, make_config())
    plain = linear.to_plain(fit_logistic(frame, model.config), frame)
    model.config = replace(model.config, linear=plain, linear_weight=weight)
    rows = frame.tail(200)
    values, base_value = contributions(model, rows)
    np.testing.assert_allclose(values.sum(axis=1) + base_value, model.margin(rows), atol=1e-5)
    restored = from_record(to_record(model, datetime.now(UTC), "data", "build"))
    np.testing.assert_allclose(restored.predict_proba(rows), model.predict_proba(rows), atol=1e-12)


@pytest.fixture
def linear_world(frame) -> pd.DataFrame:
    """The same customers, whose churn is a logistic function of days since last activity."""
    world = frame.copy()
    days = world["days_since_last_activity"].fillna(40.0).to_numpy()
    world[LABEL] = np.random.default_rng(0).random(len(days)) < 1 / (1 + np.exp(4.0 - 0.12 * days))
    return world


def test_a_tuned_fit_weighs_in_the_logistic_regression_where_the_truth_is_linear(
    linear_world, make_config
) -> None:
    chosen = fit_churn_model(linear_world, make_config(tune=True))
    assert chosen.config.linear_weight in LINEAR_WEIGHTS[1:], chosen.config.settings
    assert chosen.config.linear and "linear" in chosen.config.settings


def test_a_gain_within_its_standard_error_keeps_the_trees_alone(
    linear_world, make_config, monkeypatch
) -> None:
    monkeypatch.setattr(ml.train, "LINEAR_MIN_GAIN_Z", 1e6)
    kept = fit_churn_model(linear_world, make_config(tune=True))
    assert kept.config.linear_weight == 0 and not kept.config.linear
    assert "linear" not in kept.config.settings


def test_an_untuned_fit_is_the_trees_alone(frame, make_config) -> None:
    model = fit_churn_model(frame, make_config())
    assert model.config.linear_weight == 0 and not model.config.linear


def test_the_logistic_regression_breaks_the_ties_of_coarse_trees() -> None:
    # Trees that kept one tree give a few scores (ml.train.TIED): the small weight breaks their
    # ties, unless it ranks clearly worse; trees with a score per row keep theirs.
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    signal = y + rng.normal(0, 1, len(y))
    coarse = np.round(signal)  # a handful of distinct scores
    fine = signal + rng.normal(0, 0.5, len(y))  # one per customer

    def weighed(trees: np.ndarray, logistic: np.ndarray) -> list[np.ndarray]:
        return [(1 - w) * trees + w * logistic for w in LINEAR_WEIGHTS]

    logistic = signal + rng.normal(0, 1, len(y))  # no better than the trees
    assert ml.train.linear_choice(y, weighed(coarse, logistic)) == LINEAR_WEIGHTS[1]
    assert ml.train.linear_choice(y, weighed(fine, logistic)) == 0.0
    noise = rng.normal(0, 50, len(y))  # outweighs the trees even at the small weight
    assert ml.train.linear_choice(y, weighed(coarse, noise)) == 0.0
