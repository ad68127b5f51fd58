"""The backtest cache: a month is reused only when its inputs are identical, else recomputed.

The build's path: the feature mart is a DuckDB table, read by `backtest_table`, whose cache
keys are digests computed in DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import ml.backtest
from ml.backtest import backtest_table
from ml.config import ModelConfig
from ml.frame import CUSTOMER, LABEL, SNAPSHOT

START, MONTHS = "2023-06-01", 10


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[pd.Timestamp]:
    """The scoring month of every month actually computed (not read from the cache)."""
    computed: list[pd.Timestamp] = []
    score = ml.backtest.score_month

    def spy(history, target, config):
        computed.append(pd.Timestamp(target[SNAPSHOT].iloc[0]))
        return score(history, target, config)

    monkeypatch.setattr(ml.backtest, "score_month", spy)
    return computed


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of labeled rows each backtest read into this process."""
    counts: list[int] = []
    load = ml.backtest.load_labeled

    def spy(*args, **kwargs):
        frame = load(*args, **kwargs)
        counts.append(len(frame))
        return frame

    monkeypatch.setattr(ml.backtest, "load_labeled", spy)
    return counts


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        yield connection


@pytest.fixture
def walk_forward(connection: duckdb.DuckDBPyConnection):
    """backtest_table on the rows of `frame` written to a DuckDB table, as pandas."""

    def run(frame: pd.DataFrame, config: ModelConfig, cache: Path | None = None) -> pd.DataFrame:
        connection.register("rows", frame)
        connection.execute("create or replace table ml_features as select * from rows")
        connection.unregister("rows")
        return backtest_table(connection.table("ml_features"), config, cache).to_pandas()

    return run


def ordered(predictions: pd.DataFrame) -> pd.DataFrame:
    return predictions.sort_values(["scoring_month", "method", CUSTOMER]).reset_index(drop=True)


def test_an_unchanged_rerun_reads_every_month_back_with_identical_scores(
    make_frame, make_config, fits, reads, walk_forward, tmp_path: Path
) -> None:
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=1)
    config = make_config(backtest_months=3)
    first = walk_forward(frame, config, cache=tmp_path)
    assert len(fits) == 3
    assert len(reads) == 1 and reads[0] > 0
    again = walk_forward(frame.sample(frac=1.0, random_state=2), config, cache=tmp_path)
    assert len(fits) == 3  # nothing refitted, although the rows came in another order
    assert len(reads) == 1  # and no labeled row was read: the digests are DuckDB's
    pd.testing.assert_frame_equal(ordered(again), ordered(first))
    uncached = walk_forward(frame, config)
    pd.testing.assert_frame_equal(ordered(uncached), ordered(first))


def test_numbers_that_differ_only_in_their_last_bits_reuse_every_month(
    make_frame, make_config, fits, walk_forward, tmp_path: Path
) -> None:
    """A warehouse summing doubles in parallel gives unchanged data's features other last
    bits from one build to the next; the model sees float32, so nothing is refitted."""
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=1)
    config = make_config(backtest_months=3)
    walk_forward(frame, config, cache=tmp_path)
    assert len(fits) == 3
    noisy = frame.copy()
    for name in config.numeric_features:
        if noisy[name].dtype == np.float64:
            noisy[name] = np.nextafter(noisy[name].to_numpy(), np.inf)
    walk_forward(noisy, config, cache=tmp_path)
    assert len(fits) == 3


def test_only_months_whose_history_or_rows_changed_are_recomputed(
    make_frame, make_config, fits, walk_forward, tmp_path: Path
) -> None:
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=1)
    config = make_config(backtest_months=3)
    scored = walk_forward(frame, config, cache=tmp_path)["scoring_month"]
    months = sorted(pd.to_datetime(scored.unique()))
    fits.clear()
    # A feature changes in the newest scored month: no history contains it yet.
    changed = frame.copy()
    newest = pd.to_datetime(changed[SNAPSHOT]) == months[-1]
    changed.loc[newest, "mrr"] += 1
    walk_forward(changed, config, cache=tmp_path)
    assert fits == [months[-1]]
    fits.clear()
    # A label changes in the oldest month: every month learned from it.
    first_month = pd.to_datetime(changed[SNAPSHOT]) == pd.to_datetime(changed[SNAPSHOT]).min()
    row = changed.index[first_month][0]
    changed.loc[row, LABEL] = not bool(changed.loc[row, LABEL])
    walk_forward(changed, config, cache=tmp_path)
    assert sorted(fits) == months  # fitted concurrently, so in any order


def test_a_config_change_recomputes_every_month_but_the_capacity_does_not(
    make_frame, make_config, fits, walk_forward, tmp_path: Path
) -> None:
    frame = make_frame(customers=80, months=MONTHS, start=START, seed=1)
    walk_forward(frame, make_config(backtest_months=2), cache=tmp_path)
    walk_forward(frame, make_config(backtest_months=2, capacity_k=7), cache=tmp_path)
    assert len(fits) == 2
    walk_forward(frame, make_config(backtest_months=2, params={"max_depth": 2}), cache=tmp_path)
    assert len(fits) == 4


def test_the_cache_keeps_recent_entries_and_drops_old_ones(
    make_frame, make_config, walk_forward, tmp_path: Path
) -> None:
    config = make_config(backtest_months=2)
    for seed in range(4):  # four different datasets, two months each
        walk_forward(make_frame(customers=40, months=8, seed=seed), config, cache=tmp_path)
    # Kept: this run's two months plus the 2 x backtest_months most recently used others.
    assert len(list(tmp_path.glob("*.parquet"))) == 2 + 2 * 2
