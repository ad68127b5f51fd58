"""ML on Spark follows DuckDB's rules: data with no month to walk forward to (one export of a
customer file) gets the held-out check on the same folds of customers, and the model of
non-contractual data is blended with the BG/NBD model, and the logistic regression weighed in
where it ranks better, as on DuckDB. A real local Spark session."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml import backtest, candidate, distributed, distributed_backtest
from ml.blend import BLEND_FEATURE, BLEND_WEIGHT
from ml.explain import contributions
from ml.frame import CUSTOMER, LABEL, SNAPSHOT
from ml.train import LINEAR_WEIGHTS, fit_churn_model, negative_sample_weights, row_buckets
from pipeline.build import spark
from pipeline.settings import Settings
from tests.support import require_spark

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    require_spark()
    return spark.session(Settings(home=tmp_path_factory.mktemp("spark-ml")).ensure())


def spark_frame(session, frame: pd.DataFrame):
    """The frame as the feature mart gives it on Spark: dates and a boolean label."""
    typed = frame.assign(**{SNAPSHOT: frame[SNAPSHOT].dt.date, LABEL: frame[LABEL].astype(bool)})
    return session.createDataFrame(typed)


def one_export(make_frame) -> pd.DataFrame:
    """A customer file: one labeled snapshot, nothing to walk forward to."""
    return make_frame(customers=1_500, months=1, unlabeled_months=0, seed=5)


def test_one_export_is_checked_on_held_out_customers_on_spark_as_on_duckdb(
    session, make_frame, make_config
) -> None:
    frame, config = one_export(make_frame), make_config(min_train_months=1)
    on_duckdb = backtest.walk_forward(frame, config)
    on_spark = (
        distributed_backtest.walk_forward(spark_frame(session, frame), config)
        .toPandas()
        .sort_values(["method", CUSTOMER], ignore_index=True)
    )
    on_duckdb = on_duckdb.sort_values(["method", CUSTOMER], ignore_index=True)

    # Every customer scored once by every method, and the rows say it is the held-out check.
    assert on_spark["held_out"].all() and on_duckdb["held_out"].all()
    assert sorted(set(on_spark["method"])) == sorted(set(on_duckdb["method"]))
    assert on_spark[CUSTOMER].tolist() == on_duckdb[CUSTOMER].tolist()
    # The logistic regression learns from the same rows on both engines only when each
    # customer is in the same fold: its scores agree customer by customer.
    logistic = on_spark["method"] == backtest.LOGISTIC
    np.testing.assert_allclose(
        on_spark.loc[logistic, "score"], on_duckdb.loc[logistic, "score"], atol=1e-6
    )
    # The model is xgboost.spark's cousin of DuckDB's: it ranks the held-out customers
    # about as well.
    model = on_spark["method"] == backtest.MODEL
    auc = {
        name: roc_auc_score(rows.loc[model, "churned"], rows.loc[model, "score"])
        for name, rows in (("spark", on_spark), ("duckdb", on_duckdb))
    }
    assert auc["spark"] > 0.75 and abs(auc["spark"] - auc["duckdb"]) < 0.03, auc


def test_a_fold_whose_training_rows_hold_one_outcome_gives_no_rows_on_spark(
    session, make_frame, make_config
) -> None:
    frame, config = one_export(make_frame), make_config(min_train_months=1)
    frame[LABEL] = False
    frame.loc[frame.index[:1], LABEL] = True  # the other folds' customers never churned
    assert backtest.walk_forward(frame, config).empty
    assert distributed_backtest.walk_forward(spark_frame(session, frame), config).count() == 0


def test_a_model_of_non_contractual_data_is_blended_with_bg_nbd_on_spark_as_on_duckdb(
    session, make_frame, make_config
) -> None:
    frame = make_frame(customers=600, months=5, unlabeled_months=0, seed=8)
    # A BG/NBD probability of no purchase that knows something of the outcome, and is
    # missing for a few customers (their rows take the mean log-odds).
    rng = np.random.default_rng(8)
    churned = frame[LABEL].astype(bool).to_numpy()
    frame[BLEND_FEATURE] = np.clip(0.3 + 0.3 * churned + rng.normal(0, 0.2, len(frame)), 0, 1)
    frame.loc[frame.index[::11], BLEND_FEATURE] = np.nan
    config = make_config(min_train_months=1)
    config = replace(config, numeric_features=(*config.numeric_features, BLEND_FEATURE))
    on_duckdb = fit_churn_model(frame, config)
    on_spark = distributed.fit_churn_model(spark_frame(session, frame), config)

    assert on_duckdb.config.blend_weight == on_spark.config.blend_weight == BLEND_WEIGHT
    assert on_spark.config.blend_center == pytest.approx(on_duckdb.config.blend_center, rel=1e-9)
    # The blended models rank the newest month's customers about as well.
    newest = frame[frame[SNAPSHOT] == frame[SNAPSHOT].max()]
    auc = [
        roc_auc_score(newest[LABEL].astype(bool), m.predict_proba(newest))
        for m in (on_duckdb, on_spark)
    ]
    assert abs(auc[0] - auc[1]) < 0.03, auc


def test_the_logistic_regression_is_weighed_in_on_spark_where_the_truth_is_linear(
    session, make_frame, make_config
) -> None:
    # Churn a logistic function of days since last activity: a linear model ranks the newest
    # matured month better than shallow trees, on both engines (ml.train.linear_choice).
    frame = make_frame(customers=300, months=8, seed=3)  # tests/unit/test_linear.py's world
    frame = frame[frame[LABEL].notna()].copy()
    days = frame["days_since_last_activity"].fillna(40.0).to_numpy()
    chance = 1 / (1 + np.exp(4.0 - 0.12 * days))
    frame[LABEL] = np.random.default_rng(0).random(len(days)) < chance
    config = make_config(tune=True)
    on_duckdb = fit_churn_model(frame, config)
    on_spark = distributed.fit_churn_model(spark_frame(session, frame), config)

    assert on_duckdb.config.linear_weight in LINEAR_WEIGHTS[1:], on_duckdb.config.settings
    assert on_spark.config.linear_weight in LINEAR_WEIGHTS[1:], on_spark.config.settings
    assert on_spark.config.linear and "linear" in on_spark.config.settings
    # Its numbers are the same regression's, up to the sample the driver learns from.
    spark_days, duckdb_days = (
        m.config.linear["numeric"]["days_since_last_activity"][3] for m in (on_spark, on_duckdb)
    )
    assert spark_days == pytest.approx(duckdb_days, rel=0.05)
    # Explained exactly, as every model is: contributions add up to the margin.
    rows = frame.tail(300)
    values, base_value = contributions(on_spark, rows)
    np.testing.assert_allclose(values.sum(axis=1) + base_value, on_spark.margin(rows), atol=1e-5)


def test_spark_samples_the_same_training_rows_with_the_same_weights_as_duckdb(
    session, make_frame, make_config
) -> None:
    frame = make_frame(customers=1_000, months=6, unlabeled_months=0, seed=8)
    y = frame[LABEL].astype(bool).to_numpy().astype(int)
    buckets = row_buckets(frame, seed=7)
    parts = np.where(np.arange(len(frame)) % 4 == 0, distributed.VALIDATION, distributed.TRAIN)
    rows = session.createDataFrame(
        pd.DataFrame(
            {
                "row": np.arange(len(frame)),
                distributed.PART: parts,
                distributed.TARGET: y,
                distributed.BUCKET: buckets,
            }
        )
    )
    counts = {
        (part, bool(outcome)): int(((parts == part) & (y == outcome)).sum())
        for part in (distributed.TRAIN, distributed.VALIDATION)
        for outcome in (0, 1)
    }
    for params in (
        {"negatives_per_positive": 1, "min_negatives": 0},  # negatives sampled
        {"negatives_per_positive": 1, "min_negatives": 0, "max_training_rows": 300},  # and capped
    ):
        config = make_config(params=params)
        ((fitting, size),) = distributed._sampled(rows, config, [[(distributed.TRAIN,)]], counts)
        kept = fitting.select("row", distributed.WEIGHT).toPandas().sort_values("row")
        train = np.flatnonzero(parts == distributed.TRAIN)
        weights = negative_sample_weights(
            y[train], buckets[train], 1, 0, params.get("max_training_rows")
        )
        np.testing.assert_array_equal(kept["row"].to_numpy(), train[weights > 0])
        np.testing.assert_allclose(kept[distributed.WEIGHT], weights[weights > 0], rtol=1e-6)
        assert size == len(kept)
    assert size == pytest.approx(300, rel=0.2)  # the cap bound


def test_an_unchanged_candidate_is_reused_from_the_ml_cache_on_spark_as_on_duckdb(
    session, make_frame, make_config, tmp_path
) -> None:
    frame, config = make_frame(customers=300, months=5, seed=4), make_config(min_train_months=1)
    labeled = spark_frame(session, frame[frame[LABEL].notna()])
    first_time, second_time = (datetime(2026, 12, day, tzinfo=UTC) for day in (1, 2))
    first = candidate.fit_candidate(labeled, config, first_time, "build-1", tmp_path)
    again = candidate.fit_candidate(labeled, config, second_time, "build-2", tmp_path)

    # The same rows, config and code: the same model, named as this build's candidate.
    assert again["model_version"] == first["model_version"] and again["build_id"] == "build-2"
    assert again["trained_at"] == first["trained_at"]
    # One changed label is another model.
    changed = frame[frame[LABEL].notna()].copy()
    changed.loc[changed.index[0], LABEL] = not bool(changed.loc[changed.index[0], LABEL])
    refit = candidate.fit_candidate(
        spark_frame(session, changed), config, second_time, "b3", tmp_path
    )
    assert refit["model_version"] != first["model_version"]
    assert refit["data_fingerprint"] != first["data_fingerprint"]


def test_unchanged_backtest_months_are_read_back_from_the_ml_cache_on_spark(
    session, make_frame, make_config, tmp_path, monkeypatch
) -> None:
    frame, config = make_frame(customers=300, months=6, seed=4), make_config(min_train_months=1)
    labeled = frame[frame[LABEL].notna()]
    order = ["scoring_month", "method", CUSTOMER]

    def scores(rows: pd.DataFrame) -> pd.DataFrame:
        result = distributed_backtest.walk_forward(spark_frame(session, rows), config, tmp_path)
        return result.toPandas().sort_values(order, ignore_index=True)

    first = scores(labeled)
    fitted: list[pd.Timestamp] = []
    score_month = distributed_backtest._score_month

    def counted(*args, **kwargs):
        fitted.append(args[3])  # the month
        return score_month(*args, **kwargs)

    monkeypatch.setattr(distributed_backtest, "_score_month", counted)
    again = scores(labeled)
    # The same rows, config and code: every month read back, the same scores.
    assert fitted == []
    pd.testing.assert_frame_equal(again, first)
    # One label of the newest labeled month changed: only the months that read it refit.
    newest = labeled[SNAPSHOT].max()
    changed = labeled.copy()
    row = changed.index[changed[SNAPSHOT] == newest][0]
    changed.loc[row, LABEL] = not bool(changed.loc[row, LABEL])
    scores(changed)
    assert fitted == [newest], fitted


def test_a_sample_of_customers_on_spark_keeps_its_share_and_the_same_ones(session) -> None:
    from ml import relations

    ids = pd.DataFrame({CUSTOMER: [f"c{i}" for i in range(20_000)]})
    rows = session.createDataFrame(ids)
    keep = relations.sample_of(rows, CUSTOMER, 0.25)
    first = {r[CUSTOMER] for r in rows.filter(keep).collect()}
    assert 4_500 < len(first) < 5_500
    assert {r[CUSTOMER] for r in rows.filter(keep).collect()} == first
