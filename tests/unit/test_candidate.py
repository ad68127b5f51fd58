"""The build's candidate: reused from the cache only when rows, config and code are identical."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import ml.candidate
from ml.candidate import fit_candidate
from ml.frame import LABEL
from ml.registry import RECORD_SCHEMA, from_record

FIRST, LATER = datetime(2026, 11, 1, 8, tzinfo=UTC), datetime(2026, 11, 2, 8, tzinfo=UTC)


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Number of rows of every fit actually run."""
    calls: list[int] = []
    fit = ml.candidate.fit_churn_model

    def spy(frame, config):
        calls.append(len(frame))
        return fit(frame, config)

    monkeypatch.setattr(ml.candidate, "fit_churn_model", spy)
    return calls


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows of every read of the labeled rows into this process."""
    calls: list[int] = []
    load = ml.candidate.load_labeled

    def spy(snapshots, config):
        frame = load(snapshots, config)
        calls.append(len(frame))
        return frame

    monkeypatch.setattr(ml.candidate, "load_labeled", spy)
    return calls


@pytest.fixture
def labeled(make_frame):
    frame = make_frame(customers=120, months=7, seed=12)
    return frame[frame[LABEL].notna()]


def candidate_record(frame: pd.DataFrame, *args, **kwargs):
    """`fit_candidate` on the rows as a feature-mart table of DuckDB, as a build passes it."""
    with duckdb.connect() as connection:
        connection.register("rows", frame)
        connection.execute("create table feature_mart as select * from rows")
        return fit_candidate(connection.table("feature_mart"), *args, **kwargs)


def test_identical_rows_in_any_order_reuse_the_same_model_version(
    labeled, make_config, fits, reads, tmp_path: Path
) -> None:
    first = candidate_record(labeled, make_config(), FIRST, "build-1", cache=tmp_path)
    shuffled = labeled.sample(frac=1.0, random_state=4)
    again = candidate_record(shuffled, make_config(), LATER, "build-2", cache=tmp_path)
    assert len(fits) == 1
    # Reused from its fingerprint, computed by DuckDB: the rows were read for the fit only.
    assert reads == [len(labeled)]
    assert again["model_version"] == first["model_version"]
    assert again["booster_json"] == first["booster_json"]
    assert again["build_id"] == "build-2"
    # The reused record is still a valid registry row and a working model.
    table = pa.Table.from_pylist([again], schema=RECORD_SCHEMA)
    restored = from_record(table.to_pylist()[0])
    assert restored.predict_proba(labeled).shape == (len(labeled),)


def test_changed_rows_or_config_fit_a_new_model(labeled, make_config, fits, tmp_path: Path) -> None:
    first = candidate_record(labeled, make_config(), FIRST, "b1", cache=tmp_path)
    changed = labeled.copy()
    changed.loc[changed.index[0], "active_days_30d"] += 1
    second = candidate_record(changed, make_config(), LATER, "b2", cache=tmp_path)
    third = candidate_record(labeled, make_config(params={"max_depth": 2}), LATER, "b3", tmp_path)
    assert len(fits) == 3
    assert second["data_fingerprint"] != first["data_fingerprint"]
    assert third["model_version"] != first["model_version"]


def test_without_a_cache_folder_every_call_fits(labeled, make_config, fits) -> None:
    candidate_record(labeled, make_config(), FIRST, "b1")
    candidate_record(labeled, make_config(), FIRST, "b2")
    assert len(fits) == 2
