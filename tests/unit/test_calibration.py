"""The calibrator: Platt below 200 positives, isotonic above, probabilities in [0, 1], JSON-safe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.calibration import MIN_POSITIVES_FOR_ISOTONIC, MIN_ROWS_PER_STEP, Calibrator


def overconfident(n: int, positives: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores that rank well but overstate risk about threefold; exactly `positives` churn."""
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.01, 0.3, n)
    order = np.argsort(-(true_p + rng.normal(0, 0.05, n)))
    y = np.zeros(n, dtype=int)
    y[order[:positives]] = 1
    raw = np.clip(3 * true_p, 0, 0.999)
    return raw, y


EXTREMES = np.array([0.0, 1e-12, 0.001, 0.5, 0.999, 1 - 1e-12, 1.0])


def test_platt_is_chosen_below_200_positives() -> None:
    raw, y = overconfident(2000, MIN_POSITIVES_FOR_ISOTONIC - 1)
    assert Calibrator().fit(raw, y).method == "platt"


def test_isotonic_is_chosen_from_200_positives_on() -> None:
    assert MIN_POSITIVES_FOR_ISOTONIC == 200
    raw, y = overconfident(2000, MIN_POSITIVES_FOR_ISOTONIC)
    assert Calibrator().fit(raw, y).method == "isotonic"


def test_a_single_class_leaves_probabilities_unchanged() -> None:
    raw = np.array([0.1, 0.4, 0.7])
    calibrator = Calibrator().fit(raw, np.zeros(3, dtype=int))
    assert calibrator.method == "identity"
    np.testing.assert_array_equal(calibrator.transform(raw), raw)


@pytest.mark.parametrize("positives", [40, 400])
def test_calibrated_probabilities_stay_in_unit_interval(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    calibrated = Calibrator().fit(raw, y).transform(np.concatenate([EXTREMES, raw]))
    assert np.isfinite(calibrated).all()
    assert calibrated.min() >= 0.0
    assert calibrated.max() <= 1.0


@pytest.mark.parametrize("positives", [40, 400])
def test_calibration_brings_mean_risk_to_the_observed_churn_rate(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    calibrated = Calibrator().fit(raw, y).transform(raw)
    assert raw.mean() > 2 * y.mean()  # the raw scores really are miscalibrated
    assert calibrated.mean() == pytest.approx(y.mean(), abs=0.005)


@pytest.mark.parametrize("positives", [40, 400])
def test_calibration_keeps_the_ranking(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    grid = np.linspace(0, 1, 101)
    assert np.all(np.diff(Calibrator().fit(raw, y).transform(grid)) >= 0)


@pytest.mark.parametrize("positives", [0, 40, 400])
def test_calibrator_round_trips_through_json(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    fitted = Calibrator().fit(raw, y)
    restored = Calibrator.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.method == fitted.method
    probe = np.concatenate([EXTREMES, raw])
    np.testing.assert_array_equal(restored.transform(probe), fitted.transform(probe))


def test_no_isotonic_step_is_smaller_than_its_minimum_so_none_promises_certainty() -> None:
    raw, y = overconfident(3000, 600)
    top = np.argsort(raw)[-12:]
    y[top] = 1  # a dozen top scores that all churned: a plain isotonic fit says 100%
    calibrator = Calibrator().fit(raw, y)
    assert calibrator.method == "isotonic"
    calibrated = calibrator.transform(raw)
    assert calibrated.max() < 1.0
    points_x, points_y = np.array(calibrator.params["x"]), np.array(calibrator.params["y"])
    assert np.all(np.diff(points_x) >= 0) and np.all(np.diff(points_y) >= 0)
    assert np.all(np.diff(calibrated[np.argsort(raw)]) >= 0)
    for rate in np.unique(points_y):
        assert (calibrated == rate).sum() >= MIN_ROWS_PER_STEP, rate


def test_isotonic_steps_match_scikit_learn_when_every_step_is_large() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(3)
    raw = np.repeat([0.1, 0.4, 0.7], 1000)
    y = (rng.uniform(size=3000) < np.repeat([0.05, 0.3, 0.6], 1000)).astype(int)
    probe = np.linspace(0, 1, 201)
    expected = IsotonicRegression(out_of_bounds="clip").fit(raw, y).predict(probe)
    np.testing.assert_allclose(Calibrator().fit(raw, y).transform(probe), expected, atol=1e-12)
