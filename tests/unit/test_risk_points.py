"""SHAP contributions walked as points of calibrated risk for the Why page's waterfall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.calibration import Calibrator
from ml.waterfall import customer_waterfall, waterfall_steps

PLATT = {"method": "platt", "params": {"coef": [0.9], "intercept": [-0.4]}}


def explanation(contributions: list[float], base: float = -3.0) -> pd.DataFrame:
    """One customer's contributions, largest |effect| first, as queries returns them."""
    ordered = sorted(contributions, key=abs, reverse=True)
    return pd.DataFrame(
        {
            "reason": [f"factor {i}" for i in range(len(ordered))],
            "contribution": ordered,
            "base_value": base,
        }
    )


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def test_steps_add_up_from_the_typical_customer_to_the_customers_probability() -> None:
    steps = waterfall_steps(explanation([1.5, -0.4, 0.8, 0.05]))

    total = steps.loc[steps["kind"] == "total", "end_pts"].item()
    base = steps.loc[steps["kind"] == "base", "end_pts"].item()
    assert base == pytest.approx(100 * sigmoid(-3.0))
    assert total == pytest.approx(100 * sigmoid(-3.0 + 1.5 - 0.4 + 0.8 + 0.05))
    assert base + steps.loc[steps["kind"] == "step", "value_pts"].sum() == pytest.approx(total)


def test_each_step_keeps_the_sign_of_its_log_odds_contribution() -> None:
    steps = waterfall_steps(explanation([1.5, -0.4, 0.8]), Calibrator.from_dict(PLATT).transform)

    moves = steps[steps["kind"] == "step"]
    assert (np.sign(moves["value_pts"]) == np.sign(moves["value"])).all()


def test_calibrated_path_ends_at_the_calibrated_probability() -> None:
    calibrator = Calibrator.from_dict(PLATT)
    steps = waterfall_steps(explanation([2.0, 0.3, -0.1], base=-2.5), calibrator.transform)

    expected = calibrator.transform(np.array([sigmoid(-2.5 + 2.0 + 0.3 - 0.1)]))[0]
    assert steps["end_pts"].iloc[-1] == pytest.approx(100 * expected)


def test_small_effects_beyond_the_top_are_one_bar() -> None:
    steps = waterfall_steps(explanation([1.0, 0.5, 0.2, 0.1, -0.05]), top=2)

    assert steps["step"].tolist() == [
        "Typical customer",
        "factor 0",
        "factor 1",
        "3 other factors",
        "This customer",
    ]
    assert steps.loc[3, "value"] == pytest.approx(0.2 + 0.1 - 0.05)


def test_points_are_refused_when_they_would_not_end_at_the_listed_risk() -> None:
    contributions = explanation([1.0, 0.5])
    listed = sigmoid(-3.0 + 1.5)

    _, honest = customer_waterfall(contributions, {}, listed)
    _, off = customer_waterfall(contributions, {}, listed + 0.02)

    assert honest is True
    assert off is False


def test_a_customer_without_stored_contributions_gets_no_steps() -> None:
    steps, in_points = customer_waterfall(explanation([])[0:0], PLATT, 0.5)

    assert steps.empty
    assert in_points is False


def test_a_top_customers_points_are_spread_over_the_factors_that_raise_the_risk() -> None:
    # With isotonic steps the path crossed flat stretches: one factor got +37 points and
    # every other +0.0. A fitted calibration is smooth and strictly increasing, so each
    # factor's points follow its log-odds.
    rng = np.random.default_rng(5)
    raw = 1 / (1 + np.exp(-rng.normal(-1.5, 1.3, 5000)))
    churned = (rng.uniform(size=raw.size) < 0.02 + 0.7 * raw**1.5).astype(int)
    calibrator = Calibrator().fit(raw, churned)
    contributions = [0.9, 0.7, 0.6, 0.5, 0.4, 0.3]

    steps = waterfall_steps(explanation(contributions, base=-1.5), calibrator.transform)

    points = steps.loc[steps["kind"] == "step", "value_pts"].to_numpy()
    top_5_percent = 100 * np.quantile(calibrator.transform(raw), 0.95)
    assert steps["end_pts"].iloc[-1] > top_5_percent  # a customer at the top of the list
    assert (points >= 1.0).all(), points
    assert points.max() < 0.4 * points.sum(), points


def test_factors_worded_alike_are_one_bar_with_their_summed_effect() -> None:
    worded = pd.DataFrame(
        {
            "reason": [
                "No activity for 41 days",
                "Active on one day only",
                "Active on one day only",
            ],
            "contribution": [1.2, 0.3, 0.25],
            "base_value": -2.0,
        }
    )
    steps = waterfall_steps(worded)
    bars = steps[steps["kind"] == "step"]
    assert bars["step"].tolist() == ["No activity for 41 days", "Active on one day only"]
    assert bars["value"].tolist() == pytest.approx([1.2, 0.55])
    assert steps["end"].iloc[-1] == pytest.approx(-2.0 + 1.75)
