"""Business metrics on a hand-computed example: precision/recall@k, lift, MRR captured."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.metrics import auc_gain_z, evaluate, top_k_mask

# Ten customers, best-ranked first; churners at positions 0, 2 and 5.
Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
MRR = np.array([100.0, 50.0, 200.0, 10.0, 10.0, 300.0, 10.0, 10.0, 10.0, 10.0])


def test_precision_and_recall_at_k_count_churners_among_the_k_highest_scores() -> None:
    metrics = evaluate(Y, SCORES, MRR, k=3)
    # Top 3 are positions 0, 1, 2: two of them churned, out of three churners in total.
    assert metrics["precision_at_k"] == pytest.approx(2 / 3)
    assert metrics["recall_at_k"] == pytest.approx(2 / 3)


def test_precision_at_k_does_not_depend_on_row_order() -> None:
    order = np.random.default_rng(3).permutation(len(Y))
    shuffled = evaluate(Y[order], SCORES[order], MRR[order], k=3)
    assert shuffled["precision_at_k"] == pytest.approx(2 / 3)
    assert shuffled["recall_at_k"] == pytest.approx(2 / 3)


def test_lift_in_top_decile_is_top_decile_churn_rate_over_base_rate() -> None:
    metrics = evaluate(Y, SCORES, MRR, k=3)
    # Top decile of 10 customers = the single highest score, a churner: 1.0 / 0.3.
    assert metrics["churn_rate"] == pytest.approx(0.3)
    assert metrics["lift_top_decile"] == pytest.approx(1 / 0.3)


def test_lift_is_zero_when_the_top_decile_has_no_churner() -> None:
    worst_first = evaluate(Y, -SCORES, MRR, k=3)
    assert worst_first["lift_top_decile"] == 0.0


def test_value_captured_at_k_is_the_share_of_lost_value_in_the_top_k() -> None:
    metrics = evaluate(Y, SCORES, MRR, k=3)
    # Lost MRR = 100 + 200 + 300; the top 3 hold the 100 and the 200.
    assert metrics["value_captured_at_k"] == pytest.approx(300 / 600)


def test_roc_auc_and_counts_match_the_hand_computed_values() -> None:
    metrics = evaluate(Y, SCORES, MRR, k=3)
    # Pairs (churner, stayer) ranked right: 7 + 6 + 4 of 3 x 7.
    assert metrics["roc_auc"] == pytest.approx(17 / 21)
    assert metrics["n_customers"] == 10
    assert metrics["n_churned"] == 3


def test_brier_is_reported_for_probabilities_and_left_empty_for_rankings() -> None:
    expected = float(np.mean((SCORES - Y) ** 2))
    assert expected == pytest.approx(0.18525)
    assert evaluate(Y, SCORES, MRR, k=3, probabilities=SCORES)["brier"] == pytest.approx(expected)
    assert math.isnan(evaluate(Y, SCORES * 40, MRR, k=3)["brier"])


def test_k_larger_than_the_month_scores_everyone() -> None:
    metrics = evaluate(Y, SCORES, MRR, k=50)
    assert metrics["precision_at_k"] == pytest.approx(0.3)
    assert metrics["recall_at_k"] == 1.0
    assert metrics["value_captured_at_k"] == 1.0


def test_metrics_that_need_churners_are_empty_in_a_month_without_any() -> None:
    metrics = evaluate(np.zeros(10), SCORES, MRR, k=3)
    assert metrics["precision_at_k"] == 0.0
    for name in ("roc_auc", "pr_auc", "recall_at_k", "lift_top_decile", "value_captured_at_k"):
        assert math.isnan(metrics[name]), name


def test_missing_value_counts_as_zero() -> None:
    mrr = MRR.copy()
    mrr[0] = np.nan
    assert evaluate(Y, SCORES, mrr, k=3)["value_captured_at_k"] == pytest.approx(200 / 500)


def test_top_k_breaks_ties_by_position() -> None:
    mask = top_k_mask(np.array([0.5, 0.9, 0.5, 0.5]), 2)
    assert mask.tolist() == [True, True, False, False]


@pytest.mark.parametrize("seed", range(20))
def test_top_k_is_the_first_k_of_a_stable_sort_highest_first(seed: int) -> None:
    # Selection, not a sort, finds them: the same customers as sorting every score would.
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=int(rng.integers(1, 80))).astype(float)
    if seed % 4 == 0:
        scores[rng.random(len(scores)) < 0.2] = np.nan  # unscored rows rank last
    for k in (1, 2, 5, 17, 200):
        order = np.argsort(-scores, kind="stable")[:k]
        assert np.flatnonzero(top_k_mask(scores, k)).tolist() == sorted(order.tolist())


def test_auc_gain_z_is_the_gain_over_its_paired_standard_error() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.3).astype(int)
    weak, strong = y + rng.normal(0, 1.2, 3000), y + rng.normal(0, 1.0, 3000)
    gain = roc_auc_score(y, strong) - roc_auc_score(y, weak)
    z = auc_gain_z(y, weak, strong)
    # The same rows resampled: the spread of the gain is what DeLong's variance says.
    draws = [rng.integers(0, 3000, 3000) for _ in range(300)]
    spread = np.std([roc_auc_score(y[i], strong[i]) - roc_auc_score(y[i], weak[i]) for i in draws])
    assert gain / z == pytest.approx(spread, rel=0.15)
    assert auc_gain_z(y, strong, weak) == pytest.approx(-z)
    assert auc_gain_z(y, weak, weak) == 0.0
