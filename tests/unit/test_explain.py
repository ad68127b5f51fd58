"""Explanations: exact TreeSHAP for the customers who need reasons, and a fair importance sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
import xgboost as xgb

from ml.explain import (
    EXPLAIN_ALL_UP_TO,
    EXPLAIN_TOP_PER_GROUP,
    contributions,
    importance_sample,
    rows_to_explain,
)
from ml.frame import CUSTOMER, LABEL, to_matrix
from ml.train import fit_churn_model


@pytest.fixture
def fitted_and_rows(make_frame, make_config):
    frame = make_frame(customers=200, months=7, seed=8)
    model = fit_churn_model(frame[frame[LABEL].notna()], make_config())
    return model, frame.tail(200)


def test_contributions_equal_the_shap_package_and_add_up_to_the_margin(fitted_and_rows) -> None:
    model, rows = fitted_and_rows
    values, base_value = contributions(model, rows)
    matrix = xgb.DMatrix(to_matrix(rows, model.config, model.categories), enable_categorical=True)
    explainer = shap.TreeExplainer(model.booster)
    np.testing.assert_allclose(values, explainer.shap_values(matrix), atol=1e-6)
    assert base_value == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-6)
    margin = model.booster.predict(matrix, output_margin=True)
    np.testing.assert_allclose(values.sum(axis=1) + base_value, margin, atol=1e-4)


def scored_book(n: int = 20_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A scored book: customers with segment, plan, region, MRR, probability and risk rank."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            CUSTOMER: [f"C{i:06d}" for i in range(n)],
            "segment": rng.choice(["smb", "mid", "enterprise"], n, p=[0.8, 0.15, 0.05]),
            "plan": rng.choice(["starter", "growth", "pro"], n),
            "region": rng.choice(["emea", "amer", "apac"], n),
            "customer_value": rng.lognormal(5, 1.5, n),
        }
    )
    probability = np.round(rng.beta(1, 30, n), 2)  # rounded: many ties, like isotonic output
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((-rng.random(n), -probability))] = np.arange(1, n + 1)
    return frame, probability, rank


def list_at_capacity(frame, probability, rank, k, order="risk", **where) -> set[str]:
    """The k customers the at-risk list shows for one filter and order (as the app sorts)."""
    shown = frame.assign(risk=probability, loss=probability * frame["customer_value"], rank=rank)
    for column, value in where.items():
        shown = shown[shown[column] == value]
    key = "risk" if order == "risk" else "loss"
    shown = shown.sort_values([key, "rank"], ascending=[False, True])
    return set(shown[CUSTOMER].head(k))


@pytest.mark.parametrize("capacity_k", [100, 2_500])
def test_every_customer_on_a_list_at_capacity_is_explained(capacity_k: int) -> None:
    frame, probability, rank = scored_book()
    explain, _ = rows_to_explain(frame, probability, rank, capacity_k)
    explained = set(frame.loc[explain, CUSTOMER])
    per_group = min(capacity_k, EXPLAIN_TOP_PER_GROUP)
    for order in ("risk", "expected_loss"):
        assert list_at_capacity(frame, probability, rank, capacity_k, order) <= explained
        for column in ("segment", "plan", "region"):
            for value in frame[column].unique():
                shown = list_at_capacity(
                    frame, probability, rank, per_group, order, **{column: value}
                )
                assert shown <= explained, (order, column, value)


def test_the_importance_sample_is_uniform_stable_and_inside_the_explained_rows() -> None:
    frame, probability, rank = scored_book()
    explain, sample = rows_to_explain(frame, probability, rank, capacity_k=100)
    assert (explain | ~sample).all()
    assert explain.sum() < len(frame) / 2  # not simply everyone
    assert sample.sum() == pytest.approx(2_000, rel=0.1)
    # Uniform: the sample's risk looks like everyone's, unlike the explained top.
    assert probability[sample].mean() == pytest.approx(probability.mean(), rel=0.1)
    assert probability[explain & ~sample].mean() > 2 * probability.mean()
    again = importance_sample(frame[CUSTOMER].sample(frac=1.0, random_state=1), 2_000)
    assert set(frame.loc[sample, CUSTOMER]) == set(
        frame[CUSTOMER].sample(frac=1.0, random_state=1)[again]
    )


def test_a_small_book_is_explained_in_full() -> None:
    frame, probability, rank = scored_book(n=EXPLAIN_ALL_UP_TO)
    explain, sample = rows_to_explain(frame, probability, rank, capacity_k=100)
    assert explain.all()
    assert sample.all()
