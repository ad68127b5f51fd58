"""The calibrator: smooth and strictly increasing (Platt, beta), calibrated, JSON-safe, and
able to replay the isotonic and Platt maps that models in service were registered with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from ml.calibration import MIN_POSITIVES_FOR_BETA, Calibrator


def overconfident(n: int, positives: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores that rank well but overstate risk about threefold; exactly `positives` churn."""
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.01, 0.3, n)
    order = np.argsort(-(true_p + rng.normal(0, 0.05, n)))
    y = np.zeros(n, dtype=int)
    y[order[:positives]] = 1
    raw = np.clip(3 * true_p, 0, 0.999)
    return raw, y


def true_risk(raw: np.ndarray) -> np.ndarray:
    """A known miscalibration, in neither Platt's family nor beta calibration's: the raw
    score overstates low risks and understates high ones."""
    return 0.02 + 0.7 * raw**1.5


def drawn(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Booster-like raw scores (most low, a long upper tail) and outcomes drawn from true_risk."""
    rng = np.random.default_rng(seed)
    raw = np.asarray(expit(rng.normal(-1.5, 1.3, n)))
    return raw, (rng.uniform(size=n) < true_risk(raw)).astype(int)


def bulk_and_thin_tail(n: int, tail: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Most customers at low risk, and a thin tail of `tail` spread from 30% to 95%."""
    rng = np.random.default_rng(seed)
    raw = np.concatenate([expit(rng.normal(-3.0, 0.7, n - tail)), rng.uniform(0.3, 0.95, tail)])
    return raw, (rng.uniform(size=n) < true_risk(raw)).astype(int)


EXTREMES = np.array([0.0, 1e-12, 0.001, 0.5, 0.999, 1 - 1e-12, 1.0])


def test_platt_is_chosen_below_200_positives() -> None:
    raw, y = overconfident(2000, MIN_POSITIVES_FOR_BETA - 1)
    assert Calibrator().fit(raw, y).method == "platt"


def test_beta_calibration_is_chosen_from_200_positives_on() -> None:
    assert MIN_POSITIVES_FOR_BETA == 200
    raw, y = overconfident(2000, MIN_POSITIVES_FOR_BETA)
    assert Calibrator().fit(raw, y).method == "beta"


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
def test_calibrated_risk_strictly_increases_with_the_raw_score(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    calibrator = Calibrator().fit(raw, y)
    # Every 1e-5 of raw probability, and neighbouring float32 values (what a booster outputs).
    half = np.float32(0.5)
    neighbours = [np.nextafter(half, np.float32(0)), half, np.nextafter(half, np.float32(1))]
    grid = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 100_001, dtype=np.float32), neighbours])
    calibrated = calibrator.transform(np.unique(grid).astype(float))
    assert np.all(np.diff(calibrated) > 0), calibrator.to_dict()


def test_a_booster_that_ranks_backwards_still_gets_an_increasing_calibration() -> None:
    raw, y = overconfident(2000, 400)
    calibrator = Calibrator().fit(1 - raw, y)  # churners have the lowest raw scores
    grid = np.linspace(0.01, 0.99, 99)
    assert np.all(np.diff(calibrator.transform(grid)) > 0), calibrator.to_dict()
    assert calibrator.transform(1 - raw).mean() == pytest.approx(y.mean(), abs=0.005)


def test_the_top_k_get_distinct_risks_where_an_isotonic_fit_would_tie_them() -> None:
    # Shaped like the retailer (CDNOW) that showed 494 customers at one risk: thousands of
    # low scores, and above them a thin tail with few churners (about 100 of 250), which an
    # isotonic fit pools into one or two steps of 100+ rows: 1 to 3 distinct risks here.
    raw, y = bulk_and_thin_tail(5000, tail=250, seed=1)
    calibrator = Calibrator().fit(raw, y)
    assert calibrator.method == "beta"
    # Scored raw scores 0.0016 apart in the tail: random ones would round to the same 0.1
    # point by chance; evenly spread ones leave only the calibration to merge them.
    scored = np.concatenate([expit(np.linspace(-5.0, -1.0, 4600)), np.linspace(0.3, 0.95, 400)])
    k = 200
    top = np.sort(calibrator.transform(scored))[-k:]
    distinct = np.unique(np.round(top, 3)).size  # to 0.1 point, as the list shows risks
    assert distinct >= 0.9 * k, distinct


def test_calibrated_risk_matches_a_known_miscalibrated_curve() -> None:
    # 20,000 calibration rows (a retailer's month), judged on fresh customers against the
    # true risk itself, so outcome noise in the check does not count; only bands of 1,000+
    # customers. The calibration data of such a band pin its churn rate down to about
    # sqrt(0.25 / 1000) = 0.016, so 0.03 is about two standard errors: what a calibration as
    # good as the data allow stays within (0.011-0.026 over ten seeds). The raw scores are
    # 0.27 off.
    raw, y = drawn(20_000, seed=3)
    calibrator = Calibrator().fit(raw, y)
    assert calibrator.method == "beta"
    fresh, _ = drawn(50_000, seed=99)
    calibrated, truth = calibrator.transform(fresh), true_risk(fresh)

    def worst_band_gap(predicted: np.ndarray) -> float:
        band = np.minimum(np.floor(predicted * 10), 9)
        return max(
            abs(predicted[band == b].mean() - truth[band == b].mean())
            for b in np.unique(band)
            if (band == b).sum() >= 1000
        )

    assert worst_band_gap(fresh) > 0.2  # the raw scores really are miscalibrated
    assert worst_band_gap(calibrated) < 0.03


@pytest.mark.parametrize("positives", [0, 40, 400])
def test_calibrator_round_trips_through_json(positives: int) -> None:
    raw, y = overconfident(2000, positives)
    fitted = Calibrator().fit(raw, y)
    restored = Calibrator.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored == fitted
    probe = np.concatenate([EXTREMES, raw])
    np.testing.assert_array_equal(restored.transform(probe), fitted.transform(probe))


def test_a_handful_of_certain_churners_at_the_top_does_not_promise_certainty() -> None:
    # What made a plain isotonic fit rate 30 customers of Online Retail's June 2011 at 100%
    # (73% left).
    raw, y = overconfident(3000, 600)
    y[np.argsort(raw)[-12:]] = 1
    calibrated = Calibrator().fit(raw, y).transform(raw)
    assert calibrated.max() < 0.9


# Calibrators as the registry stored them before beta calibration, with what they gave.
PROBE = np.array([0.0, 0.05, 0.1, 0.15, 0.3, 0.5, 0.55, 0.6, 0.9, 1.0])
STORED = {
    "isotonic": (
        {"method": "isotonic", "params": {"x": [0.1, 0.2, 0.5, 0.6], "y": [0.05, 0.05, 0.3, 0.3]}},
        [0.05, 0.05, 0.05, 0.05, 0.05 + 0.25 / 3, 0.3, 0.3, 0.3, 0.3, 0.3],
    ),
    "platt": (
        {"method": "platt", "params": {"coef": [0.9], "intercept": [-0.4]}},
        # 1 / (1 + exp(-(0.9 logit(p) - 0.4))), p clipped to [1e-6, 1 - 1e-6]
        [
            2.66859e-06,
            0.0452177,
            0.0849044,
            0.123344,
            0.238201,
            0.401312,
            0.44537,
            0.491231,
            0.82885,
            0.999994,
        ],
    ),
    "identity": ({"method": "identity", "params": {}}, PROBE.tolist()),
}


@pytest.mark.parametrize("method", sorted(STORED))
def test_calibrators_stored_by_earlier_versions_transform_as_before(method: str) -> None:
    record, expected = STORED[method]
    restored = Calibrator.from_dict(json.loads(json.dumps(record)))
    assert restored.method == method
    np.testing.assert_allclose(restored.transform(PROBE), expected, rtol=1e-4, atol=1e-9)
