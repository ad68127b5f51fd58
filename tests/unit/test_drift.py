"""Drift statistics: binning, PSI and Jensen-Shannon, learned limits, volume bands, CBPE."""

from __future__ import annotations

import duckdb
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


def textbook_psi(p: np.ndarray, q: np.ndarray) -> float:
    """sum (q - p) ln(q / p) on shares, empty shares at 0.0001 (Evidently's convention)."""
    p, q = p / p.sum(), q / q.sum()
    p, q = np.where(p > 0, p, 1e-4), np.where(q > 0, q, 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def test_psi_is_the_textbook_formula_on_the_same_counts() -> None:
    reference, current = np.array([500.0, 300.0, 150.0, 50.0]), np.array([400.0, 300, 200, 100])
    assert drift.psi(reference, current) == pytest.approx(textbook_psi(reference, current))
    # An empty bin takes the usual 0.0001 share; a bin empty on both sides changes nothing.
    sparse, moved = np.array([600.0, 400.0, 0.0, 0.0]), np.array([500.0, 400.0, 100.0, 0.0])
    assert drift.psi(sparse, moved) == pytest.approx(textbook_psi(sparse[:3], moved[:3]))


def test_count_features_with_few_values_get_one_bin_per_value_and_one_for_higher() -> None:
    values = np.array([0.0] * 970 + [1.0] * 20 + [2.0] * 8 + [5.0] * 2)
    edges = drift.numeric_edges(values, bins=10, value_limit=20)
    labels = drift.numeric_labels(edges, by_value=True)
    assert labels == ["< 0", "0", "1", "2", "5", "> 5", "missing"]
    index = drift.numeric_bins(np.array([0.0, 1.0, 2.0, 3.0, 5.0, 9.0, np.nan]), edges)
    assert [labels[i] for i in index] == ["0", "1", "2", "2", "5", "> 5", "missing"]
    assert drift.value_binned(values, 20) and not drift.value_binned(np.arange(50.0), 20)


def test_a_mass_point_keeps_its_own_bin_when_quantile_edges_collapse() -> None:
    rng = np.random.default_rng(5)
    spend = np.where(rng.random(5000) < 0.92, 0.0, rng.exponential(80.0, 5000))
    edges = drift.numeric_edges(spend, bins=10, value_limit=20)
    labels = drift.numeric_labels(edges)
    assert labels[:3] == ["< 0", "0", "> 0"]  # zero alone, then the 8% who spent
    index = drift.numeric_bins(np.array([0.0, 0.01, 500.0]), edges)
    assert [labels[i] for i in index] == ["0", "> 0", "> 0"]
    # 30% who spent are cut at their own quantiles, about a tenth of the customers each.
    spread = np.where(rng.random(5000) < 0.7, 0.0, rng.exponential(80.0, 5000))
    counts = drift.bin_counts(
        drift.numeric_bins(spread, drift.numeric_edges(spread, 10, 20)), len(labels)
    )
    assert counts[1] == pytest.approx(3500, rel=0.05) and counts[2:5].min() > 400


def zero_inflated(per_month: int, moved: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Failed payments and urgent tickets (zero for most customers) over six reference months
    and a current one, where a share `moved` of customers gets 2 failed payments and 3 urgent
    tickets (the change Evidently's PSI put at 0.69 and quantile bins missed)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, month in enumerate(MONTHS):
        failed = rng.choice([0, 1, 2, 3], per_month, p=[0.96, 0.03, 0.008, 0.002])
        urgent = rng.choice([0, 1, 2], per_month, p=[0.97, 0.025, 0.005])
        if i == len(MONTHS) - 1:
            hit = rng.random(per_month) < moved
            failed, urgent = np.where(hit, 2, failed), np.where(hit, 3, urgent)
        parts.append(
            pd.DataFrame(
                {
                    "snapshot_date": month,
                    "failed_payments_90d": failed,
                    "urgent_tickets_90d": urgent,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def zero_inflated_drift(frame: pd.DataFrame) -> pd.DataFrame:
    features = ["failed_payments_90d", "urgent_tickets_90d"]
    profiles = drift.feature_profiles(
        frame, features, [], "snapshot_date", MONTHS[:-1], MONTHS[-1], value_limit=20
    )
    return drift.drift_table(profiles, factor=2.0, psi_floor=0.1, js_floor=0.1).set_index("feature")


def test_twenty_percent_of_customers_with_failed_payments_and_urgent_tickets_drift_strongly() -> (
    None
):
    frame = zero_inflated(per_month=2000, moved=0.2, seed=1)
    table = zero_inflated_drift(frame)
    assert table["drifted"].all()
    assert (table["psi"] > 5 * table["psi_limit"]).all()
    # The same value counts give the textbook PSI (what Evidently reports on these bins).
    reference = frame[frame["snapshot_date"] < MONTHS[-1]]
    current = frame[frame["snapshot_date"] == MONTHS[-1]]
    for feature in table.index:
        values = sorted(set(frame[feature]))
        p = reference[feature].value_counts().reindex(values, fill_value=0).to_numpy(float)
        q = current[feature].value_counts().reindex(values, fill_value=0).to_numpy(float)
        assert table.loc[feature, "psi"] == pytest.approx(textbook_psi(p, q))


def test_an_unchanged_zero_inflated_feature_is_not_flagged() -> None:
    for seed in range(5):
        table = zero_inflated_drift(zero_inflated(per_month=2000, seed=seed))
        assert not table["drifted"].any(), (seed, table[["psi", "psi_limit"]])
        assert (table["severity"] < 0.5).all()


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


def test_large_months_are_profiled_on_the_same_sample_of_customers_with_the_same_shares(
    make_frame, make_config
) -> None:
    from ml.frame import LABEL
    from ml.train import fit_churn_model
    from monitoring.drift import model_profiles
    from monitoring.windows import Windows

    frame = make_frame(customers=4000, months=4, start="2024-01-01", seed=4, unlabeled_months=1)
    fitted = fit_churn_model(frame[frame[LABEL].notna()], make_config(min_train_months=1))
    months = sorted(pd.to_datetime(frame["snapshot_date"]).dt.date.unique())
    windows = Windows(months[-1], months[-1], months[-1], tuple(months[:-1]), tuple(months[:-1]))
    with duckdb.connect() as connection:
        connection.register("mart", frame)
        mart = connection.table("mart")
        whole = model_profiles(mart, fitted, windows)
        sampled = model_profiles(mart, fitted, windows, rows_per_month=1000)
        assert model_profiles(mart, fitted, windows, rows_per_month=1000).equals(sampled)

    def shares(profiles: pd.DataFrame) -> pd.Series:
        rows = profiles.set_index(["feature", "period", "bin_order"])["rows"]
        return rows / rows.groupby(level=["feature", "period"]).transform("sum")

    # About a quarter of each month's 4,000 customers, the same ones every time.
    per_month = sampled[sampled["feature"] == "plan"].groupby("period")["rows"].sum()
    assert per_month.between(850, 1150).all(), per_month
    assert whole[whole["feature"] == "plan"].groupby("period")["rows"].sum().eq(4000).all()
    # A category's share (bins that do not depend on the sample) within a few points.
    plan = [shares(p[p["feature"] == "plan"]) for p in (whole, sampled)]
    both = pd.concat(plan, axis=1, keys=["whole", "sample"])
    assert both.notna().all().all()
    assert (both["whole"] - both["sample"]).abs().max() < 0.05
