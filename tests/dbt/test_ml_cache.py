"""ML reuse across real builds: unchanged inputs reuse cached months and the candidate."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pandas as pd
import pytest

from pipeline import warehouse
from pipeline.history import RunRecord
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

BACKTEST_ORDER = ["scoring_month", "method", "customer_id"]


def entries(settings: Settings, name: str) -> dict[str, int]:
    """Cache files of one kind, by name, with their inode (a rewrite gives a new inode)."""
    folder = settings.home / "cache" / name
    return {path.name: path.stat().st_ino for path in folder.glob("*.parquet")}


def published(settings: Settings, sql: str) -> pd.DataFrame:
    pointer = warehouse.current(settings)
    assert pointer is not None
    with duckdb.connect(pointer["path"], read_only=True) as connection:
        return connection.execute(sql).df()


def backtest(settings: Settings) -> pd.DataFrame:
    frame = published(settings, "select * from ml_backtest_predictions")
    return frame.sort_values(BACKTEST_ORDER).reset_index(drop=True)


def test_a_rebuild_on_unchanged_data_reuses_every_backtest_month_and_the_candidate(
    copied_home: Settings, build: Callable[..., RunRecord]
) -> None:
    months, candidates = entries(copied_home, "backtest"), entries(copied_home, "candidate")
    assert len(months) >= 6
    assert len(candidates) == 1
    before = backtest(copied_home)
    version = published(copied_home, "select model_version from ml_model_candidate").iloc[0, 0]

    record = build(copied_home)

    assert record.status == "success", record.failure
    assert entries(copied_home, "backtest") == months  # read back, none rewritten
    assert entries(copied_home, "candidate") == candidates
    pd.testing.assert_frame_equal(backtest(copied_home), before)
    candidate = published(copied_home, "select * from ml_model_candidate").iloc[0]
    assert candidate["model_version"] == version
    assert candidate["build_id"] == record.build_id


def double_early_usage(settings: Settings) -> None:
    """Double every account's usage before the second snapshot: the oldest training months
    change, so every backtest month and the candidate would learn from different rows."""
    first_day = published(settings, "select min(snapshot_date) from customer_snapshots")
    with duckdb.connect(str(settings.raw_path)) as raw:
        raw.execute(
            "update usage_daily set events = events * 2 where usage_date < ? + interval 1 month",
            [first_day.iloc[0, 0]],
        )


def test_changed_source_data_recomputes_the_months_and_the_candidate_that_learned_from_it(
    copied_home: Settings, build: Callable[..., RunRecord]
) -> None:
    months, candidates = entries(copied_home, "backtest"), entries(copied_home, "candidate")
    double_early_usage(copied_home)

    record = build(copied_home)

    assert record.status == "success", record.failure
    recomputed = set(entries(copied_home, "backtest")) - set(months)
    assert len(recomputed) == len(months)  # every month, each under a new key
    assert set(entries(copied_home, "candidate")) - set(candidates)


def test_with_the_cache_switched_off_nothing_is_read_or_written(
    copied_home: Settings, build: Callable[..., RunRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_ML_CACHE", "off")
    months, candidates = entries(copied_home, "backtest"), entries(copied_home, "candidate")
    double_early_usage(copied_home)

    record = build(Settings(home=copied_home.home))  # settings as read with the switch off

    assert record.status == "success", record.failure
    assert entries(copied_home, "backtest") == months
    assert entries(copied_home, "candidate") == candidates
