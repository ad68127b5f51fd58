"""Model registry rows: a fitted model survives the trip to plain columns and back unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ml.frame import LABEL
from ml.registry import from_record, to_record
from ml.train import ChurnModel, fit_churn_model

TRAINED_AT = datetime(2026, 10, 1, 12, 30, 5, tzinfo=UTC)


def stored(record: dict) -> dict:
    """What the warehouse hands back: every column through JSON, except the timestamp."""
    text = {key: value for key, value in record.items() if key != "trained_at"}
    return {**json.loads(json.dumps(text)), "trained_at": record["trained_at"]}


@pytest.fixture
def frame(make_frame) -> pd.DataFrame:
    return make_frame(customers=150, months=7, seed=11)


@pytest.fixture
def fitted(frame: pd.DataFrame, make_config) -> ChurnModel:
    return fit_churn_model(frame[frame[LABEL].notna()], make_config())


def test_restored_model_gives_identical_predictions(frame, fitted) -> None:
    restored = from_record(stored(to_record(fitted, TRAINED_AT, "fp", "build-1")))
    np.testing.assert_array_equal(restored.raw_probability(frame), fitted.raw_probability(frame))
    np.testing.assert_array_equal(restored.predict_proba(frame), fitted.predict_proba(frame))


def test_restored_model_keeps_config_categories_calibrator_and_size(fitted) -> None:
    restored = from_record(stored(to_record(fitted, TRAINED_AT, "fp", "build-1")))
    assert restored.config == fitted.config
    assert restored.categories == fitted.categories
    assert restored.calibrator == fitted.calibrator
    assert restored.n_train == fitted.n_train
    assert restored.booster.num_boosted_rounds() == fitted.booster.num_boosted_rounds()


def test_record_names_version_time_build_and_data(fitted) -> None:
    record = to_record(fitted, TRAINED_AT, "abc123", "build-1")
    assert record["model_version"].startswith("20261001-123005-")
    assert len(record["model_version"].rsplit("-", 1)[1]) == 8
    assert record["build_id"] == "build-1"
    assert record["data_fingerprint"] == "abc123"
    assert record["n_trees"] == fitted.booster.num_boosted_rounds()
    assert json.loads(record["calibrator"])["method"] in ("platt", "beta", "identity")


def test_model_version_differs_when_the_booster_differs(frame, make_config) -> None:
    labeled = frame[frame[LABEL].notna()]
    first = fit_churn_model(labeled, make_config())
    other = fit_churn_model(labeled, make_config(params={"max_depth": 2}))
    versions = {to_record(m, TRAINED_AT, "fp", "b")["model_version"] for m in (first, other)}
    assert len(versions) == 2
