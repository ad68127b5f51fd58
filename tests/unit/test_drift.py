"""Drift statistics: binning, PSI and Jensen-Shannon, learned limits, volume bands, CBPE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml import drift

MONTHS = pd.date_range("2026-01-01", periods=7, freq="MS")


def monthly_frame(per_month: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Six reference months and a current one (the last), with `shift` added to x there."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, month in enumerate(MONTHS):
        current = i == len(MONTHS) - 1
        parts.append(
            pd.DataFrame(
                {
                    "snapshot_date": month,
                    "x": rng.normal(shift if current else 0.0, 1.0, per_month),
                    "y": rng.normal(0.0, 1.0, per_month),
                    "plan": rng.choice(["a", "b", "c"], per_month, p=[0.5, 0.3, 0.2]),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def drift_of(frame: pd.DataFrame) -> pd.DataFrame:
    profiles = drift.feature_profiles(
        frame, ["x", "y"], ["plan"], "snapshot_date", MONTHS[:-1], MONTHS[-1]
    )
    return drift.drift_table(profiles, factor=2.0, psi_floor=0.1, js_floor=0.1).set_index("feature")


def test_psi_and_js_are_zero_for_identical_counts_and_grow_with_a_shift() -> None:
    counts = np.array([100.0, 200.0, 300.0, 400.0])
    assert drift.psi(counts, counts) == pytest.approx(0.0, abs=1e-12)
    assert drift.js_distance(counts, counts) == pytest.approx(0.0, abs=1e-6)
    small, big = np.array([110.0, 200.0, 300.0, 390.0]), np.array([400.0, 300.0, 200.0, 100.0])
    assert 0 < drift.psi(counts, small) < drift.psi(counts, big)
    assert 0 < drift.js_distance(counts, small) < drift.js_distance(counts, big) <= 1.0


def test_js_distance_is_symmetric_and_psi_survives_empty_bins() -> None:
    p, q = np.array([50.0, 50.0, 0.0]), np.array([0.0, 50.0, 50.0])
    assert drift.js_distance(p, q) == pytest.approx(drift.js_distance(q, p))
    assert np.isfinite(drift.psi(p, q)) and drift.psi(p, q) > 1.0


def test_numeric_bins_put_missing_values_in_their_own_last_bin() -> None:
    edges = drift.numeric_edges(np.arange(100.0), bins=4)
    index = drift.numeric_bins(np.array([0.0, 30.0, 99.0, np.nan]), edges)
    labels = drift.numeric_labels(edges)
    assert len(labels) == len(edges) + 2
    assert index.tolist() == [0, 1, len(edges), len(edges) + 1]
    assert labels[-1] == "missing"


def test_numeric_edges_of_a_discrete_feature_do_not_repeat() -> None:
    values = np.array([0.0] * 90 + [1.0] * 8 + [2.0] * 2)
    edges = drift.numeric_edges(values, bins=10)
    assert len(edges) == len(np.unique(edges)) <= 3


def test_categorical_bins_send_unseen_values_to_other_and_nulls_to_missing() -> None:
    known = drift.categories(["a", "a", "b", None])
    index = drift.categorical_bins(["a", "b", "z", None], known)
    assert known == ["a", "b"]
    assert drift.categorical_labels(known) == ["a", "b", "other", "missing"]
    assert index.tolist() == [0, 1, 2, 3]


def test_a_shifted_feature_drifts_while_resampled_ones_do_not() -> None:
    table = drift_of(monthly_frame(per_month=2000, shift=0.5))
    assert table.loc["x", "drifted"]
    assert table.loc["x", "psi"] > table.loc["x", "psi_limit"]
    assert not table.loc["y", "drifted"]
    assert not table.loc["plan", "drifted"]
    assert table.loc["x", "n_current"] == 2000
    assert table.loc["x", "reference_periods"] == 6


def test_scores_are_profiled_like_numbers_but_marked_as_predictions() -> None:
    frame = monthly_frame(per_month=500)
    frame["score"] = 1 / (1 + np.exp(-frame["x"]))
    profiles = drift.feature_profiles(
        frame, ["x"], [], "snapshot_date", MONTHS[:-1], MONTHS[-1], scores=["score"]
    )
    kinds = profiles.drop_duplicates("feature").set_index("feature")["kind"].to_dict()
    assert kinds == {"x": "numeric", "score": "prediction"}
    current = profiles[(profiles["feature"] == "score") & (profiles["time_window"] == "current")]
    assert current["rows"].sum() == 500


def test_limits_are_wider_for_small_samples_so_they_do_not_cry_wolf() -> None:
    small = drift_of(monthly_frame(per_month=40, seed=3))
    large = drift_of(monthly_frame(per_month=4000, seed=3))
    assert small.loc["y", "psi_limit"] > large.loc["y", "psi_limit"]
    assert not small["drifted"].any()
    assert not large["drifted"].any()


def test_limits_never_go_below_their_floor() -> None:
    assert drift.learned_limit(np.array([0.001, 0.002]), factor=2.0, floor=0.1) == 0.1
    assert drift.learned_limit(np.array([0.2, np.nan]), factor=2.0, floor=0.1) == 0.4
    assert drift.learned_limit(np.array([]), factor=2.0, floor=0.1) == 0.1


def test_leave_one_out_is_small_for_months_of_one_distribution() -> None:
    rng = np.random.default_rng(1)
    rows = np.stack([rng.multinomial(5000, [0.25, 0.25, 0.5]) for _ in range(6)])
    psis, distances = drift.leave_one_out(rows)
    assert psis.shape == distances.shape == (6,)
    assert psis.max() < 0.01


def volume(days: pd.DatetimeIndex, rows: np.ndarray, source: str = "usage_daily") -> pd.DataFrame:
    return pd.DataFrame({"source_table": source, "event_date": days, "row_count": rows})


def weekly_rhythm(days: pd.DatetimeIndex, seed: int = 0) -> np.ndarray:
    """About 1,000 rows on weekdays and 300 at weekends, with Poisson noise."""
    rng = np.random.default_rng(seed)
    return rng.poisson(np.where(days.day_of_week >= 5, 300, 1000)).astype(float)


def test_volume_bands_follow_the_weekly_rhythm_without_alarms() -> None:
    days = pd.date_range("2026-01-01", "2026-06-30", freq="D")
    bands = drift.daily_volume_bands(
        volume(days, weekly_rhythm(days)), pd.Timestamp("2026-04-01"), days[-1], 8, 4.0, 0.25, 5
    )
    assert len(bands) == 91
    assert (bands["status"] == "in range").all()
    weekend = bands[pd.to_datetime(bands["day"]).dt.day_of_week >= 5]
    assert weekend["expected_rows"].max() < 400


def test_volume_bands_keep_flagging_an_abrupt_drop_until_it_is_fixed() -> None:
    days = pd.date_range("2026-01-01", "2026-07-31", freq="D")
    rows = weekly_rhythm(days)
    rows[days >= "2026-06-01"] *= 0.5  # half the records lost from June on
    bands = drift.daily_volume_bands(
        volume(days, rows), pd.Timestamp("2026-05-01"), days[-1], 8, 4.0, 0.25, 5
    ).set_index("day")
    assert (bands.loc["2026-05-01":"2026-05-31", "status"] == "in range").all()
    assert (bands.loc["2026-06-01":, "status"] == "below").all()


def test_a_burst_of_extra_rows_does_not_make_the_normal_days_after_it_look_low() -> None:
    days = pd.date_range("2026-01-01", "2026-07-31", freq="D")
    rows = weekly_rhythm(days)
    burst = (days >= "2026-05-01") & (days < "2026-06-01")
    rows[burst] *= 4  # e.g. every account gets a new subscription row in May
    bands = drift.daily_volume_bands(
        volume(days, rows), pd.Timestamp("2026-05-01"), days[-1], 8, 4.0, 0.25, 5
    ).set_index("day")
    assert (bands.loc["2026-05-01":"2026-05-31", "status"] == "above").all()
    assert (bands.loc["2026-06-01":, "status"] == "in range").all()


def test_volume_bands_count_days_without_rows_as_zero() -> None:
    days = pd.date_range("2026-01-01", "2026-06-30", freq="D")
    keep = days < "2026-06-28"  # the last three days never arrived
    bands = drift.daily_volume_bands(
        volume(days[keep], weekly_rhythm(days)[keep]), days[-10], days[-1], 8, 4.0, 0.25, 5
    ).set_index("day")
    assert (bands.loc["2026-06-28":, "row_count"] == 0).all()
    assert (bands.loc["2026-06-28":, "status"] == "below").all()
    assert (bands.loc[:"2026-06-27", "status"] == "in range").all()


def test_volume_bands_skip_days_without_enough_history() -> None:
    days = pd.date_range("2026-01-01", "2026-01-31", freq="D")
    bands = drift.daily_volume_bands(
        volume(days, weekly_rhythm(days)), days[0], days[-1], 8, 4.0, 0.25, 5
    )
    assert pd.to_datetime(bands["day"]).min() >= pd.Timestamp("2026-01-29")
    assert (bands["history_days"] >= 4).all()


def test_expected_roc_auc_matches_the_average_auc_of_labels_drawn_from_the_probabilities() -> None:
    rng = np.random.default_rng(7)
    p = 1 / (1 + np.exp(-rng.normal(-3, 1.2, 3000)))
    realized = [roc_auc_score(rng.random(len(p)) < p, p) for _ in range(200)]
    assert drift.expected_roc_auc(p) == pytest.approx(np.mean(realized), abs=0.01)


def test_expected_roc_auc_is_one_half_for_scores_that_rank_nothing() -> None:
    p = np.linspace(0.01, 0.5, 100)
    assert drift.expected_roc_auc(p, np.zeros(100)) == pytest.approx(0.5)
    assert drift.expected_roc_auc(np.array([0.2])) != drift.expected_roc_auc(np.array([0.2]))


def test_expected_precision_at_k_is_the_mean_probability_of_the_top_k() -> None:
    p = np.array([0.9, 0.1, 0.5, 0.7])
    assert drift.expected_precision_at_k(p, p, 2) == pytest.approx(0.8)
    assert drift.expected_precision_at_k(p, -p, 1) == pytest.approx(0.1)


def test_expected_performance_of_an_unlabeled_month_comes_from_its_probabilities() -> None:
    p = np.array([0.9, 0.1, 0.5, 0.7])
    expected = drift.expected_performance(p, p, 2)
    assert expected["customers"] == 4
    assert expected["churn_rate"] == pytest.approx(0.55)
    assert expected["precision_at_k"] == pytest.approx(0.8)
    assert expected["roc_auc"] == pytest.approx(drift.expected_roc_auc(p, p))
