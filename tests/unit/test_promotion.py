"""The promotion rule: which model scores a build."""

import math

from ml.promotion import decide


def test_first_candidate_goes_into_service() -> None:
    decision = decide("new", 0.80, None, None, pinned=False, tolerance=0.02)
    assert decision.promoted and decision.model_version == "new"


def test_candidate_within_tolerance_replaces_the_model_in_service() -> None:
    decision = decide("new", 0.79, "old", 0.80, pinned=False, tolerance=0.02)
    assert decision.promoted and decision.model_version == "new"


def test_clearly_worse_candidate_leaves_the_model_in_service_and_says_why() -> None:
    decision = decide("new", 0.70, "old", 0.80, pinned=False, tolerance=0.02)
    assert not decision.promoted
    assert decision.model_version == "old"
    assert "0.700" in decision.reason and "0.800" in decision.reason


def test_a_pinned_model_keeps_scoring_even_when_the_candidate_is_better() -> None:
    decision = decide("new", 0.95, "old", 0.60, pinned=True, tolerance=0.02)
    assert not decision.promoted and decision.model_version == "old"
    assert "pinned" in decision.reason


def test_candidate_without_backtest_does_not_replace_a_model_with_one() -> None:
    decision = decide("new", math.nan, "old", 0.80, pinned=False, tolerance=0.02)
    assert not decision.promoted and decision.model_version == "old"
